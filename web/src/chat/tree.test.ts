import { describe, expect, it } from "vitest";
import type { Message } from "../api/types";
import { newestLeafUnder, pathTo } from "./tree";

let clock = 0;
function msg(id: string, parentId: string | null, role: Message["role"] = "user"): Message {
  clock++;
  return {
    id, parentId, role, content: id, model: null, status: "complete", error: null, promptTokens: 0, completionTokens: 0,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString(), updatedAt: "",
  };
}

// q1 → a1, a1' (regenerated) ; q1' (edit) → a2
const q1 = msg("q1", null), a1 = msg("a1", "q1", "assistant"), a1b = msg("a1b", "q1", "assistant");
const q1b = msg("q1b", null), a2 = msg("a2", "q1b", "assistant");
const all = [a2, q1, a1b, q1b, a1];

describe("conversation tree", () => {
  it("follows the current leaf and numbers the siblings on the way", () => {
    const path = pathTo(all, "a1");
    expect(path.map((p) => p.message.id)).toEqual(["q1", "a1"]);
    expect(path[0].siblings.map((s) => s.id)).toEqual(["q1", "q1b"]);
    expect(path[0].index).toBe(0);
    expect(path[1].siblings.map((s) => s.id)).toEqual(["a1", "a1b"]);
    expect(path[1].index).toBe(0);
  });

  it("shows the newest branch when no leaf is chosen", () => {
    expect(pathTo(all, null).map((p) => p.message.id)).toEqual(["q1b", "a2"]);
    expect(pathTo([], null)).toEqual([]);
  });

  it("switching to a sibling leads to its newest leaf", () => {
    expect(newestLeafUnder(all, "q1")).toBe("a1b");
    expect(newestLeafUnder(all, "a2")).toBe("a2");
  });
});

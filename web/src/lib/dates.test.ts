import { describe, expect, it } from "vitest";
import { grouped, groupOf } from "./dates";

describe("sidebar groups", () => {
  const now = new Date(2026, 10, 24, 15, 0);
  it("names the groups by age", () => {
    expect(groupOf(new Date(2026, 10, 24, 0, 1).toISOString(), now)).toBe("Today");
    expect(groupOf(new Date(2026, 10, 23, 23, 59).toISOString(), now)).toBe("Yesterday");
    expect(groupOf(new Date(2026, 10, 20).toISOString(), now)).toBe("Previous 7 days");
    expect(groupOf(new Date(2026, 10, 1).toISOString(), now)).toBe("Previous 30 days");
    expect(groupOf(new Date(2026, 5, 3).toISOString(), now)).toMatch(/2026/);
  });

  it("keeps newest-first order inside consecutive groups", () => {
    const items = [new Date(2026, 10, 24, 9), new Date(2026, 10, 24, 8), new Date(2026, 10, 23, 9)].map((d) => d.toISOString());
    expect(grouped(items, (i) => i, now)).toEqual([
      { group: "Today", items: [items[0], items[1]] },
      { group: "Yesterday", items: [items[2]] },
    ]);
  });
});

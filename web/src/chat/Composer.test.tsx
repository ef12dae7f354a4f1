import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Composer } from "./Composer";

afterEach(() => {
  cleanup();
  localStorage.clear();
});

function setup(onSend = vi.fn().mockResolvedValue({ ok: true }), streaming = false, draftKey = "c1") {
  render(<Composer draftKey={draftKey} streaming={streaming} onSend={onSend} onStop={vi.fn()} />);
  return { box: screen.getByLabelText("Message") as HTMLTextAreaElement, onSend };
}

describe("composer", () => {
  it("sends on Enter and clears, but Shift+Enter keeps writing", async () => {
    const { box, onSend } = setup();
    fireEvent.change(box, { target: { value: "first line" } });
    fireEvent.keyDown(box, { key: "Enter", shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    await act(async () => {
      fireEvent.keyDown(box, { key: "Enter" });
    });
    expect(onSend).toHaveBeenCalledWith("first line");
    expect(box.value).toBe("");
  });

  it("keeps the text when sending fails, and shows why", async () => {
    const { box } = setup(vi.fn().mockResolvedValue({ ok: false, error: "The server is busy" }));
    fireEvent.change(box, { target: { value: "do not lose me" } });
    await act(async () => {
      fireEvent.keyDown(box, { key: "Enter" });
    });
    expect(box.value).toBe("do not lose me");
    expect(screen.getByRole("alert").textContent).toContain("The server is busy");
  });

  it("keeps a draft per conversation across a reload", () => {
    const { box } = setup();
    fireEvent.change(box, { target: { value: "half a thought" } });
    cleanup();
    const again = setup().box;
    expect(again.value).toBe("half a thought");
    cleanup();
    expect(setup(undefined, false, "c2").box.value).toBe("");
  });

  it("shows the other conversation's draft when the conversation changes", () => {
    localStorage.clear();
    const props = { streaming: false, onSend: vi.fn(), onStop: vi.fn() };
    const view = render(<Composer draftKey="a" {...props} />);
    const box = screen.getByLabelText("Message") as HTMLTextAreaElement;
    fireEvent.change(box, { target: { value: "for a" } });
    view.rerender(<Composer draftKey="b" {...props} />);
    expect(box.value).toBe("");
    view.rerender(<Composer draftKey="a" {...props} />);
    expect(box.value).toBe("for a");
  });

  it("offers Stop instead of Send while an answer streams", () => {
    setup(undefined, true);
    expect(screen.getByRole("button", { name: "Stop generating" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Send message" })).toBeNull();
  });
});

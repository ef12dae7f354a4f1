import { describe, expect, it } from "vitest";
import { normalizeMath } from "./math";

describe("LaTeX delimiters", () => {
  it("turns \\( \\) and \\[ \\] into dollars", () => {
    expect(normalizeMath("Energy \\(E = mc^2\\) and \\[\\int_0^1 x\\,dx\\]")).toBe("Energy $E = mc^2$ and \n$$\n\\int_0^1 x\\,dx\n$$\n");
  });

  it("leaves code alone", () => {
    const code = "```\nprint('\\(x\\)')\n```";
    expect(normalizeMath(code)).toBe(code);
    expect(normalizeMath("`\\(x\\)` and \\(y\\)")).toBe("`\\(x\\)` and $y$");
  });
});

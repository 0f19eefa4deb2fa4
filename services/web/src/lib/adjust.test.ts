import { describe, expect, it } from "vitest";
import { adjustBody, isUnchanged, NO_ADJUSTMENT, previewFilter, previewOpacity } from "./adjust";

describe("adjust", () => {
  it("builds the request body: 0-based candidate, values in range, 2 decimals", () => {
    expect(adjustBody(2, { brightness: 0.30000000000000004, saturation: -0.25, detail: 0, strength: 0.7 })).toEqual({
      candidate: 1,
      brightness: 0.3,
      saturation: -0.25,
      detail: 0,
      strength: 0.7,
    });
    expect(adjustBody(1, { brightness: 3, saturation: -9, detail: Number.NaN, strength: 1.5 })).toEqual({
      candidate: 0,
      brightness: 1,
      saturation: -1,
      detail: 0,
      strength: 1,
    });
    expect(Object.is(adjustBody(1, { ...NO_ADJUSTMENT, detail: -0.001 }).detail, 0)).toBe(true);
  });

  it("knows when nothing changed", () => {
    expect(isUnchanged(NO_ADJUSTMENT)).toBe(true);
    expect(isUnchanged({ ...NO_ADJUSTMENT, brightness: 0.001 })).toBe(true);
    expect(isUnchanged({ ...NO_ADJUSTMENT, strength: 0.95 })).toBe(false);
  });

  it("previews with CSS: filters for the look, opacity for the strength", () => {
    expect(previewFilter(NO_ADJUSTMENT)).toBe("brightness(1) saturate(1) contrast(1)");
    expect(previewFilter({ brightness: 0.5, saturation: -1, detail: 1, strength: 1 })).toBe("brightness(1.25) saturate(0) contrast(1.25)");
    expect(previewOpacity({ ...NO_ADJUSTMENT, strength: 0.4 })).toBe(0.4);
  });
});

import { describe, expect, it } from "vitest";
import { canCrop, clampCrop, croppedName, croppedType, MIN_CROP_PX, moveRect, rectFromDrag, resizeRect } from "./crop";

describe("crop rectangles", () => {
  it("keeps at least 512 px of the original on each side", () => {
    expect(MIN_CROP_PX).toBe(512);
    expect(clampCrop({ x: 10, y: 20, width: 100, height: 40 }, 2000, 1500)).toEqual({ x: 10, y: 20, width: 512, height: 512 });
    expect(clampCrop({ x: 0, y: 0, width: 800.6, height: 600.2 }, 2000, 1500)).toEqual({ x: 0, y: 0, width: 801, height: 600 });
  });

  it("stays inside the photo: moved in, not shrunk; never larger than it", () => {
    expect(clampCrop({ x: 1800, y: 1400, width: 600, height: 600 }, 2000, 1500)).toEqual({ x: 1400, y: 900, width: 600, height: 600 });
    expect(clampCrop({ x: -50, y: -5, width: 5000, height: 9000 }, 2000, 1500)).toEqual({ x: 0, y: 0, width: 2000, height: 1500 });
    expect(clampCrop({ x: Number.NaN, y: 3, width: Number.NaN, height: 700 }, 900, 800)).toEqual({ x: 0, y: 3, width: 900, height: 700 });
  });

  it("refuses photos under the minimum", () => {
    expect(canCrop(512, 512)).toBe(true);
    expect(canCrop(511, 2000)).toBe(false);
    expect(canCrop(2000, 300)).toBe(false);
  });

  it("draws a drag in any direction, at least the minimum, inside the photo", () => {
    expect(rectFromDrag({ x: 100, y: 100 }, { x: 900, y: 800 }, 2000, 1500)).toEqual({ x: 100, y: 100, width: 800, height: 700 });
    // dragging up and left from (1000, 1000)
    expect(rectFromDrag({ x: 1000, y: 1000 }, { x: 300, y: 200 }, 2000, 1500)).toEqual({ x: 300, y: 200, width: 700, height: 800 });
    // a click (no drag) still makes a valid rectangle
    expect(rectFromDrag({ x: 1900, y: 1400 }, { x: 1900, y: 1400 }, 2000, 1500)).toEqual({ x: 1488, y: 988, width: 512, height: 512 });
    // a short drag up-left from near the origin: pushed back inside
    expect(rectFromDrag({ x: 100, y: 100 }, { x: 50, y: 50 }, 2000, 1500)).toEqual({ x: 0, y: 0, width: 512, height: 512 });
  });

  it("moves and resizes with the keyboard within the rules", () => {
    const rect = { x: 100, y: 100, width: 600, height: 600 };
    expect(moveRect(rect, -500, 50, 1000, 1000)).toEqual({ x: 0, y: 150, width: 600, height: 600 });
    expect(moveRect(rect, 1000, 1000, 1000, 1000)).toEqual({ x: 400, y: 400, width: 600, height: 600 });
    expect(resizeRect(rect, -200, 100, 1000, 1000)).toEqual({ x: 100, y: 100, width: 512, height: 700 });
    expect(resizeRect(rect, 900, 900, 1000, 1000)).toEqual({ x: 100, y: 100, width: 900, height: 900 });
  });

  it("writes PNG as PNG and the rest as JPEG, with a matching name", () => {
    expect(croppedType("image/png")).toBe("image/png");
    expect(croppedType("image/webp")).toBe("image/jpeg");
    expect(croppedName("杯子.webp", "image/jpeg")).toBe("杯子.jpg");
    expect(croppedName("a.b.png", "image/png")).toBe("a.b.png");
    expect(croppedName("noext", "image/jpeg")).toBe("noext.jpg");
  });
});

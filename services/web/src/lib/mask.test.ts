import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeContext } from "./fakeContext";
import { cleanMasksForm, drawMask, drawStrokes, extendStroke, MASK_MAX_PIXELS, MASK_MAX_SIDE, maskPng, maskSize, type Stroke } from "./mask";

// the server's check (globalpic_common.imageio.decode_mask): the ratios differ by at most 0.01
const serverAccepts = (w: number, h: number, W: number, H: number) => Math.abs(w / h - W / H) <= 0.01;

describe("the mask's size", () => {
  it("is the photo's own size when it fits", () => {
    expect(maskSize(800, 600)).toEqual({ width: 800, height: 600, scaleX: 1, scaleY: 1 });
    expect(maskSize(4000, 4000)).toEqual({ width: 4000, height: 4000, scaleX: 1, scaleY: 1 });
    expect(maskSize(1, 1)).toEqual({ width: 1, height: 1, scaleX: 1, scaleY: 1 });
  });

  it("scales a large photo down, keeping its aspect ratio", () => {
    const size = maskSize(6000, 4000);
    expect(size.width).toBeLessThanOrEqual(4096);
    expect(size.width).toBeGreaterThan(4000);
    expect(Math.abs(size.width / size.height / 1.5 - 1)).toBeLessThan(0.01);
    expect(serverAccepts(size.width, size.height, 6000, 4000)).toBe(true);
    expect(size.scaleX).toBeCloseTo(size.width / 6000, 10);
    expect(size.scaleY).toBeCloseTo(size.height / 4000, 10);
    const portrait = maskSize(4000, 6000);
    expect([portrait.width, portrait.height]).toEqual([size.height, size.width]);
  });

  it("keeps to the pixel limit: a 4096 square is too many pixels", () => {
    const size = maskSize(4096, 4096);
    expect(size.width * size.height).toBeLessThanOrEqual(MASK_MAX_PIXELS);
    expect(size.width).toBe(size.height);
  });

  it("never passes a limit nor scales up, and the server takes the ratio", () => {
    const sides = [1, 7, 50, 99, 640, 1000, 3999, 4001, 4095, 4096, 4097, 5000, 6000, 7777, 8192, 12000, 20000];
    for (const W of sides)
      for (const H of sides) {
        const { width, height, scaleX, scaleY } = maskSize(W, H);
        const what = `${W}×${H} → ${width}×${height}`;
        expect(Number.isInteger(width) && Number.isInteger(height), what).toBe(true);
        expect(width >= 1 && height >= 1 && width <= W && height <= H, what).toBe(true);
        expect(width <= MASK_MAX_SIDE && height <= MASK_MAX_SIDE && width * height <= MASK_MAX_PIXELS, what).toBe(true);
        expect(scaleX * W).toBeCloseTo(width, 6);
        expect(scaleY * H).toBeCloseTo(height, 6);
        // a ratio can only be kept to half a pixel of the shorter side
        if (Math.min(width, height) >= 50) expect(serverAccepts(width, height, W, H), what).toBe(true);
      }
  });
});

describe("drawing the masks", () => {
  const strokes: Stroke[] = [
    { mode: "erase", radius: 10, points: [[20, 30], [80, 30], [80, 60]] },
    { mode: "protect", radius: 5, points: [[150, 90]] },
    { mode: "erase", radius: 4, points: [[5, 6]] },
  ];

  it("draws one mode's strokes white on black, in the original's pixels scaled to the mask", () => {
    const context = new FakeContext();
    drawMask(context, strokes, "erase", { width: 100, height: 60, scaleX: 0.5, scaleY: 0.5 });
    expect(context.calls).toEqual([
      "setTransform(1, 0, 0, 1, 0, 0)",
      "fillRect(0, 0, 100, 60, #000)",
      "setTransform(0.5, 0, 0, 0.5, 0, 0)",
      "beginPath()",
      "moveTo(20, 30)",
      "lineTo(80, 30)",
      "lineTo(80, 60)",
      "stroke(#fff, 20, round, round)", // width: twice the radius
      "beginPath()",
      "arc(5, 6, 4)", // a dab
      "fill(#fff)",
    ]);
  });

  it("draws the other mode's strokes only in its own mask", () => {
    const context = new FakeContext();
    drawMask(context, strokes, "protect", maskSize(200, 120));
    expect(context.calls.slice(2)).toEqual(["setTransform(1, 0, 0, 1, 0, 0)", "beginPath()", "arc(150, 90, 5)", "fill(#fff)"]);
  });

  it("draws the preview at the canvas's scale, red for erase and green for protect", () => {
    const context = new FakeContext();
    drawStrokes(context, strokes.slice(0, 2), 0.5);
    expect(context.calls).toEqual([
      "beginPath()",
      "moveTo(10, 15)",
      "lineTo(40, 15)",
      "lineTo(40, 30)",
      "stroke(rgba(220, 38, 38, 0.5), 10, round, round)",
      "beginPath()",
      "arc(75, 45, 2.5)",
      "fill(rgba(22, 163, 74, 0.5))",
    ]);
  });

  it("drops pointer moves too small to change the mask", () => {
    let stroke: Stroke = { mode: "erase", radius: 20, points: [[0, 0]] };
    stroke = extendStroke(stroke, 2, 2);
    expect(stroke.points).toHaveLength(1);
    stroke = extendStroke(stroke, 10, 0);
    expect(stroke.points).toEqual([[0, 0], [10, 0]]);
  });
});

describe("the masks' PNG files", () => {
  // an OffscreenCanvas whose PNG file names its size and what was drawn on it
  const drawn: { width: number; height: number; calls: string[] }[] = [];
  class FakeOffscreenCanvas {
    context = new FakeContext();
    constructor(
      public width: number,
      public height: number,
    ) {
      drawn.push({ width, height, calls: this.context.calls });
    }
    getContext(kind: string) {
      return kind === "2d" ? this.context : null;
    }
    async convertToBlob(options: { type: string }) {
      return new Blob(["png"], { type: options.type });
    }
  }

  afterEach(() => {
    vi.unstubAllGlobals();
    drawn.length = 0;
  });

  const strokes: Stroke[] = [
    { mode: "erase", radius: 10, points: [[20, 30], [80, 30]] },
    { mode: "protect", radius: 5, points: [[150, 90]] },
  ];

  it("sends mask and / or keep_mask, nothing when nothing was painted", async () => {
    vi.stubGlobal("OffscreenCanvas", FakeOffscreenCanvas);
    const both = await cleanMasksForm(strokes, 200, 120);
    expect((both!.get("mask") as File).type).toBe("image/png");
    expect((both!.get("keep_mask") as File).type).toBe("image/png");
    expect((both!.get("mask") as File).name).toBe("mask.png");
    expect(drawn.map((d) => [d.width, d.height, d.calls.filter((c) => c.startsWith("moveTo") || c.startsWith("arc"))])).toEqual([
      [200, 120, ["moveTo(20, 30)"]],
      [200, 120, ["arc(150, 90, 5)"]],
    ]);
    const eraseOnly = await cleanMasksForm([strokes[0]], 200, 120);
    expect(eraseOnly!.has("mask")).toBe(true);
    expect(eraseOnly!.has("keep_mask")).toBe(false);
    const keepOnly = await cleanMasksForm([strokes[1]], 200, 120);
    expect([keepOnly!.has("mask"), keepOnly!.has("keep_mask")]).toEqual([false, true]);
    expect(await maskPng([strokes[0]], "protect", 200, 120)).toBeNull();
    expect(await cleanMasksForm([], 200, 120)).toBeNull();
    expect(await cleanMasksForm([{ mode: "erase", radius: 3, points: [] }], 200, 120)).toBeNull();
  });

  it("draws a large photo's mask scaled down", async () => {
    vi.stubGlobal("OffscreenCanvas", FakeOffscreenCanvas);
    await maskPng(strokes, "erase", 6000, 4000);
    const { width, height } = maskSize(6000, 4000);
    expect([drawn[0].width, drawn[0].height]).toEqual([width, height]);
    expect(drawn[0].calls).toContain(`setTransform(${+(width / 6000).toFixed(3)}, 0, 0, ${+(height / 4000).toFixed(3)}, 0, 0)`);
  });
});

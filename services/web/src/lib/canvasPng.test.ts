import { afterEach, describe, expect, it, vi } from "vitest";
import { canvasPng } from "./canvasPng";
import { FakeContext } from "./fakeContext";

/** A detached <canvas>: what document.createElement gives where there is no OffscreenCanvas. */
function fakeDocument(encodes = true) {
  const made: { width: number; height: number; context: FakeContext; type?: string }[] = [];
  vi.stubGlobal("document", {
    createElement(tag: string) {
      expect(tag).toBe("canvas");
      const canvas = {
        width: 300,
        height: 150,
        context: new FakeContext(),
        getContext: (kind: string) => (kind === "2d" ? canvas.context : null),
        toBlob(callback: (blob: Blob | null) => void, type?: string) {
          made.push({ width: canvas.width, height: canvas.height, context: canvas.context, type });
          setTimeout(() => callback(encodes ? new Blob(["png"], { type: type ?? "image/png" }) : null));
        },
      };
      return canvas;
    },
  });
  return made;
}

const dot = (context: { fillRect: (x: number, y: number, w: number, h: number) => void }) => context.fillRect(1, 2, 3, 4);

describe("PNG files from a canvas", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("uses an OffscreenCanvas where there is one", async () => {
    const made: { width: number; height: number; context: FakeContext; options?: unknown }[] = [];
    vi.stubGlobal(
      "OffscreenCanvas",
      class {
        context = new FakeContext();
        constructor(width: number, height: number) {
          made.push({ width, height, context: this.context });
        }
        getContext = () => this.context;
        convertToBlob = async (options: { type: string }) => {
          made[0].options = options;
          return new Blob(["png"], { type: options.type });
        };
      },
    );
    const document = fakeDocument();
    const blob = await canvasPng(30, 20, dot);
    expect(blob.type).toBe("image/png");
    expect(made.map((m) => [m.width, m.height, m.context.calls, m.options])).toEqual([[30, 20, ["fillRect(1, 2, 3, 4, #000)"], { type: "image/png" }]]);
    expect(document).toEqual([]);
  });

  it("falls back to a detached <canvas> without OffscreenCanvas, or without its 2D context", async () => {
    for (const offscreen of [undefined, class { getContext = () => null; }]) {
      vi.stubGlobal("OffscreenCanvas", offscreen);
      const made = fakeDocument();
      const blob = await canvasPng(30, 20, dot);
      expect(blob.type).toBe("image/png");
      expect(made.map((m) => [m.width, m.height, m.context.calls, m.type])).toEqual([[30, 20, ["fillRect(1, 2, 3, 4, #000)"], "image/png"]]);
    }
  });

  it("fails when the browser cannot encode the canvas", async () => {
    vi.stubGlobal("OffscreenCanvas", undefined);
    fakeDocument(false);
    await expect(canvasPng(30, 20, dot)).rejects.toThrow("PNG");
  });
});

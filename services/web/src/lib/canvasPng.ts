// PNG files drawn with the browser's own canvas and encoder: an OffscreenCanvas where the
// browser has one with a 2D context, else a detached <canvas>.

/** The drawing calls the masks need, which both kinds of 2D context have. */
export type Context2D = Pick<
  CanvasRenderingContext2D,
  "fillStyle" | "strokeStyle" | "lineWidth" | "lineCap" | "lineJoin" | "setTransform" | "fillRect" | "beginPath" | "moveTo" | "lineTo" | "arc" | "fill" | "stroke"
>;

/** A width × height canvas, drawn by `draw`, encoded as PNG. */
export async function canvasPng(width: number, height: number, draw: (context: Context2D) => void): Promise<Blob> {
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(width, height);
    // Safari before 16.4 has OffscreenCanvas without a 2D context
    const context = canvas.getContext("2d");
    if (context) {
      draw(context);
      return canvas.convertToBlob({ type: "image/png" });
    }
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("this browser cannot draw on a canvas");
  draw(context);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas could not be encoded as PNG"))), "image/png"),
  );
}

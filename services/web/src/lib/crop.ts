// Crop rectangles in the original's pixels. The API refuses photos under MIN_CROP_PX on a
// side, so every rectangle the crop dialog makes keeps at least that much of the original.

export const MIN_CROP_PX = 512;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Point {
  x: number;
  y: number;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** Whether a photo of this size can be cropped at all (both sides ≥ the minimum). */
export function canCrop(imageWidth: number, imageHeight: number, min = MIN_CROP_PX): boolean {
  return imageWidth >= min && imageHeight >= min;
}

export function wholeImage(imageWidth: number, imageHeight: number): Rect {
  return { x: 0, y: 0, width: imageWidth, height: imageHeight };
}

/**
 * The nearest valid rectangle: whole pixels, each side between the minimum (or the whole side
 * of a smaller photo) and the photo's side, and inside the photo (moved in, not shrunk).
 */
export function clampCrop(rect: Rect, imageWidth: number, imageHeight: number, min = MIN_CROP_PX): Rect {
  const finite = (value: number, fallback: number) => (Number.isFinite(value) ? value : fallback);
  const width = clamp(Math.round(finite(rect.width, imageWidth)), Math.min(min, imageWidth), imageWidth);
  const height = clamp(Math.round(finite(rect.height, imageHeight)), Math.min(min, imageHeight), imageHeight);
  return {
    x: clamp(Math.round(finite(rect.x, 0)), 0, imageWidth - width),
    y: clamp(Math.round(finite(rect.y, 0)), 0, imageHeight - height),
    width,
    height,
  };
}

/** One side of a drag: from the anchor toward the pointer, at least `min` long, inside 0..size. */
function dragSide(anchor: number, pointer: number, size: number, min: number): [number, number] {
  const length = clamp(Math.abs(pointer - anchor), Math.min(min, size), size);
  const start = pointer >= anchor ? anchor : anchor - length;
  return [clamp(start, 0, size - length), length];
}

/** The rectangle a drag from `anchor` to `pointer` draws (image pixels), clamped to the rules. */
export function rectFromDrag(anchor: Point, pointer: Point, imageWidth: number, imageHeight: number, min = MIN_CROP_PX): Rect {
  const [x, width] = dragSide(anchor.x, pointer.x, imageWidth, min);
  const [y, height] = dragSide(anchor.y, pointer.y, imageHeight, min);
  return clampCrop({ x, y, width, height }, imageWidth, imageHeight, min);
}

/** The rectangle moved by (dx, dy), stopped at the photo's edges. */
export function moveRect(rect: Rect, dx: number, dy: number, imageWidth: number, imageHeight: number, min = MIN_CROP_PX): Rect {
  return clampCrop({ ...rect, x: rect.x + dx, y: rect.y + dy }, imageWidth, imageHeight, min);
}

/** The rectangle grown (or shrunk) by (dw, dh) from its top-left corner. */
export function resizeRect(rect: Rect, dw: number, dh: number, imageWidth: number, imageHeight: number, min = MIN_CROP_PX): Rect {
  const width = clamp(rect.width + dw, Math.min(min, imageWidth), imageWidth - rect.x);
  const height = clamp(rect.height + dh, Math.min(min, imageHeight), imageHeight - rect.y);
  return clampCrop({ ...rect, width, height }, imageWidth, imageHeight, min);
}

export function containsPoint(rect: Rect, point: Point): boolean {
  return point.x >= rect.x && point.x <= rect.x + rect.width && point.y >= rect.y && point.y <= rect.y + rect.height;
}

/** What a cropped file is written as: PNG stays PNG (it may be lossless art), the rest JPEG. */
export function croppedType(sourceType: string): "image/png" | "image/jpeg" {
  return sourceType === "image/png" ? "image/png" : "image/jpeg";
}

/** The cropped file's name: the same stem, the extension of its new type. */
export function croppedName(name: string, type: "image/png" | "image/jpeg"): string {
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return `${stem}.${type === "image/png" ? "png" : "jpg"}`;
}

/** Draws the rectangle of `image` onto a canvas of its size and encodes it (browser only). */
export function cropToBlob(image: CanvasImageSource, rect: Rect, type: "image/png" | "image/jpeg"): Promise<Blob> {
  const canvas = document.createElement("canvas");
  canvas.width = rect.width;
  canvas.height = rect.height;
  const context = canvas.getContext("2d");
  if (!context) return Promise.reject(new Error("no 2d canvas"));
  if (type === "image/jpeg") {
    // JPEG has no alpha: a transparent PNG/WEBP would turn black without a white ground
    context.fillStyle = "#fff";
    context.fillRect(0, 0, rect.width, rect.height);
  }
  context.drawImage(image, rect.x, rect.y, rect.width, rect.height, 0, 0, rect.width, rect.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("canvas too large"))), type, 0.95),
  );
}

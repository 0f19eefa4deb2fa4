// Brush strokes over the original photo, kept in the original's pixels, and turned into the
// masks `POST /v1/jobs/{id}/images/{n}/clean` takes: white where painted, black elsewhere,
// drawn on a canvas and encoded by the browser.

import { canvasPng, type Context2D } from "./canvasPng";

export type BrushMode = "erase" | "protect";

export interface Stroke {
  mode: BrushMode;
  /** Brush radius in the original's pixels. */
  radius: number;
  /** The path, in the original's pixels (one point: a dab). */
  points: [number, number][];
}

/** Adds a point to a stroke unless it is too close to the last one to change the mask. */
export function extendStroke(stroke: Stroke, x: number, y: number): Stroke {
  const last = stroke.points[stroke.points.length - 1];
  if (last && Math.hypot(x - last[0], y - last[1]) < Math.max(1, stroke.radius / 4)) return stroke;
  return { ...stroke, points: [...stroke.points, [x, y]] };
}

/**
 * A mask's canvas holds at most this many pixels, and this many on a side: what every browser
 * lets a canvas hold (Safari: 16.7 M pixels; some mobile GPUs: 4096 a side).
 */
export const MASK_MAX_PIXELS = 16_000_000;
export const MASK_MAX_SIDE = 4096;

export interface MaskSize {
  width: number;
  height: number;
  /** Mask pixels per original pixel, across and down (equal but for rounding). */
  scaleX: number;
  scaleY: number;
}

/**
 * The size of a width × height photo's mask: the photo's own size, or scaled down (never up)
 * to fit MASK_MAX_PIXELS and MASK_MAX_SIDE. The server scales a mask back to the photo when
 * its aspect ratio is the photo's within 0.01, so the shorter side is rounded and the longer
 * follows from it: the ratio is then off by at most half a pixel of the shorter side.
 */
export function maskSize(width: number, height: number): MaskSize {
  const scale = Math.min(1, MASK_MAX_SIDE / width, MASK_MAX_SIDE / height, Math.sqrt(MASK_MAX_PIXELS / (width * height)));
  if (scale >= 1) return { width, height, scaleX: 1, scaleY: 1 };
  const [long, short] = width >= height ? [width, height] : [height, width];
  const follow = (s: number) => Math.max(1, Math.round((s * long) / short));
  let s = Math.max(1, Math.round(short * scale));
  let l = follow(s);
  // rounding up may pass a limit by a pixel
  while (s > 1 && (l > MASK_MAX_SIDE || l * s > MASK_MAX_PIXELS)) l = follow(--s);
  l = Math.min(l, MASK_MAX_SIDE); // a photo over 4096 times longer than wide: no ratio can be kept
  const [w, h] = width >= height ? [l, s] : [s, l];
  return { width: w, height: h, scaleX: w / width, scaleY: h / height };
}

/** One stroke's path, `scale` canvas units per original pixel; the colours are the caller's. */
function traceStroke(context: Context2D, stroke: Stroke, scale: number): void {
  const [first, ...rest] = stroke.points;
  if (!first) return;
  context.lineWidth = stroke.radius * 2 * scale;
  context.beginPath();
  if (rest.length === 0) {
    // a dab: browsers differ on whether a zero-length line gets its round caps
    context.arc(first[0] * scale, first[1] * scale, stroke.radius * scale, 0, Math.PI * 2);
    context.fill();
    return;
  }
  context.moveTo(first[0] * scale, first[1] * scale);
  for (const [x, y] of rest) context.lineTo(x * scale, y * scale);
  context.stroke();
}

/** Draws the mask of one mode on a canvas of `size`: white strokes on black. */
export function drawMask(context: Context2D, strokes: readonly Stroke[], mode: BrushMode, size: MaskSize): void {
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.fillStyle = "#000";
  context.fillRect(0, 0, size.width, size.height);
  // from here on in the original's pixels
  context.setTransform(size.scaleX, 0, 0, size.scaleY, 0, 0);
  context.fillStyle = "#fff";
  context.strokeStyle = "#fff";
  context.lineCap = "round";
  context.lineJoin = "round";
  for (const stroke of strokes) if (stroke.mode === mode) traceStroke(context, stroke, 1);
}

export function hasStrokes(strokes: readonly Stroke[], mode: BrushMode): boolean {
  return strokes.some((stroke) => stroke.mode === mode && stroke.points.length > 0);
}

/**
 * The PNG mask of one mode for a width × height original (at its size, or at maskSize's for
 * the largest photos), or null when nothing was painted in it.
 */
export async function maskPng(strokes: readonly Stroke[], mode: BrushMode, width: number, height: number): Promise<Blob | null> {
  if (!hasStrokes(strokes, mode)) return null;
  const size = maskSize(width, height);
  return canvasPng(size.width, size.height, (context) => drawMask(context, strokes, mode, size));
}

/** The multipart body of a clean re-run: `mask` (erase) and / or `keep_mask` (protect). */
export async function cleanMasksForm(strokes: readonly Stroke[], width: number, height: number): Promise<FormData | null> {
  const erase = await maskPng(strokes, "erase", width, height);
  const keep = await maskPng(strokes, "protect", width, height);
  if (!erase && !keep) return null;
  const form = new FormData();
  if (erase) form.append("mask", erase, "mask.png");
  if (keep) form.append("keep_mask", keep, "keep_mask.png");
  return form;
}

/** Draws the strokes over the photo's preview (`scale`: canvas pixels per original pixel). */
export function drawStrokes(context: Context2D, strokes: readonly Stroke[], scale: number): void {
  context.lineCap = "round";
  context.lineJoin = "round";
  for (const stroke of strokes) {
    const colour = stroke.mode === "erase" ? "rgba(220, 38, 38, 0.5)" : "rgba(22, 163, 74, 0.5)";
    context.strokeStyle = colour;
    context.fillStyle = colour;
    traceStroke(context, stroke, scale);
  }
}

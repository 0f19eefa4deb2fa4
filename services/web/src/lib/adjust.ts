// Fine-tuning one result: the slider values, their live preview (CSS on the shown image) and
// the body of POST /v1/jobs/{id}/images/{n}/adjust.

import type { AdjustBody } from "../api/client";

export interface Adjustments {
  /** Background brightness, -1 darker … 1 brighter. */
  brightness: number;
  /** -1 grey … 1 more vivid. */
  saturation: number;
  /** -1 smoother … 1 sharper. */
  detail: number;
  /** The remixed background's strength: 0 the original's background … 1 the remix. */
  strength: number;
}

export const NO_ADJUSTMENT: Adjustments = { brightness: 0, saturation: 0, detail: 0, strength: 1 };

export const ADJUST_RANGES: Record<keyof Adjustments, { min: number; max: number; step: number }> = {
  brightness: { min: -1, max: 1, step: 0.05 },
  saturation: { min: -1, max: 1, step: 0.05 },
  detail: { min: -1, max: 1, step: 0.05 },
  strength: { min: 0, max: 1, step: 0.05 },
};

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** In range and rounded to 2 decimals (a slider's float noise does not reach the API). */
function tidy(name: keyof Adjustments, value: number): number {
  const { min, max } = ADJUST_RANGES[name];
  const number = Number.isFinite(value) ? value : NO_ADJUSTMENT[name];
  return Math.round(clamp(number, min, max) * 100) / 100 + 0; // + 0: no -0
}

export function isUnchanged(values: Adjustments): boolean {
  return (Object.keys(NO_ADJUSTMENT) as (keyof Adjustments)[]).every((name) => tidy(name, values[name]) === NO_ADJUSTMENT[name]);
}

/** `candidateNumber`: the 1-based number of the output; the API counts from 0. */
export function adjustBody(candidateNumber: number, values: Adjustments): AdjustBody {
  return {
    candidate: Math.max(0, candidateNumber - 1),
    brightness: tidy("brightness", values.brightness),
    saturation: tidy("saturation", values.saturation),
    detail: tidy("detail", values.detail),
    strength: tidy("strength", values.strength),
  };
}

/**
 * A CSS filter that looks like the adjustment (the real one touches the background only and
 * sharpens rather than adds contrast: the preview is a guide, the result is what counts).
 */
export function previewFilter(values: Adjustments): string {
  const brightness = 1 + tidy("brightness", values.brightness) * 0.5;
  const saturation = 1 + tidy("saturation", values.saturation);
  const contrast = 1 + tidy("detail", values.detail) * 0.25;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return `brightness(${round(brightness)}) saturate(${round(saturation)}) contrast(${round(contrast)})`;
}

/** The result's opacity over the original: strength blends the remix back toward it. */
export function previewOpacity(values: Adjustments): number {
  return tidy("strength", values.strength);
}

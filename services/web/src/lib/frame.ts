// A marketplace frame drawn to scale next to the platform picker: every frame shares one
// scale (the largest side of the catalog fills the box), so both shape and size compare.

export interface Size {
  width: number;
  height: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** 1000 × 1000 → "1:1", 1080 × 1920 → "9:16", 1080 × 1350 → "4:5". */
export function aspectLabel(width: number, height: number): string {
  if (!(width > 0 && height > 0)) return "";
  const d = gcd(Math.round(width), Math.round(height));
  return `${Math.round(width) / d}:${Math.round(height) / d}`;
}

/** The frame's box in CSS pixels: `box` stands for `largestSide` image pixels (min 6 px a side). */
export function frameBox(frame: Size, largestSide: number, box: number): Size {
  const scale = largestSide > 0 ? box / largestSide : 0;
  return {
    width: Math.max(6, Math.round(frame.width * scale)),
    height: Math.max(6, Math.round(frame.height * scale)),
  };
}

export function largestSide(frames: readonly Size[]): number {
  return frames.reduce((max, f) => Math.max(max, f.width, f.height), 0);
}

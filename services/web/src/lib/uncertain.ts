// Texts `clean` kept but was not sure about (it could not rule out an overlay): offered to the
// seller for a one-click erase by their index in `report.texts`.

import type { ImageReport } from "../api/types";

export interface UncertainText {
  /** 0-based index in `report.texts`: what `erase_texts` names. */
  index: number;
  text: string;
  overlayScore: number;
  /** The strongest cues first. */
  cues: [string, number][];
}

export function uncertainTexts(report: ImageReport | null | undefined): UncertainText[] {
  const out: UncertainText[] = [];
  (report?.texts ?? []).forEach((region, index) => {
    if (region.action !== "kept_uncertain") return;
    const cues = Object.entries(region.cues ?? {})
      .filter(([, value]) => typeof value === "number" && value !== 0)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    out.push({ index, text: region.text, overlayScore: region.overlay_score, cues });
  });
  return out;
}

/** The multipart body of a clean re-run that erases these texts. */
export function eraseTextsForm(indices: readonly number[]): FormData {
  const form = new FormData();
  form.append("erase_texts", [...new Set(indices)].sort((a, b) => a - b).join(","));
  return form;
}

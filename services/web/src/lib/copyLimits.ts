// Character counters of the copy: the limits come from the report's own checks (the copy
// service checks each variant against its platform's rules and says the limit in `required`).

import type { CopyCheck, CopyReport, CopyVariant } from "../api/types";

export type CopyField = "title" | "bullets" | "description" | "meta_description" | "search_terms" | "caption";

export interface FieldLimit {
  limit: number;
  /** Amazon's backend search terms are counted in UTF-8 bytes, the rest in characters. */
  unit: "chars" | "bytes";
}

// Rule id (globalpic_copywriting.rules) → the field it limits.
const LENGTH_RULES: Record<string, { field: CopyField; unit: FieldLimit["unit"] }> = {
  title_length: { field: "title", unit: "chars" },
  bullet_length: { field: "bullets", unit: "chars" }, // each bullet
  description_length: { field: "description", unit: "chars" },
  meta_description_length: { field: "meta_description", unit: "chars" },
  search_terms_bytes: { field: "search_terms", unit: "bytes" },
  tags: { field: "search_terms", unit: "chars" },
  caption_length: { field: "caption", unit: "chars" }, // caption + hashtags
};

/** The limits of one variant's fields (0-based `variant`); empty when the report has no checks. */
export function fieldLimits(report: Pick<CopyReport, "checks">, variant: number): Partial<Record<CopyField, FieldLimit>> {
  const limits: Partial<Record<CopyField, FieldLimit>> = {};
  for (const check of report.checks ?? []) {
    const rule = LENGTH_RULES[check.rule];
    if (!rule || !isFor(check, variant) || typeof check.required !== "number" || check.required <= 0) continue;
    limits[rule.field] = { limit: check.required, unit: rule.unit };
  }
  return limits;
}

function isFor(check: CopyCheck, variant: number): boolean {
  return check.variant === undefined || check.variant === null || check.variant === variant;
}

/** How long a text is in a limit's unit. */
export function measure(text: string, unit: FieldLimit["unit"]): number {
  return unit === "bytes" ? new TextEncoder().encode(text).length : [...text].length;
}

/** The caption as the platform counts it: with its hashtags. */
export function captionWithHashtags(variant: CopyVariant): string {
  return [variant.caption, ...(variant.hashtags ?? [])].join(" ");
}

// The multipart body of POST /v1/jobs. The gateway refuses options that do nothing
// (`style` without remix, `platform` without resize, copy inputs without copy: bad_option),
// so only what the chosen ops use is sent.

export const OPS = ["clean", "extract", "remix", "resize", "copy"] as const;
export type OpName = (typeof OPS)[number];

/** The marketplaces the copy can be written for (globalpic_common.copy_facts.COPY_PLATFORMS). */
export const COPY_PLATFORMS = ["amazon", "ebay", "shopify", "tiktok", "instagram", "facebook"] as const;
export type CopyPlatform = (typeof COPY_PLATFORMS)[number];

export interface JobRequest {
  files: readonly File[];
  ops: ReadonlySet<OpName>;
  style: string;
  platform: string;
  candidates: number;
  /** The seller's own background: it takes the place of the style, with one candidate. */
  background?: File | null;
  /** Comma separated, as typed. */
  keywords?: string;
  /** "material=cotton, size=M", as typed. */
  facts?: string;
  copyPlatforms?: readonly string[];
}

export function buildJobForm(request: JobRequest): FormData {
  const { ops } = request;
  const form = new FormData();
  for (const file of request.files) form.append("images", file, file.name);
  form.append("ops", OPS.filter((op) => ops.has(op)).join(","));
  if (ops.has("remix")) {
    if (request.background) {
      form.append("background", request.background, request.background.name);
      form.append("candidates", "1");
    } else {
      form.append("style", request.style);
      form.append("candidates", String(request.candidates));
    }
  }
  if (ops.has("resize")) form.append("platform", request.platform);
  if (ops.has("copy")) {
    const keywords = splitList(request.keywords ?? "").join(", ");
    const facts = (request.facts ?? "").trim();
    const platforms = COPY_PLATFORMS.filter((p) => request.copyPlatforms?.includes(p));
    if (keywords) form.append("keywords", keywords);
    if (facts) form.append("facts", facts);
    if (platforms.length) form.append("copy_platforms", platforms.join(","));
  }
  return form;
}

// Commas and semicolons, ASCII or full-width, and the Chinese enumeration comma: what a
// seller types between keywords (the gateway splits on the same).
const SEPARATORS = /[,;，；、]/;

/** "water bottle, gym，健身" → ["water bottle", "gym", "健身"]. */
export function splitList(text: string): string[] {
  return text
    .split(SEPARATORS)
    .map((part) => part.split(/\s+/).filter(Boolean).join(" "))
    .filter(Boolean);
}

/**
 * The first piece of a facts text that is not `name=value` (the gateway's rule: a name of
 * letters, digits, spaces, - or _ starting with a letter), or null when all are fine. Checked
 * before upload so the seller sees which piece to fix.
 */
export function badFact(text: string): string | null {
  for (const piece of splitList(text)) {
    const [name, ...rest] = piece.replace("：", "=").split("=");
    const value = rest.join("=").trim();
    if (!rest.length || !/^[A-Za-z][A-Za-z0-9 _-]{0,29}$/.test(name.trim()) || !value) return piece;
  }
  return null;
}

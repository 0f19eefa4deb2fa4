// Progress stages (globalpic_common.schemas.ProgressStage) → what the progress card says.

import type { MessageKey } from "../i18n/messages";
import type { Translate } from "../i18n/translate";

export const STAGES = ["analyze", "clean", "extract", "remix", "resize", "done"] as const;
export type Stage = (typeof STAGES)[number];

/** The percent shown when each stage starts (schemas.STAGE_PERCENT). */
export const STAGE_PERCENT: Record<Stage, number> = {
  analyze: 10,
  clean: 25,
  extract: 50,
  remix: 75,
  resize: 90,
  done: 100,
};

const STAGE_KEYS: Record<Stage, MessageKey> = {
  analyze: "stage.analyze", // 正在分析图片… / Analyzing image…
  clean: "stage.clean", // 正在检测文字… / Detecting text…
  extract: "stage.extract", // 正在分割主体… / Segmenting product…
  remix: "stage.remix", // 正在生成背景… / Generating background…
  resize: "stage.resize", // 正在优化图片… / Refining image…
  done: "stage.done",
};

export function isStage(value: unknown): value is Stage {
  return typeof value === "string" && (STAGES as readonly string[]).includes(value);
}

/** The message key of an image's progress line from its state and stage. */
export function stageKey(state: string, stage: string | null | undefined): MessageKey {
  if (state === "failed") return "stage.failed";
  if (state === "completed") return "stage.done";
  if (isStage(stage)) return STAGE_KEYS[stage];
  return "stage.queued";
}

export function stageLabel(t: Translate, state: string, stage: string | null | undefined): string {
  return t(stageKey(state, stage));
}

/** The percent to show: the event's, else the stage's start, clamped to 0–100. */
export function stagePercent(state: string, stage: string | null | undefined, percent?: number | null): number {
  if (state === "completed") return 100;
  let value = typeof percent === "number" && Number.isFinite(percent) ? percent : undefined;
  if (value === undefined) value = isStage(stage) ? STAGE_PERCENT[stage] : 0;
  return Math.max(0, Math.min(100, Math.round(value)));
}

import { describe, expect, it } from "vitest";
import { translator } from "../i18n/translate";
import { STAGE_PERCENT, STAGES, stageKey, stageLabel, stagePercent } from "./stages";

describe("stages", () => {
  it("maps each progress stage to its label in both languages", () => {
    const zh = translator("zh");
    const en = translator("en");
    const expected: Record<string, [string, string]> = {
      analyze: ["正在分析图片…", "Analyzing image…"],
      clean: ["正在检测文字…", "Detecting text…"],
      extract: ["正在分割主体…", "Segmenting product…"],
      remix: ["正在生成背景…", "Generating background…"],
      resize: ["正在优化图片…", "Refining image…"],
    };
    for (const [stage, [zhLabel, enLabel]] of Object.entries(expected)) {
      expect(stageLabel(zh, "running", stage)).toBe(zhLabel);
      expect(stageLabel(en, "running", stage)).toBe(enLabel);
    }
  });

  it("covers the stages of globalpic_common ProgressStage with their percents", () => {
    expect([...STAGES]).toEqual(["analyze", "clean", "extract", "remix", "resize", "done"]);
    expect(STAGE_PERCENT).toEqual({ analyze: 10, clean: 25, extract: 50, remix: 75, resize: 90, done: 100 });
  });

  it("uses the state for queued, finished and failed images", () => {
    expect(stageKey("queued", null)).toBe("stage.queued");
    expect(stageKey("running", "something-new")).toBe("stage.queued");
    expect(stageKey("completed", "resize")).toBe("stage.done");
    expect(stageKey("failed", "remix")).toBe("stage.failed");
  });

  it("percent: the event's, else the stage's, clamped", () => {
    expect(stagePercent("running", "extract", 55)).toBe(55);
    expect(stagePercent("running", "remix", null)).toBe(75);
    expect(stagePercent("queued", null, undefined)).toBe(0);
    expect(stagePercent("running", "remix", 140)).toBe(100);
    expect(stagePercent("completed", "resize", 90)).toBe(100);
  });
});

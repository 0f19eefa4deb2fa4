// Small helpers of the upload and job pages: platform frames, copy limits, uncertain texts.
import { describe, expect, it } from "vitest";
import type { ImageReport } from "../api/types";
import { captionWithHashtags, fieldLimits, measure } from "./copyLimits";
import { aspectLabel, frameBox, largestSide } from "./frame";
import { eraseTextsForm, uncertainTexts } from "./uncertain";

describe("platform frames", () => {
  it("names the aspect ratio and draws every frame at one scale", () => {
    expect(aspectLabel(1000, 1000)).toBe("1:1");
    expect(aspectLabel(1080, 1920)).toBe("9:16");
    expect(aspectLabel(1080, 1350)).toBe("4:5");
    expect(aspectLabel(1920, 1080)).toBe("16:9");
    const frames = [{ width: 1000, height: 1000 }, { width: 2048, height: 2048 }, { width: 1080, height: 1920 }];
    expect(largestSide(frames)).toBe(2048);
    expect(frameBox(frames[1], 2048, 72)).toEqual({ width: 72, height: 72 });
    expect(frameBox(frames[0], 2048, 72)).toEqual({ width: 35, height: 35 });
    expect(frameBox(frames[2], 2048, 72)).toEqual({ width: 38, height: 68 });
  });
});

describe("copy limits", () => {
  it("reads each field's limit from the report's checks for that variant", () => {
    const report = {
      checks: [
        { rule: "title_length", variant: 0, passed: true, measured: 50, required: 200 },
        { rule: "title_length", variant: 1, passed: true, measured: 50, required: 80 },
        { rule: "bullet_length", variant: 0, passed: true, required: 255 },
        { rule: "search_terms_bytes", variant: 0, passed: true, required: 249 },
        { rule: "promo_terms", variant: 0, passed: true },
      ],
    };
    expect(fieldLimits(report, 0)).toEqual({
      title: { limit: 200, unit: "chars" },
      bullets: { limit: 255, unit: "chars" },
      search_terms: { limit: 249, unit: "bytes" },
    });
    expect(fieldLimits(report, 1)).toEqual({ title: { limit: 80, unit: "chars" } });
    expect(fieldLimits({}, 0)).toEqual({});
  });

  it("counts characters, or UTF-8 bytes for search terms; captions with hashtags", () => {
    expect(measure("café", "chars")).toBe(4);
    expect(measure("café", "bytes")).toBe(5);
    expect(captionWithHashtags({ caption: "Hi", hashtags: ["#a", "#b"] } as never)).toBe("Hi #a #b");
  });
});

describe("uncertain texts", () => {
  const report: ImageReport = {
    input: "a.jpg",
    texts: [
      { box: [], text: "限时特价", confidence: 0.9, kind: "overlay", action: "erased", overlay_score: 0.9, cues: {} },
      { box: [], text: "BRAND", confidence: 0.8, kind: "product", action: "kept_uncertain", overlay_score: 0.45, cues: { print: 0.2, promo_words: 0, units: 0.7 } },
      { box: [], text: "500ml", confidence: 0.8, kind: "product", action: "kept", overlay_score: 0.1, cues: {} },
      { box: [], text: "包邮", confidence: 0.7, kind: "product", action: "kept_uncertain", overlay_score: 0.55, cues: {} },
    ],
  };

  it("lists the kept-uncertain texts by their index in report.texts, strongest cues first", () => {
    const texts = uncertainTexts(report);
    expect(texts.map((t) => [t.index, t.text])).toEqual([[1, "BRAND"], [3, "包邮"]]);
    expect(texts[0].cues).toEqual([["units", 0.7], ["print", 0.2]]);
    expect(uncertainTexts(null)).toEqual([]);
  });

  it("names them in erase_texts, sorted and once each", () => {
    expect(eraseTextsForm([3, 1, 3]).get("erase_texts")).toBe("1,3");
  });
});

import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { en, messages, zh } from "./messages";
import { errorMessage, htmlLang, imageIndexOf, planName, storedLang, storeLang, translator, LANG_STORAGE_KEY } from "./translate";

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

describe("messages", () => {
  it("every key exists in zh and en, non-empty", () => {
    const zhKeys = Object.keys(zh).sort();
    const enKeys = Object.keys(en).sort();
    expect(enKeys).toEqual(zhKeys);
    for (const lang of Object.values(messages)) {
      for (const key of zhKeys) expect((lang as Record<string, string>)[key]?.trim(), key).toBeTruthy();
    }
  });

  it("both languages use the same placeholders", () => {
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(zh[key]));
    }
  });

  it("has a message for each problem code of the gateway README", () => {
    const codes = `unauthorized token_invalid token_expired token_reused bad_credentials quota_exceeded
      payment_required plan_limit forbidden insufficient_scope email_not_verified email_taken account_locked
      rate_limited throttled weak_password bad_email job_not_found image_not_found not_found result_not_ready
      image_failed file_too_large request_too_large unsupported_format unsupported_media_type too_many_images
      no_images image_too_small image_too_large corrupt_image unknown_style unknown_platform bad_option
      validation_error service_unavailable internal_error`.split(/\s+/);
    for (const code of codes) expect(zh, code).toHaveProperty(`error.${code}`);
  });
});

describe("translate", () => {
  it("interpolates and defaults to Chinese", () => {
    expect(translator("zh")("upload.remaining", { n: 3 })).toBe("剩余可处理图片：3 张");
    expect(translator("en")("upload.remaining", { n: 3 })).toBe("Images left: 3");
  });

  it("remembers the language in storage, zh by default", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(storedLang(storage)).toBe("zh");
    storeLang(storage, "en");
    expect(store.get(LANG_STORAGE_KEY)).toBe("en");
    expect(storedLang(storage)).toBe("en");
    store.set(LANG_STORAGE_KEY, "fr");
    expect(storedLang(storage)).toBe("zh");
    expect(storedLang(undefined)).toBe("zh");
    expect(htmlLang("zh")).toBe("zh-CN");
    expect(htmlLang("en")).toBe("en");
  });

  it("errors by code in the user's language, else the detail", () => {
    const t = translator("zh");
    expect(errorMessage(t, new ApiError(402, "quota_exceeded", "no images left"))).toBe(zh["error.quota_exceeded"]);
    expect(errorMessage(translator("en"), new ApiError(401, "bad_credentials", "x"))).toBe("Wrong email or password.");
    expect(errorMessage(t, new ApiError(418, "teapot", "I am a teapot"))).toBe("I am a teapot");
    expect(errorMessage(t, new Error("boom"))).toBe(zh["error.generic"]);
  });

  it("names plans by id in the user's language, the API's name for an unknown id", () => {
    const plans = [
      { id: "free", name: "Free trial" },
      { id: "payg", name: "Pay as you go" },
      { id: "personal", name: "Personal" },
      { id: "enterprise", name: "Enterprise" },
      { id: "studio", name: "Studio" },
    ];
    expect(plans.map((p) => planName(translator("zh"), p))).toEqual(["免费试用", "按张付费", "个人版", "企业版", "Studio"]);
    expect(plans.map((p) => planName(translator("en"), p))).toEqual(["Free trial", "Pay as you go", "Personal", "Enterprise", "Studio"]);
  });

  it("finds the file a per-file problem names", () => {
    expect(imageIndexOf(new ApiError(413, "file_too_large", "images[2] is larger than 20 MB"))).toBe(2);
    expect(imageIndexOf(new ApiError(422, "no_images", "no images"))).toBeNull();
  });
});

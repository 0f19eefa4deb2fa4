// Pure helpers (no React): the stored language, interpolation, error messages by code.

import { ApiError } from "../api/client";
import { LANGS, messages, type Lang, type MessageKey } from "./messages";

export const LANG_STORAGE_KEY = "globalpic.lang";

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function isLang(value: unknown): value is Lang {
  return typeof value === "string" && (LANGS as string[]).includes(value);
}

/** The language the user chose before (localStorage), Chinese otherwise. */
export function storedLang(storage: Pick<Storage, "getItem"> | undefined): Lang {
  try {
    const value = storage?.getItem(LANG_STORAGE_KEY);
    return isLang(value) ? value : "zh";
  } catch {
    return "zh";
  }
}

export function storeLang(storage: Pick<Storage, "setItem"> | undefined, lang: Lang): void {
  try {
    storage?.setItem(LANG_STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts this page only
  }
}

/** The `lang` attribute of <html> for a language. */
export function htmlLang(lang: Lang): string {
  return lang === "zh" ? "zh-CN" : "en";
}

export function translator(lang: Lang): Translate {
  const table = messages[lang];
  return (key, vars) => {
    const text = table[key] ?? messages.zh[key] ?? key;
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (match, name: string) =>
      name in vars ? String(vars[name]) : match,
    );
  };
}

export function hasMessage(key: string): key is MessageKey {
  return key in messages.zh;
}

/** A user-facing message for an error: by problem `code`, else the `detail`, else generic. */
export function errorMessage(t: Translate, error: unknown): string {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    if (hasMessage(key)) return t(key);
    if (error.detail) return error.detail;
  }
  return t("error.generic");
}

/** The 0-based image a per-file problem names (`detail`: "images[2] …"), or null. */
export function imageIndexOf(error: unknown): number | null {
  if (!(error instanceof ApiError)) return null;
  const match = /images\[(\d+)\]/.exec(error.detail);
  return match ? Number(match[1]) : null;
}

/** A plan's name in the user's language by its id (`plan.name.<id>`), else the API's name. */
export function planName(t: Translate, plan: { id: string; name: string }): string {
  const key = `plan.name.${plan.id}`;
  return hasMessage(key) ? t(key) : plan.name;
}

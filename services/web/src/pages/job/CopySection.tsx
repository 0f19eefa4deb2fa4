// The English copy of one image: a tab per marketplace it was written for, each with its
// variants; every field copies with one click and counts against the platform's limit.

import { useRef, useState, type KeyboardEvent } from "react";
import type { CopyReport, CopyVariant, ImageReport } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import type { MessageKey } from "../../i18n/messages";
import { hasMessage } from "../../i18n/translate";
import { writeClipboard } from "../../lib/clipboard";
import { captionWithHashtags, fieldLimits, measure, type FieldLimit } from "../../lib/copyLimits";

/** The copies of a report: one per platform, or the single `copy` of older jobs. */
export function copyReports(report: ImageReport | null | undefined): CopyReport[] {
  if (report?.copies?.length) return report.copies.filter((c) => c.variants?.length);
  return report?.copy?.variants?.length ? [report.copy] : [];
}

/** The text a seller pastes into the listing. */
export function copyText(variant: CopyVariant): string {
  const parts: string[] = [];
  if (variant.title) parts.push(variant.title);
  if (variant.bullets?.length) parts.push(variant.bullets.map((b) => `• ${b}`).join("\n"));
  if (variant.description) parts.push(variant.description);
  if (variant.meta_description) parts.push(variant.meta_description);
  if (variant.caption) parts.push(variant.caption);
  if (variant.hashtags?.length) parts.push(variant.hashtags.join(" "));
  if (variant.search_terms) parts.push(variant.search_terms);
  return parts.join("\n\n");
}

function platformName(t: (key: MessageKey) => string, platform: string): string {
  const key = `copyPlatform.${platform}`;
  return hasMessage(key) ? t(key) : platform;
}

export function CopySection({ report, imageIndex }: { report: ImageReport | null; imageIndex: number }) {
  const { t } = useI18n();
  const reports = copyReports(report);
  const [active, setActive] = useState(0);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  if (!reports.length) return null;
  const current = reports[Math.min(active, reports.length - 1)];
  const base = `copy-${imageIndex}`;

  // Arrow keys move between tabs (WAI-ARIA tabs pattern; only the active tab is in Tab order).
  function onKeyDown(event: KeyboardEvent) {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, Home: -active, End: reports.length - 1 - active };
    const move = moves[event.key];
    if (move === undefined) return;
    event.preventDefault();
    const next = (active + move + reports.length) % reports.length;
    setActive(next);
    tabs.current[next]?.focus();
  }

  const panel = (
    <ol className="variants">
      {current.variants.map((variant, i) => (
        <CopyCard key={`${current.platform}-${i}`} variant={variant} n={i + 1} limits={fieldLimits(current, i)} />
      ))}
    </ol>
  );

  return (
    <section aria-labelledby={`${base}-title`}>
      <h4 id={`${base}-title`}>{t("job.copy")}</h4>
      {reports.length === 1 ? (
        <>
          <p className="muted small">{t("job.copyFor", { platform: platformName(t, current.platform) })}</p>
          {panel}
        </>
      ) : (
        <>
          <div className="tabs" role="tablist" aria-label={t("job.copyPlatforms")} onKeyDown={onKeyDown}>
            {reports.map((r, i) => (
              <button
                key={r.platform || i}
                ref={(el) => {
                  tabs.current[i] = el;
                }}
                type="button"
                role="tab"
                id={`${base}-tab-${i}`}
                aria-selected={i === active}
                aria-controls={`${base}-panel`}
                tabIndex={i === active ? 0 : -1}
                className={`tab${i === active ? " active" : ""}`}
                onClick={() => setActive(i)}
                data-testid="copy-tab"
              >
                {platformName(t, r.platform)}
                {!r.passed && <span className="tab-warn"> ⚠</span>}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${active}`} tabIndex={0}>
            {panel}
          </div>
        </>
      )}
    </section>
  );
}

type Copied = string | null;

function CopyCard({ variant, n, limits }: { variant: CopyVariant; n: number; limits: ReturnType<typeof fieldLimits> }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<Copied>(null);
  const [failed, setFailed] = useState(false);
  const copy = (what: string, text: string) =>
    writeClipboard(text).then(
      () => {
        setCopied(what);
        setFailed(false);
      },
      () => setFailed(true),
    );
  const field = (what: string, label: string, text: string, limit?: FieldLimit, counted?: string) => (
    <CopyField
      key={what}
      label={label}
      text={text}
      limit={limit}
      counted={counted ?? text}
      copied={copied === what}
      onCopy={() => copy(what, text)}
    />
  );
  return (
    <li className="card variant" data-testid="copy-variant">
      <div className="row between">
        <strong>{t("job.copyVariant", { n })}</strong>
        <button type="button" className="btn btn-secondary" data-testid="copy-button" onClick={() => copy("all", copyText(variant))}>
          {copied === "all" ? t("job.copied") : t("job.copyAll")}
        </button>
      </div>
      {failed && (
        <p className="alert alert-error" role="alert">
          {t("error.clipboard")}
        </p>
      )}
      <div className="copy-fields">
        {variant.title && field("title", t("job.copyTitle"), variant.title, limits.title)}
        {variant.bullets?.map((bullet, i) => field(`bullet-${i}`, t("job.copyBullet", { n: i + 1 }), bullet, limits.bullets))}
        {variant.description && field("description", t("job.copyDescription"), variant.description, limits.description)}
        {variant.meta_description && field("meta", t("job.copyMeta"), variant.meta_description, limits.meta_description)}
        {variant.caption && field("caption", t("job.copyCaption"), variant.caption, limits.caption, captionWithHashtags(variant))}
        {variant.hashtags?.length > 0 && field("hashtags", t("job.copyHashtags"), variant.hashtags.join(" "))}
        {variant.search_terms && field("search", t("job.copySearchTerms"), variant.search_terms, limits.search_terms)}
      </div>
      {variant.explanation_zh && (
        <p className="muted small">
          {t("job.copyWhy")}
          <span lang="zh-CN">{variant.explanation_zh}</span>
        </p>
      )}
    </li>
  );
}

function CopyField({
  label,
  text,
  limit,
  counted,
  copied,
  onCopy,
}: {
  label: string;
  text: string;
  limit?: FieldLimit;
  /** What the limit counts (a caption counts with its hashtags). */
  counted: string;
  copied: boolean;
  onCopy: () => void;
}) {
  const { t } = useI18n();
  const length = limit ? measure(counted, limit.unit) : 0;
  const over = limit ? length > limit.limit : false;
  return (
    <div className="copy-field" data-testid="copy-field">
      <div className="row between copy-field-head">
        <span className="label">{label}</span>
        <span className="row">
          {limit && (
            <span className={`counter small${over ? " over" : ""}`} data-testid="copy-counter">
              {t(limit.unit === "bytes" ? "job.counterBytes" : "job.counterChars", { n: length, max: limit.limit })}
              {over && ` · ${t("job.overLimit")}`}
            </span>
          )}
          <button
            type="button"
            className="btn btn-ghost btn-small"
            onClick={onCopy}
            data-testid="copy-field-button"
          >
            {copied ? t("job.copied") : t("job.copyButton")}
            <span className="visually-hidden"> {label}</span>
          </button>
        </span>
      </div>
      <p className="pre" lang="en">
        {text}
      </p>
    </div>
  );
}

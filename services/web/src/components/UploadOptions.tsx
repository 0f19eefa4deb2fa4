// Parts of the upload form: the marketplace picker with its frame to scale, the copy inputs,
// and the seller's own background.

import { useEffect, useState } from "react";
import type { Platform } from "../api/types";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { ACCEPTED_TYPES } from "../lib/batch";
import { aspectLabel, frameBox, largestSide } from "../lib/frame";
import { COPY_PLATFORMS } from "../lib/jobForm";

// The frame box: this many CSS pixels stand for the largest side in the catalog.
const FRAME_BOX_PX = 72;

export function PlatformPicker({
  platforms,
  value,
  onChange,
  disabled,
}: {
  platforms: Platform[];
  value: string;
  onChange: (id: string) => void;
  disabled: boolean;
}) {
  const { t } = useI18n();
  const chosen = platforms.find((p) => p.id === value);
  const largest = largestSide(platforms);
  return (
    <div className="platform-picker">
      <label>
        {t("upload.platform")}
        <select value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} data-testid="platform-select">
          {platforms.length === 0 && <option value={value}>{value}</option>}
          {platforms.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name} ({p.width}×{p.height})
            </option>
          ))}
        </select>
      </label>
      {chosen && (
        <div className={`frame-preview${disabled ? " off" : ""}`} data-testid="platform-frame">
          <div className="frame-area" style={{ width: FRAME_BOX_PX, height: FRAME_BOX_PX }} aria-hidden="true">
            <div className="frame" style={frameBox(chosen, largest, FRAME_BOX_PX)} />
          </div>
          <p className="small muted">
            {t("upload.frame", { w: chosen.width, h: chosen.height, ratio: aspectLabel(chosen.width, chosen.height) })}
            {chosen.white_background && (
              <>
                <br />
                {t("upload.frameWhite")}
              </>
            )}
          </p>
        </div>
      )}
    </div>
  );
}

export interface CopyInputs {
  keywords: string;
  facts: string;
  platforms: string[];
}

export function CopyOptions({ value, onChange }: { value: CopyInputs; onChange: (value: CopyInputs) => void }) {
  const { t } = useI18n();
  function toggle(platform: string) {
    const platforms = value.platforms.includes(platform) ? value.platforms.filter((p) => p !== platform) : [...value.platforms, platform];
    onChange({ ...value, platforms });
  }
  return (
    <fieldset className="copy-options" data-testid="copy-options">
      <legend>{t("upload.copyOptions")}</legend>
      <label>
        {t("upload.keywords")}
        <input
          type="text"
          value={value.keywords}
          onChange={(e) => onChange({ ...value, keywords: e.target.value })}
          placeholder={t("upload.keywordsExample")}
          aria-describedby="keywords-hint"
          data-testid="copy-keywords"
        />
      </label>
      <p className="hint" id="keywords-hint">
        {t("upload.keywordsHint")}
      </p>
      <label>
        {t("upload.facts")}
        <input
          type="text"
          value={value.facts}
          onChange={(e) => onChange({ ...value, facts: e.target.value })}
          placeholder={t("upload.factsExample")}
          aria-describedby="facts-hint"
          data-testid="copy-facts"
        />
      </label>
      <p className="hint" id="facts-hint">
        {t("upload.factsHint")}
      </p>
      <fieldset className="copy-platforms">
        <legend>{t("upload.copyPlatforms")}</legend>
        {COPY_PLATFORMS.map((platform) => (
          <label key={platform} className="check">
            <input
              type="checkbox"
              checked={value.platforms.includes(platform)}
              onChange={() => toggle(platform)}
              data-testid={`copy-platform-${platform}`}
            />
            {t(`copyPlatform.${platform}` as MessageKey)}
          </label>
        ))}
      </fieldset>
    </fieldset>
  );
}

/** The seller's own background: one photo that takes the place of a style. */
export function BackgroundPicker({
  file,
  onChange,
  onRejected,
}: {
  file: File | null;
  onChange: (file: File | null) => void;
  onRejected: (name: string) => void;
}) {
  const { t } = useI18n();
  const url = useObjectUrl(file);
  return (
    <div className="background-picker">
      {file && url ? (
        <div className="style-card selected own-background" data-testid="background-chosen">
          <img src={url} alt={t("upload.backgroundAlt", { name: file.name })} width={96} height={96} />
          <span className="thumb-name" title={file.name}>
            {file.name}
          </span>
          <button type="button" className="btn btn-ghost small" onClick={() => onChange(null)} data-testid="background-remove">
            {t("upload.backgroundRemove")}
          </button>
        </div>
      ) : (
        <label className="btn btn-secondary background-button">
          {t("upload.background")}
          <input
            className="visually-hidden"
            type="file"
            accept={ACCEPTED_TYPES.join(",")}
            data-testid="background-input"
            onChange={(e) => {
              const picked = e.target.files?.[0];
              e.target.value = "";
              if (!picked) return;
              if (ACCEPTED_TYPES.includes(picked.type)) onChange(picked);
              else onRejected(picked.name);
            }}
          />
        </label>
      )}
      <p className="hint">{t("upload.backgroundHint")}</p>
    </div>
  );
}

/** An object URL for a file, revoked when the file changes or the component goes. */
function useObjectUrl(file: File | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) {
      setUrl(null);
      return;
    }
    const next = URL.createObjectURL(file);
    setUrl(next);
    return () => URL.revokeObjectURL(next);
  }, [file]);
  return url;
}

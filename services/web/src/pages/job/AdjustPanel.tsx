// Fine-tuning of the selected result: the sliders preview live on the shown image (the parent
// applies `previewFilter` / `previewOpacity`), "apply" renders it for real as a new job.

import { api } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useRerun } from "../../components/useRerun";
import { useI18n } from "../../i18n/I18nProvider";
import type { MessageKey } from "../../i18n/messages";
import { ADJUST_RANGES, adjustBody, isUnchanged, NO_ADJUSTMENT, type Adjustments } from "../../lib/adjust";

export function AdjustPanel({
  jobId,
  imageIndex,
  candidate,
  values,
  onChange,
  withStrength,
}: {
  jobId: string;
  imageIndex: number;
  /** The 1-based number of the selected output. */
  candidate: number;
  values: Adjustments;
  onChange: (values: Adjustments) => void;
  /** Strength blends a remixed background back: only offered when the job remixed. */
  withStrength: boolean;
}) {
  const { t } = useI18n();
  const { pending, error, run } = useRerun();
  const names: (keyof Adjustments)[] = withStrength ? ["brightness", "saturation", "detail", "strength"] : ["brightness", "saturation", "detail"];
  const unchanged = isUnchanged(values);
  const headingId = `adjust-title-${imageIndex}`;
  return (
    <section className="adjust" aria-labelledby={headingId} data-testid="adjust-panel">
      <h4 id={headingId}>{t("adjust.title", { n: candidate })}</h4>
      <p className="muted small">{t("adjust.previewNote")}</p>
      <div className="adjust-sliders">
        {names.map((name) => (
          <AdjustSlider key={name} name={name} value={values[name]} onChange={(value) => onChange({ ...values, [name]: value })} />
        ))}
      </div>
      <div className="row">
        <button
          type="button"
          className="btn btn-primary"
          disabled={pending || unchanged}
          onClick={() => run(() => api.adjustImage(jobId, imageIndex, adjustBody(candidate, values)))}
          data-testid="adjust-apply"
        >
          {pending ? t("adjust.applying") : t("adjust.apply")}
        </button>
        <button type="button" className="btn btn-ghost" disabled={pending || unchanged} onClick={() => onChange(NO_ADJUSTMENT)} data-testid="adjust-reset">
          {t("adjust.reset")}
        </button>
      </div>
      {pending && (
        <p className="muted small" role="status">
          {t("adjust.pending")}
        </p>
      )}
      <ErrorMessage error={error} />
    </section>
  );
}

function AdjustSlider({ name, value, onChange }: { name: keyof Adjustments; value: number; onChange: (value: number) => void }) {
  const { t } = useI18n();
  const range = ADJUST_RANGES[name];
  const shown = (value > 0 && range.min < 0 ? "+" : "") + value.toFixed(2);
  return (
    <label className="adjust-slider">
      <span className="row between">
        <span>{t(`adjust.${name}` as MessageKey)}</span>
        <span className="muted small" aria-hidden="true">
          {shown}
        </span>
      </span>
      <input
        type="range"
        min={range.min}
        max={range.max}
        step={range.step}
        value={value}
        aria-valuetext={shown}
        onChange={(e) => onChange(Number(e.target.value))}
        data-testid={`adjust-${name}`}
      />
      <span className="row between small muted" aria-hidden="true">
        <span>{t(`adjust.${name}.low` as MessageKey)}</span>
        <span>{t(`adjust.${name}.high` as MessageKey)}</span>
      </span>
    </label>
  );
}

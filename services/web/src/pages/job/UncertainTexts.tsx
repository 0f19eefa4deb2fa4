// Texts `clean` kept without being sure (maybe a sticker, maybe the product's print): the
// seller decides, one click erases one or all of them in a new job.

import { api } from "../../api/client";
import type { ImageReport } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useRerun } from "../../components/useRerun";
import { useI18n } from "../../i18n/I18nProvider";
import { eraseTextsForm, uncertainTexts } from "../../lib/uncertain";

// Cues shown per text: the strongest few say why; all of them would be noise.
const CUES_SHOWN = 3;

export function UncertainTexts({ jobId, imageIndex, report }: { jobId: string; imageIndex: number; report: ImageReport | null }) {
  const { t } = useI18n();
  const { pending, error, run } = useRerun();
  const texts = uncertainTexts(report);
  if (!texts.length) return null;
  const erase = (indices: number[]) => run(() => api.cleanImage(jobId, imageIndex, eraseTextsForm(indices)));
  const headingId = `uncertain-title-${imageIndex}`;
  return (
    <section className="uncertain" aria-labelledby={headingId} data-testid="uncertain-texts">
      <h4 id={headingId}>{t("uncertain.title")}</h4>
      <p className="muted small">{t("uncertain.intro")}</p>
      <ul className="uncertain-list">
        {texts.map((text) => (
          <li key={text.index} className="uncertain-item" data-testid="uncertain-text">
            <div className="uncertain-main">
              <strong className="uncertain-text">“{text.text}”</strong>
              <span className="small muted">
                {t("uncertain.score", { p: Math.round(text.overlayScore * 100) })}
                {text.cues.length > 0 && (
                  <>
                    {" · "}
                    {t("uncertain.cues")}{" "}
                    <span lang="en">
                      {text.cues
                        .slice(0, CUES_SHOWN)
                        .map(([name, value]) => `${name.replace(/_/g, " ")} ${value.toFixed(2)}`)
                        .join(", ")}
                    </span>
                  </>
                )}
              </span>
            </div>
            <button
              type="button"
              className="btn btn-secondary"
              disabled={pending}
              aria-label={t("uncertain.eraseOne", { text: text.text })}
              onClick={() => erase([text.index])}
              data-testid="erase-uncertain"
            >
              {t("uncertain.erase")}
            </button>
          </li>
        ))}
      </ul>
      {texts.length > 1 && (
        <button
          type="button"
          className="btn btn-secondary"
          disabled={pending}
          onClick={() => erase(texts.map((text) => text.index))}
          data-testid="erase-uncertain-all"
        >
          {t("uncertain.eraseAll", { n: texts.length })}
        </button>
      )}
      {pending && (
        <p className="muted small" role="status">
          {t("rerun.pending")}
        </p>
      )}
      <ErrorMessage error={error} />
    </section>
  );
}

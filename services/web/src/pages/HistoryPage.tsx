import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api } from "../api/client";
import type { JobPage } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";

const PAGE = 20;

export function HistoryPage() {
  const { t, lang } = useI18n();
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<JobPage | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    setError(null);
    api.jobs(PAGE, offset).then(setPage, setError);
  }, [offset]);

  const format = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-US", { dateStyle: "medium", timeStyle: "short" });
  return (
    <section>
      <h1>{t("history.title")}</h1>
      <ErrorMessage error={error} />
      {!page && !error && <p role="status">{t("common.loading")}</p>}
      {page && page.items.length === 0 && (
        <p>
          {t("history.empty")} <Link to="/">{t("nav.upload")}</Link>
        </p>
      )}
      {page && page.items.length > 0 && (
        <>
          <ul className="history">
            {page.items.map((job) => (
              <li key={job.id} className="card history-item" data-testid="history-item">
                <Link to={`/jobs/${job.id}`} className="history-link">
                  <span className={`badge badge-${job.status}`}>{t(`job.status.${job.status}` as MessageKey)}</span>
                  <span>{format.format(new Date(job.created_at))}</span>
                  <span className="muted">
                    {t("history.images")}: {job.image_count}
                  </span>
                  <span className="muted small">{job.options.ops.join(", ")}</span>
                </Link>
              </li>
            ))}
          </ul>
          <div className="row between">
            <button type="button" className="btn btn-secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              {t("history.prev")}
            </button>
            <span className="muted">
              {t("history.page", { from: offset + 1, to: offset + page.items.length, total: page.total })}
            </span>
            <button
              type="button"
              className="btn btn-secondary"
              disabled={offset + page.items.length >= page.total}
              onClick={() => setOffset(offset + PAGE)}
            >
              {t("history.next")}
            </button>
          </div>
        </>
      )}
    </section>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, imagePath } from "../api/client";
import { readEventStream } from "../api/sse";
import type { CompletedData, Job, JobImage, ProgressData } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { saveBlob, useBlobUrl } from "../components/useBlobUrl";
import { useRerun } from "../components/useRerun";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { errorMessage } from "../i18n/translate";
import { isUnchanged, NO_ADJUSTMENT, previewFilter, previewOpacity, type Adjustments } from "../lib/adjust";
import { stageLabel, stagePercent } from "../lib/stages";
import { AdjustPanel } from "./job/AdjustPanel";
import { CopySection } from "./job/CopySection";
import { RuleChecks } from "./job/RuleChecks";
import { checksOfCandidate } from "../lib/checks";
import { UncertainTexts } from "./job/UncertainTexts";

const TERMINAL = new Set(["completed", "failed"]);

/** Applies one `progress` event to the job held in state. */
export function applyProgress(job: Job, data: ProgressData): Job {
  return {
    ...job,
    status: job.status === "queued" ? "running" : job.status,
    images: job.images.map((image) =>
      image.index === data.image
        ? {
            ...image,
            state: data.state ?? image.state,
            stage: data.stage ?? image.stage,
            percent: typeof data.percent === "number" ? data.percent : image.percent,
            eta_seconds: data.eta_seconds,
            error: data.error ?? image.error,
            cached: data.cached ?? image.cached,
          }
        : image,
    ),
  };
}

export function JobPage() {
  const { id = "" } = useParams();
  // A re-run opens its new job on this same route: a fresh view, not the last job's state.
  return <JobView key={id} id={id} />;
}

function JobView({ id }: { id: string }) {
  const { t } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reconnecting, setReconnecting] = useState(false);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = useCallback(async () => {
    try {
      setJob(await api.job(id));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [id]);

  // Outputs come from GET /v1/jobs/{id}: fetch it again when an image finishes (debounced).
  const refetchSoon = useCallback(() => {
    if (refetchTimer.current) clearTimeout(refetchTimer.current);
    refetchTimer.current = setTimeout(() => void load(), 300);
  }, [load]);

  useEffect(() => {
    setJob(null);
    void load();
    return () => {
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
    };
  }, [load]);

  const finished = job ? TERMINAL.has(job.status) : false;
  const started = job !== null;

  useEffect(() => {
    if (!started || finished) return;
    const controller = new AbortController();
    readEventStream({
      signal: controller.signal,
      open: (lastEventId, signal) => api.jobEvents(id, lastEventId, signal),
      retryable: (err) => !(err instanceof ApiError) || err.status >= 500 || err.status === 0 || err.status === 429,
      onReconnect: () => setReconnecting(true),
      isDone: (event) => event.event === "completed",
      onEvent: (event) => {
        setReconnecting(false);
        if (event.event === "progress") {
          const data = JSON.parse(event.data) as ProgressData;
          setJob((current) => (current ? applyProgress(current, data) : current));
          if (TERMINAL.has(data.state)) refetchSoon();
        } else if (event.event === "completed") {
          const data = JSON.parse(event.data) as CompletedData;
          setJob((current) => (current ? { ...current, status: data.status } : current));
          refetchSoon();
        }
      },
    }).catch((err: unknown) => {
      if (!controller.signal.aborted) setError(err);
    });
    return () => controller.abort();
  }, [id, started, finished, refetchSoon]);

  if (error && !job) {
    return (
      <section>
        <ErrorMessage error={error} />
        <Link to="/history">{t("nav.history")}</Link>
      </section>
    );
  }
  if (!job) return <p role="status">{t("common.loading")}</p>;

  const anyOutputs = job.images.some((image) => image.outputs.length > 0);
  return (
    <section className="job">
      <div className="page-head">
        <h1>
          {t("job.title")} <span className={`badge badge-${job.status}`}>{t(`job.status.${job.status}` as MessageKey)}</span>
        </h1>
        <div className="row">
          {finished && anyOutputs && <ZipButton path={job.links.results_zip} jobId={job.id} />}
          <Link to="/" className="btn btn-secondary">
            {t("job.newJob")}
          </Link>
        </div>
      </div>
      {job.rerun_of && (
        <p className="muted" data-testid="rerun-of">
          {t("job.rerunOf")}{" "}
          <Link to={`/jobs/${encodeURIComponent(job.rerun_of.job_id)}`}>{t("job.rerunOfLink", { n: job.rerun_of.image + 1 })}</Link>
        </p>
      )}
      {reconnecting && (
        <p className="alert alert-warn" role="status">
          {t("job.reconnecting")}
        </p>
      )}
      <ErrorMessage error={error} />
      <ul className="progress-list">
        {job.images.map((image) => (
          <ProgressCard key={image.index} jobId={job.id} image={image} />
        ))}
      </ul>
      {job.images.some((image) => image.state === "completed") && (
        <section aria-labelledby="results-title">
          <h2 id="results-title">{t("job.results")}</h2>
          {job.images
            .filter((image) => image.state === "completed")
            .map((image) => (
              <ImageResults
                key={image.index}
                jobId={job.id}
                image={image}
                remixed={job.options.ops.includes("remix")}
                // an adjusted result is cleaned again from the job it came from (the gateway says so)
                editable={!job.options.ops.includes("adjust")}
              />
            ))}
        </section>
      )}
    </section>
  );
}

function ProgressCard({ jobId, image }: { jobId: string; image: JobImage }) {
  const { t } = useI18n();
  const percent = stagePercent(image.state, image.stage, image.percent);
  const failed = image.state === "failed";
  const eta = image.eta_seconds;
  return (
    <li className={`card progress-card${failed ? " failed" : ""}`} data-testid="progress" data-state={image.state}>
      <div className="row between">
        <strong className="filename">{image.filename}</strong>
        <span data-testid="progress-percent">{percent} %</span>
      </div>
      <div
        className="bar"
        role="progressbar"
        aria-label={t("job.progressOf", { name: image.filename })}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <div className="row between small">
        <span data-testid="progress-stage">{stageLabel(t, image.state, image.stage)}</span>
        {!failed && image.state !== "completed" && typeof eta === "number" && eta > 0 && (
          <span className="muted">{t("job.eta", { s: Math.ceil(eta) })}</span>
        )}
        {image.cached && <span className="muted">{t("stage.cached")}</span>}
      </div>
      {failed && image.error && (
        <p className="alert alert-error" role="alert">
          {errorMessage(t, new ApiError(0, image.error.code, image.error.message))}
        </p>
      )}
      {failed && <RetryButton jobId={jobId} index={image.index} />}
    </li>
  );
}

function RetryButton({ jobId, index }: { jobId: string; index: number }) {
  const { t } = useI18n();
  const { pending, error, run } = useRerun();
  return (
    <>
      <button
        type="button"
        className="btn btn-secondary"
        disabled={pending}
        onClick={() => run(() => api.retryImage(jobId, index))}
        data-testid="retry-image"
      >
        {pending ? t("rerun.pending") : t("job.retryImage")}
      </button>
      <ErrorMessage error={error} />
    </>
  );
}

function ZipButton({ path, jobId }: { path: string; jobId: string }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        className="btn btn-primary"
        disabled={busy}
        data-testid="download-zip"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const { blob, filename } = await api.download(path);
            saveBlob(blob, filename ?? `globalpic-${jobId}.zip`);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? t("job.downloading") : t("job.downloadZip")}
      </button>
      <ErrorMessage error={error} />
    </>
  );
}

function Thumb({ path, alt, testId }: { path: string; alt: string; testId?: string }) {
  const { t } = useI18n();
  const { url, error } = useBlobUrl(path);
  if (error) return <span className="img-placeholder">{errorMessage(t, error)}</span>;
  if (!url) return <span className="img-placeholder">{t("job.imageLoading")}</span>;
  return <img src={url} alt={alt} data-testid={testId} />;
}

function ImageResults({ jobId, image, remixed, editable }: { jobId: string; image: JobImage; remixed: boolean; editable: boolean }) {
  const { t } = useI18n();
  const [selected, setSelected] = useState(0);
  const [split, setSplit] = useState(50);
  const [adjust, setAdjust] = useState<Adjustments>(NO_ADJUSTMENT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const outputs = image.outputs;
  const current = outputs[Math.min(selected, outputs.length - 1)];
  // the upload itself, to compare a result with what the seller sent
  const before = useBlobUrl(outputs.length > 0 ? `${imagePath(jobId, image.index)}/original` : null);
  const after = useBlobUrl(current?.url);
  const adjusting = !isUnchanged(adjust);
  // strength below 1 blends back toward the original: previewed by showing it under the result
  const blendsOriginal = adjusting && previewOpacity(adjust) < 1 && before.url !== null;

  async function downloadOne() {
    if (!current) return;
    setBusy(true);
    setError(null);
    try {
      const { blob, filename } = await api.download(current.url);
      saveBlob(blob, filename ?? `${image.filename}-${current.candidate}.png`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <article className="card result" aria-label={image.filename}>
      <div className="row between">
        <h3 className="filename">{image.filename}</h3>
        {editable && (
          <Link to={`/jobs/${encodeURIComponent(jobId)}/images/${image.index}/edit`} className="btn btn-secondary" data-testid="edit-link">
            {t("job.edit")}
          </Link>
        )}
      </div>
      {outputs.length === 0 && <p className="muted">{t("job.noResults")}</p>}
      {current && (
        <div className="result-layout">
          <div className="result-main">
            <div className="compare">
              {blendsOriginal && <img className="compare-under" src={before.url!} alt="" aria-hidden="true" />}
              {after.url ? (
                <img
                  className="compare-after"
                  src={after.url}
                  alt={t("job.candidate", { n: current.candidate })}
                  style={adjusting ? { filter: previewFilter(adjust), opacity: previewOpacity(adjust) } : undefined}
                  data-testid="result-image"
                />
              ) : (
                <span className="img-placeholder">{after.error ? errorMessage(t, after.error) : t("job.imageLoading")}</span>
              )}
              {before.url && (
                <img
                  className="compare-before"
                  src={before.url}
                  alt={t("job.compareBefore")}
                  style={{ clipPath: `inset(0 ${100 - split}% 0 0)` }}
                />
              )}
            </div>
            {before.url && (
              <label className="compare-label">
                {t("job.compareLabel")}
                <input
                  type="range"
                  min={0}
                  max={100}
                  value={split}
                  onChange={(e) => setSplit(Number(e.target.value))}
                  data-testid="compare-slider"
                />
                <span className="row between small muted" aria-hidden="true">
                  <span>{t("job.compareBefore")}</span>
                  <span>{t("job.compareAfter")}</span>
                </span>
              </label>
            )}
            <button type="button" className="btn btn-secondary" onClick={downloadOne} disabled={busy} data-testid="download-one">
              {busy ? t("job.downloading") : t("job.download")}
            </button>
            <ErrorMessage error={error} />
          </div>
          <AdjustPanel
            jobId={jobId}
            imageIndex={image.index}
            candidate={current.candidate}
            values={adjust}
            onChange={setAdjust}
            withStrength={remixed}
          />
        </div>
      )}
      {outputs.length > 0 && (
        <>
          <h4>{t("job.candidates")}</h4>
          <ul className="candidates">
            {outputs.map((output, i) => (
              <li key={output.candidate}>
                <button
                  type="button"
                  className={`candidate${i === selected ? " selected" : ""}`}
                  aria-pressed={i === selected}
                  aria-label={t("job.selectCandidate", { n: output.candidate })}
                  onClick={() => setSelected(i)}
                  data-testid="candidate"
                >
                  <Thumb path={output.url} alt={t("job.candidate", { n: output.candidate })} />
                  <span className="small">{t("job.candidate", { n: output.candidate })}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <UncertainTexts jobId={jobId} imageIndex={image.index} report={image.report} />
      <RuleChecks checks={checksOfCandidate(image.checks ?? [], outputs.length, Math.min(selected, outputs.length - 1))} imageIndex={image.index} />
      <CopySection report={image.report} imageIndex={image.index} />
    </article>
  );
}

import { lazy, Suspense, useEffect, useRef, useState, type DragEvent, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api } from "../api/client";
import type { Platform, Style } from "../api/types";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage } from "../components/ErrorMessage";
import { BackgroundPicker, CopyOptions, PlatformPicker, type CopyInputs } from "../components/UploadOptions";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { imageIndexOf } from "../i18n/translate";
import { ACCEPTED_TYPES, MAX_PER_DROP, takeFiles } from "../lib/batch";
import { badFact, buildJobForm, OPS, type OpName } from "../lib/jobForm";

// The crop dialog (canvas, pointer handling) loads when a seller first crops.
const CropDialog = lazy(() => import("../components/CropDialog"));

const DEFAULT_OPS: OpName[] = ["clean", "extract", "remix", "resize"];
const DEFAULT_BATCH = 50;
const NO_COPY_INPUTS: CopyInputs = { keywords: "", facts: "", platforms: ["amazon"] };

interface Picked {
  id: number;
  file: File;
  url: string;
}

function newKey(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function styleName(style: Style, lang: string): string {
  return (lang === "zh" ? style.name_zh : style.name_en) ?? style.name ?? style.id;
}

export function UploadPage() {
  const { t, lang } = useI18n();
  const { me, reloadMe } = useAuth();
  const navigate = useNavigate();
  const inputRef = useRef<HTMLInputElement>(null);
  const nextId = useRef(1);
  const [files, setFiles] = useState<Picked[]>([]);
  const [notes, setNotes] = useState<string[]>([]);
  const [ops, setOps] = useState<Set<OpName>>(new Set(DEFAULT_OPS));
  const [styles, setStyles] = useState<Style[]>([]);
  const [platforms, setPlatforms] = useState<Platform[]>([]);
  const [style, setStyle] = useState("amazon-white");
  const [platform, setPlatform] = useState("amazon");
  const [candidates, setCandidates] = useState(4);
  const [background, setBackground] = useState<File | null>(null);
  const [copyInputs, setCopyInputs] = useState<CopyInputs>(NO_COPY_INPUTS);
  const [cropping, setCropping] = useState<number | null>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [errorFile, setErrorFile] = useState<string | undefined>();

  const maxBatch = me?.account?.plan.max_batch || DEFAULT_BATCH;
  const remaining = me?.account ? me.account.remaining_images : null;

  useEffect(() => {
    api.styles().then((list) => {
      setStyles(list);
      setStyle((current) => (list.some((s) => s.id === current) ? current : (list[0]?.id ?? current)));
    }, setError);
    api.platforms().then((list) => {
      setPlatforms(list);
      setPlatform((current) => (list.some((p) => p.id === current) ? current : (list[0]?.id ?? current)));
    }, setError);
  }, []);

  // Object URLs of the thumbnails die with the page.
  const filesRef = useRef(files);
  filesRef.current = files;
  useEffect(() => () => filesRef.current.forEach((f) => URL.revokeObjectURL(f.url)), []);

  function add(list: FileList | File[]) {
    const intake = takeFiles(Array.from(list), files.length, maxBatch);
    const messages = intake.badType.map((name) => t("upload.badType", { name }));
    if (intake.overDrop) messages.push(t("upload.tooManyPerDrop", { max: MAX_PER_DROP, n: intake.overDrop }));
    if (intake.overBatch) messages.push(t("upload.tooMany", { max: maxBatch, n: intake.overBatch }));
    const added = intake.added.map((file) => ({ id: nextId.current++, file, url: URL.createObjectURL(file) }));
    setFiles((current) => [...current, ...added]);
    setNotes(messages);
    setError(null);
  }

  /** The cropped photo takes the place of the one it came from, at the same position. */
  function replace(id: number, file: File) {
    const old = files.find((f) => f.id === id);
    if (old) URL.revokeObjectURL(old.url);
    const url = URL.createObjectURL(file);
    setFiles((current) => current.map((f) => (f.id === id ? { id, file, url } : f)));
    setCropping(null);
  }

  function remove(id: number) {
    setFiles((current) => {
      const gone = current.find((f) => f.id === id);
      if (gone) URL.revokeObjectURL(gone.url);
      return current.filter((f) => f.id !== id);
    });
  }

  function clear() {
    files.forEach((f) => URL.revokeObjectURL(f.url));
    setFiles([]);
    setNotes([]);
  }

  function toggle(op: OpName) {
    setOps((current) => {
      const next = new Set(current);
      if (next.has(op)) next.delete(op);
      else next.add(op);
      return next;
    });
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length) add(event.dataTransfer.files);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setErrorFile(undefined);
    if (!files.length) {
      setNotes([t("upload.noFiles")]);
      return;
    }
    if (!ops.size) {
      setNotes([t("upload.noOps")]);
      return;
    }
    if (ops.has("copy")) {
      const wrong = badFact(copyInputs.facts);
      if (wrong !== null) {
        setNotes([t("upload.badFact", { piece: wrong })]);
        return;
      }
      if (!copyInputs.platforms.length) {
        setNotes([t("upload.noCopyPlatforms")]);
        return;
      }
    }
    const form = buildJobForm({
      files: files.map((f) => f.file),
      ops,
      style,
      platform,
      candidates,
      background,
      keywords: copyInputs.keywords,
      facts: copyInputs.facts,
      copyPlatforms: copyInputs.platforms,
    });
    setBusy(true);
    try {
      const job = await api.submitJob(form, newKey());
      void reloadMe();
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      const index = imageIndexOf(err);
      setErrorFile(index !== null ? files[index]?.file.name : undefined);
      setError(err);
      setBusy(false);
    }
  }

  const remix = ops.has("remix");
  const cropped = files.find((f) => f.id === cropping);
  return (
    <form className="upload" onSubmit={submit}>
      <div className="page-head">
        <h1>{t("upload.title")}</h1>
        <p className="remaining" data-testid="remaining">
          {remaining === null ? t("upload.remainingUnlimited") : t("upload.remaining", { n: remaining })}{" "}
          <Link to="/plans">{t("upload.upgrade")}</Link>
        </p>
      </div>

      <label
        className={`dropzone${dragging ? " dragging" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <span className="dropzone-title">{t("upload.drop")}</span>
        <span className="muted">{t("upload.dropHint", { max: maxBatch, perDrop: MAX_PER_DROP })}</span>
        <span className="btn btn-secondary" aria-hidden="true">
          {t("upload.choose")}
        </span>
        <input
          ref={inputRef}
          className="visually-hidden"
          type="file"
          multiple
          accept={ACCEPTED_TYPES.join(",")}
          aria-label={t("upload.choose")}
          data-testid="upload-input"
          onChange={(e) => {
            if (e.target.files) add(e.target.files);
            e.target.value = ""; // the same file may be picked again after removing it
          }}
        />
      </label>

      {notes.map((note) => (
        <p key={note} className="alert alert-warn" role="status">
          {note}
        </p>
      ))}
      {remaining !== null && files.length > remaining && (
        <p className="alert alert-warn" role="status">
          {t("upload.overRemaining", { n: files.length, left: remaining })}{" "}
          <Link to="/plans">{t("upload.upgrade")}</Link>
        </p>
      )}

      {files.length > 0 && (
        <section aria-label={t("upload.selected", { n: files.length, max: maxBatch })}>
          <div className="row between">
            <p className="muted">{t("upload.selected", { n: files.length, max: maxBatch })}</p>
            <button type="button" className="btn btn-ghost" onClick={clear}>
              {t("upload.clear")}
            </button>
          </div>
          <ul className="thumbs">
            {files.map((f) => (
              <li key={f.id} className="thumb" data-testid="thumbnail">
                <img src={f.url} alt={f.file.name} />
                <span className="thumb-name" title={f.file.name}>
                  {f.file.name}
                </span>
                <button
                  type="button"
                  className="thumb-remove"
                  aria-label={t("upload.remove", { name: f.file.name })}
                  onClick={() => remove(f.id)}
                  data-testid="remove-file"
                >
                  ×
                </button>
                <button
                  type="button"
                  className="btn btn-ghost thumb-crop"
                  aria-label={t("upload.crop", { name: f.file.name })}
                  onClick={() => setCropping(f.id)}
                  data-testid="crop-file"
                >
                  {t("upload.cropButton")}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {cropped && (
        <Suspense fallback={null}>
          <CropDialog key={cropped.id} file={cropped.file} url={cropped.url} onCancel={() => setCropping(null)} onCropped={(file) => replace(cropped.id, file)} />
        </Suspense>
      )}

      <fieldset className="card options">
        <legend>{t("upload.ops")}</legend>
        {OPS.map((op) => (
          <label key={op} className="check">
            <input type="checkbox" checked={ops.has(op)} onChange={() => toggle(op)} data-testid={`op-${op}`} />
            {t(`upload.op.${op}` as MessageKey)}
          </label>
        ))}
        {ops.has("copy") && <CopyOptions value={copyInputs} onChange={setCopyInputs} />}
        <div className="selects">
          <PlatformPicker platforms={platforms} value={platform} onChange={setPlatform} disabled={!ops.has("resize")} />
          <label>
            {t("upload.candidates")}
            <select
              value={remix && !background ? candidates : 1}
              onChange={(e) => setCandidates(Number(e.target.value))}
              disabled={!remix || background !== null}
              aria-describedby={remix && background ? "candidates-hint" : undefined}
              data-testid="candidates-select"
            >
              {[1, 2, 3, 4].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            {remix && background && (
              <span className="hint" id="candidates-hint">
                {t("upload.backgroundOneCandidate")}
              </span>
            )}
          </label>
        </div>
        {/* previews rendered by our own remixer, served by the API (GET /v1/styles/{id}/preview) */}
        <fieldset className="style-gallery" disabled={!remix} data-testid="style-gallery">
          <legend>{t("upload.style")}</legend>
          <div className="gallery">
            {styles.map((s) => (
              <label
                key={s.id}
                className={`style-card${!background && s.id === style ? " selected" : ""}`}
                title={s.description}
                data-testid="style-option"
              >
                <input
                  type="radio"
                  name="style"
                  value={s.id}
                  checked={!background && s.id === style}
                  onChange={() => {
                    setStyle(s.id);
                    setBackground(null); // a style chosen again replaces the own background
                  }}
                />
                <img src={api.stylePreviewUrl(s.id)} alt="" loading="lazy" width={96} height={96} />
                <span>{styleName(s, lang)}</span>
              </label>
            ))}
          </div>
          <BackgroundPicker
            file={background}
            onChange={setBackground}
            onRejected={(name) => setNotes([t("upload.badType", { name })])}
          />
        </fieldset>
      </fieldset>

      <ErrorMessage error={error} prefix={errorFile} />
      <button type="submit" className="btn btn-primary btn-large" disabled={busy} data-testid="start-button">
        {busy ? t("upload.starting") : t("upload.start")}
      </button>
    </form>
  );
}

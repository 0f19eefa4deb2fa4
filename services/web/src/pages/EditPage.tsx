// Paint over the original: "erase" what clean should remove, "protect" what it must never
// touch; "run clean again" sends the strokes as masks (PNGs the browser draws and encodes, at
// the original's pixel size or, for a very large photo, scaled down to what a canvas holds:
// the server scales them back) and follows the new job. Strokes are kept in the original's
// pixels, so the preview can be any size on screen.

import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api, imagePath } from "../api/client";
import type { Job } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { useBlobUrl } from "../components/useBlobUrl";
import { useRerun } from "../components/useRerun";
import { useI18n } from "../i18n/I18nProvider";
import { errorMessage } from "../i18n/translate";
import { cleanMasksForm, drawStrokes, extendStroke, type BrushMode, type Stroke } from "../lib/mask";

// The preview canvas holds at most this many pixels on its longer side (CSS scales it).
const CANVAS_PX = 1600;
const BRUSH_MIN = 4;
const BRUSH_MAX = 160;
const BRUSH_DEFAULT = 32;

interface Size {
  width: number;
  height: number;
}

export function EditPage() {
  const { jobId = "", index = "0" } = useParams();
  const imageIndex = Number(index);
  const { t } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const original = useBlobUrl(jobId && Number.isInteger(imageIndex) ? `${imagePath(jobId, imageIndex)}/original` : null);

  useEffect(() => {
    api.job(jobId).then(setJob, setLoadError);
  }, [jobId]);

  const image = job?.images.find((i) => i.index === imageIndex);
  const back = `/jobs/${encodeURIComponent(jobId)}`;
  return (
    <section className="edit">
      <div className="page-head">
        <h1>
          {t("edit.title")}
          {image && <span className="muted filename"> · {image.filename}</span>}
        </h1>
        <Link to={back} className="btn btn-secondary">
          {t("edit.back")}
        </Link>
      </div>
      <ErrorMessage error={loadError} />
      {original.error ? (
        <p className="alert alert-error" role="alert">
          {errorMessage(t, original.error)}
        </p>
      ) : original.url ? (
        <BrushEditor jobId={jobId} imageIndex={imageIndex} imageUrl={original.url} alt={image?.filename ?? t("job.compareBefore")} />
      ) : (
        <p role="status">{t("job.imageLoading")}</p>
      )}
    </section>
  );
}

function BrushEditor({ jobId, imageIndex, imageUrl, alt }: { jobId: string; imageIndex: number; imageUrl: string; alt: string }) {
  const { t } = useI18n();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState<Size | null>(null);
  const [mode, setMode] = useState<BrushMode>("erase");
  const [brush, setBrush] = useState(BRUSH_DEFAULT);
  const [strokes, setStrokes] = useState<Stroke[]>([]);
  // the stroke under the pointer: a ref, so the moves between two renders all land in it
  const paintingRef = useRef<Stroke | null>(null);
  const [painting, setPainting] = useState<Stroke | null>(null);
  // the keyboard brush: a cursor in the original's pixels, shown while the canvas has focus
  const [cursor, setCursor] = useState<[number, number] | null>(null);
  const [focused, setFocused] = useState(false);
  const { pending, error, run } = useRerun();

  const scale = size ? Math.min(1, CANVAS_PX / Math.max(size.width, size.height)) : 1;

  // The brush size is in screen pixels: how big it looks is what the seller chose.
  const radiusInImage = useCallback((): number => {
    const canvas = canvasRef.current;
    const shown = canvas?.getBoundingClientRect().width || (canvas ? canvas.width : 0);
    if (!size || !shown) return brush / 2;
    return (brush / 2) * (size.width / shown);
  }, [brush, size]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !size) return;
    canvas.width = Math.max(1, Math.round(size.width * scale));
    canvas.height = Math.max(1, Math.round(size.height * scale));
    const context = canvas.getContext("2d");
    if (!context) return;
    context.clearRect(0, 0, canvas.width, canvas.height);
    drawStrokes(context, painting ? [...strokes, painting] : strokes, scale);
    if (focused && cursor) {
      context.lineWidth = 2;
      context.strokeStyle = mode === "erase" ? "#b91c1c" : "#15803d";
      context.beginPath();
      context.arc(cursor[0] * scale, cursor[1] * scale, Math.max(2, radiusInImage() * scale), 0, Math.PI * 2);
      context.stroke();
    }
  }, [size, scale, strokes, painting, focused, cursor, mode, radiusInImage]);

  function toImage(event: PointerEvent<HTMLCanvasElement>): [number, number] | null {
    const box = event.currentTarget.getBoundingClientRect();
    if (!size || box.width <= 0 || box.height <= 0) return null;
    return [((event.clientX - box.left) / box.width) * size.width, ((event.clientY - box.top) / box.height) * size.height];
  }

  function onPointerDown(event: PointerEvent<HTMLCanvasElement>) {
    const point = toImage(event);
    if (!point) return;
    event.preventDefault();
    event.currentTarget.setPointerCapture?.(event.pointerId);
    paintingRef.current = { mode, radius: radiusInImage(), points: [point] };
    setPainting(paintingRef.current);
  }

  function onPointerMove(event: PointerEvent<HTMLCanvasElement>) {
    const point = paintingRef.current ? toImage(event) : null;
    if (!paintingRef.current || !point) return;
    paintingRef.current = extendStroke(paintingRef.current, point[0], point[1]);
    setPainting(paintingRef.current);
  }

  function finishStroke() {
    const done = paintingRef.current;
    paintingRef.current = null;
    if (done) setStrokes((current) => [...current, done]);
    setPainting(null);
  }

  // Keyboard: arrows move the brush, Shift+arrows paint along the way, Space / Enter dabs.
  function onKeyDown(event: KeyboardEvent<HTMLCanvasElement>) {
    if (!size) return;
    const at = cursor ?? [size.width / 2, size.height / 2];
    const step = Math.max(1, radiusInImage());
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      setCursor(at);
      setStrokes((current) => [...current, { mode, radius: radiusInImage(), points: [at] }]);
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const next: [number, number] = [
      Math.min(size.width, Math.max(0, at[0] + move[0])),
      Math.min(size.height, Math.max(0, at[1] + move[1])),
    ];
    setCursor(next);
    if (event.shiftKey) setStrokes((current) => [...current, { mode, radius: radiusInImage(), points: [at, next] }]);
  }

  function submit() {
    if (!size || !strokes.length) return;
    const { width, height } = size;
    // the masks are drawn inside the pending state: a large photo takes a moment
    void run(async () => {
      const form = await cleanMasksForm(strokes, width, height);
      if (!form) throw new Error("nothing painted");
      return api.cleanImage(jobId, imageIndex, form);
    });
  }

  const busy = pending;
  return (
    <div className="brush-editor">
      <div className="brush-toolbar" role="group" aria-label={t("edit.tools")}>
        <div className="row" role="group" aria-label={t("edit.mode")}>
          <button
            type="button"
            className={`btn ${mode === "erase" ? "btn-primary" : "btn-secondary"}`}
            aria-pressed={mode === "erase"}
            onClick={() => setMode("erase")}
            data-testid="brush-mode-erase"
          >
            <span className="swatch swatch-erase" aria-hidden="true" /> {t("edit.erase")}
          </button>
          <button
            type="button"
            className={`btn ${mode === "protect" ? "btn-primary" : "btn-secondary"}`}
            aria-pressed={mode === "protect"}
            onClick={() => setMode("protect")}
            data-testid="brush-mode-protect"
          >
            <span className="swatch swatch-protect" aria-hidden="true" /> {t("edit.protect")}
          </button>
        </div>
        <label className="brush-size">
          {t("edit.brushSize", { n: brush })}
          <input
            type="range"
            min={BRUSH_MIN}
            max={BRUSH_MAX}
            step={2}
            value={brush}
            onChange={(e) => setBrush(Number(e.target.value))}
            data-testid="brush-size"
          />
        </label>
        <div className="row">
          <button
            type="button"
            className="btn btn-secondary"
            disabled={!strokes.length || busy}
            onClick={() => setStrokes((current) => current.slice(0, -1))}
            data-testid="brush-undo"
          >
            {t("edit.undo")}
          </button>
          <button type="button" className="btn btn-ghost" disabled={!strokes.length || busy} onClick={() => setStrokes([])} data-testid="brush-clear">
            {t("edit.clear")}
          </button>
        </div>
      </div>
      <p className="muted small" id="brush-hint">
        {t("edit.hint")}
      </p>
      <div className="brush-stage">
        <img
          src={imageUrl}
          alt={alt}
          onLoad={(e) => setSize({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          data-testid="brush-original"
        />
        <canvas
          ref={canvasRef}
          className="brush-canvas"
          role="img"
          tabIndex={0}
          aria-label={t("edit.canvasLabel", { n: strokes.length })}
          aria-describedby="brush-hint"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={finishStroke}
          onPointerCancel={finishStroke}
          onKeyDown={onKeyDown}
          onFocus={() => {
            setFocused(true);
            // show where the keyboard brush is: the middle until it is moved
            if (size) setCursor((current) => current ?? [size.width / 2, size.height / 2]);
          }}
          onBlur={() => setFocused(false)}
          data-testid="brush-canvas"
        />
      </div>
      {size && (
        <p className="muted small">
          {t("edit.maskSize", { w: size.width, h: size.height })}
        </p>
      )}
      <div className="row">
        <button type="button" className="btn btn-primary" disabled={!strokes.length || busy || !size} onClick={submit} data-testid="clean-submit">
          {busy ? t("rerun.pending") : t("edit.submit")}
        </button>
        {!strokes.length && <span className="muted small">{t("edit.paintFirst")}</span>}
      </div>
      <ErrorMessage error={error} />
    </div>
  );
}

// Crop one photo before upload: drag a rectangle on a preview, or type it / use the arrow keys.
// The rectangle is kept in the original's pixels and never under MIN_CROP_PX a side (the API
// refuses smaller photos). Loaded on first use: the upload page stays light.

import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { useI18n } from "../i18n/I18nProvider";
import {
  canCrop,
  clampCrop,
  containsPoint,
  cropToBlob,
  croppedName,
  croppedType,
  MIN_CROP_PX,
  moveRect,
  rectFromDrag,
  resizeRect,
  wholeImage,
  type Point,
  type Rect,
} from "../lib/crop";
import { Modal } from "./Modal";

// The preview canvas: at most this many pixels on its longer side (CSS scales it to fit).
const PREVIEW_PX = 640;

interface Drag {
  kind: "new" | "move";
  anchor: Point;
  start: Rect;
}

export default function CropDialog({ file, url, onCancel, onCropped }: { file: File; url: string; onCancel: () => void; onCropped: (file: File) => void }) {
  const { t } = useI18n();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const imageRef = useRef<HTMLImageElement | null>(null);
  const drag = useRef<Drag | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [rect, setRect] = useState<Rect | null>(null);
  const [state, setState] = useState<"loading" | "ready" | "unreadable" | "busy" | "failed">("loading");

  useEffect(() => {
    const image = new Image();
    image.onload = () => {
      imageRef.current = image;
      setSize({ width: image.naturalWidth, height: image.naturalHeight });
      setRect(wholeImage(image.naturalWidth, image.naturalHeight));
      setState("ready");
    };
    image.onerror = () => setState("unreadable");
    image.src = url;
    return () => {
      image.onload = null;
      image.onerror = null;
    };
  }, [url]);

  // Redraw the preview: the photo, the outside of the rectangle dimmed, the rectangle outlined.
  useEffect(() => {
    const canvas = canvasRef.current;
    const image = imageRef.current;
    if (!canvas || !image || !size || !rect) return;
    const scale = Math.min(1, PREVIEW_PX / Math.max(size.width, size.height));
    canvas.width = Math.max(1, Math.round(size.width * scale));
    canvas.height = Math.max(1, Math.round(size.height * scale));
    const context = canvas.getContext("2d");
    if (!context) return;
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const [x, y, w, h] = [rect.x * scale, rect.y * scale, rect.width * scale, rect.height * scale];
    context.fillStyle = "rgba(0, 0, 0, 0.55)";
    context.fillRect(0, 0, canvas.width, y);
    context.fillRect(0, y + h, canvas.width, canvas.height - y - h);
    context.fillRect(0, y, x, h);
    context.fillRect(x + w, y, canvas.width - x - w, h);
    context.lineWidth = 2;
    context.strokeStyle = "#fff";
    context.strokeRect(x + 1, y + 1, Math.max(0, w - 2), Math.max(0, h - 2));
  }, [size, rect]);

  const usable = size !== null && canCrop(size.width, size.height);

  function toImage(event: PointerEvent<HTMLCanvasElement>): Point | null {
    const box = event.currentTarget.getBoundingClientRect();
    if (!size || box.width <= 0 || box.height <= 0) return null;
    return {
      x: ((event.clientX - box.left) / box.width) * size.width,
      y: ((event.clientY - box.top) / box.height) * size.height,
    };
  }

  function onPointerDown(event: PointerEvent<HTMLCanvasElement>) {
    const point = toImage(event);
    if (!point || !rect || !size || !usable) return;
    event.currentTarget.setPointerCapture?.(event.pointerId);
    drag.current = { kind: containsPoint(rect, point) ? "move" : "new", anchor: point, start: rect };
    if (drag.current.kind === "new") setRect(rectFromDrag(point, point, size.width, size.height));
  }

  function onPointerMove(event: PointerEvent<HTMLCanvasElement>) {
    const current = drag.current;
    const point = toImage(event);
    if (!current || !point || !size) return;
    setRect(
      current.kind === "move"
        ? moveRect(current.start, point.x - current.anchor.x, point.y - current.anchor.y, size.width, size.height)
        : rectFromDrag(current.anchor, point, size.width, size.height),
    );
  }

  function onKeyDown(event: KeyboardEvent<HTMLCanvasElement>) {
    if (!size || !rect || !usable) return;
    const step = Math.max(1, Math.round(Math.max(size.width, size.height) / 100)) * (event.altKey ? 10 : 1);
    const delta: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = delta[event.key];
    if (!move) return;
    event.preventDefault();
    setRect(event.shiftKey ? resizeRect(rect, move[0], move[1], size.width, size.height) : moveRect(rect, move[0], move[1], size.width, size.height));
  }

  function setSide(name: keyof Rect, value: number) {
    if (!size || !rect) return;
    setRect(clampCrop({ ...rect, [name]: value }, size.width, size.height));
  }

  async function apply() {
    if (!rect || !imageRef.current) return;
    setState("busy");
    try {
      const type = croppedType(file.type);
      const blob = await cropToBlob(imageRef.current, rect, type);
      onCropped(new File([blob], croppedName(file.name, type), { type, lastModified: Date.now() }));
    } catch {
      setState("failed");
    }
  }

  return (
    <Modal title={t("crop.title", { name: file.name })} onClose={onCancel} testId="crop-dialog">
      {state === "loading" && <p role="status">{t("common.loading")}</p>}
      {state === "unreadable" && (
        <p className="alert alert-error" role="alert">
          {t("crop.unreadable")}
        </p>
      )}
      {size && !usable && (
        <p className="alert alert-warn" role="alert" data-testid="crop-too-small">
          {t("crop.tooSmall", { min: MIN_CROP_PX, w: size.width, h: size.height })}
        </p>
      )}
      {size && rect && usable && (
        <>
          <p className="muted small" id="crop-hint">
            {t("crop.hint", { min: MIN_CROP_PX })}
          </p>
          <canvas
            ref={canvasRef}
            className="crop-canvas"
            role="img"
            tabIndex={0}
            aria-label={t("crop.canvasLabel", { x: rect.x, y: rect.y, w: rect.width, h: rect.height })}
            aria-describedby="crop-hint"
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={() => (drag.current = null)}
            onPointerCancel={() => (drag.current = null)}
            onKeyDown={onKeyDown}
            data-testid="crop-canvas"
          />
          <div className="crop-fields">
            <CropNumber label={t("crop.x")} value={rect.x} min={0} max={size.width - rect.width} onCommit={(v) => setSide("x", v)} testId="crop-x" />
            <CropNumber label={t("crop.y")} value={rect.y} min={0} max={size.height - rect.height} onCommit={(v) => setSide("y", v)} testId="crop-y" />
            <CropNumber label={t("crop.width")} value={rect.width} min={MIN_CROP_PX} max={size.width} onCommit={(v) => setSide("width", v)} testId="crop-width" />
            <CropNumber label={t("crop.height")} value={rect.height} min={MIN_CROP_PX} max={size.height} onCommit={(v) => setSide("height", v)} testId="crop-height" />
          </div>
          <p className="small" aria-live="polite">
            {t("crop.size", { w: rect.width, h: rect.height, W: size.width, H: size.height })}
          </p>
        </>
      )}
      {state === "failed" && (
        <p className="alert alert-error" role="alert">
          {t("crop.failed")}
        </p>
      )}
      <div className="row modal-actions">
        {size && usable && (
          <button type="button" className="btn btn-ghost" onClick={() => setRect(wholeImage(size.width, size.height))}>
            {t("crop.reset")}
          </button>
        )}
        <button type="button" className="btn btn-secondary" onClick={onCancel} data-testid="crop-cancel">
          {t("crop.cancel")}
        </button>
        {size && usable && (
          <button type="button" className="btn btn-primary" onClick={apply} disabled={state === "busy"} data-testid="crop-apply">
            {state === "busy" ? t("crop.applying") : t("crop.apply")}
          </button>
        )}
      </div>
    </Modal>
  );
}

/** A number typed freely, applied (and clamped) on Enter or when focus leaves. */
function CropNumber({ label, value, min, max, onCommit, testId }: { label: string; value: number; min: number; max: number; onCommit: (value: number) => void; testId: string }) {
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft !== null && draft.trim() !== "" && Number.isFinite(Number(draft))) onCommit(Number(draft));
    setDraft(null);
  };
  return (
    <label className="small">
      {label}
      <input
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        step={1}
        value={draft ?? String(value)}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            commit();
          }
        }}
        data-testid={testId}
      />
    </label>
  );
}

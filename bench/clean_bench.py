"""``make bench-clean``: how well ``clean`` erases overlays, keeps product text, rebuilds.

On N synthetic cases (``bench.synthetic``: ground-truth overlay / product lines and the photo
before the overlays), in one run, for our ``Cleaner`` and for the naive baseline (every line
our detector finds -> quad mask -> one ``cv2.inpaint`` TELEA pass), it measures

* erase rate, product text kept: judged by an independent detector (``bench.second_detector``,
  PP-OCRv4) on the input and on the output, against the ground-truth lines;
* PSNR vs the clean photo, whole image and inside the overlay mask;
* texture: gradient energy inside the overlay mask relative to its 4-16 px ring;
* pixels changed far (> 12 px) from any overlay; seconds per image.

One JSON line per case and method as soon as it is measured, then a summary table with the
targets beside it. bench/README.md defines every metric exactly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bench.synthetic import (
    REPO_ROOT,
    GtLine,
    SyntheticCase,
    changed_mask,
    load_photo,
    make_case,
    real_photo_paths,
)
from globalpic_common.interfaces import ImageArray, MaskArray, TextDetector
from globalpic_common.schemas import TextAction, TextKind, TextLine, TextRegion
from globalpic_generation.quads import fill_quads

# Maps an RGB image to (output RGB, the text regions the method reports).
CleanFn = Callable[[ImageArray], tuple[ImageArray, list[TextRegion]]]

# A detection "is" a ground-truth line when their quads overlap by at least this share of the
# smaller of the two (so a detector that merges lines, or reads only a leftover fragment,
# still matches) ...
BOX_OVERLAP = 0.5
# ... and it reads at least this share of the line's distinct characters, or at least this
# share of its own characters are the line's (a leftover fragment like 包 of 包邮).
GT_CHAR_SHARE = 0.3
DET_CHAR_SHARE = 0.5
RING_INNER_PX, RING_OUTER_PX = 4, 16
FAR_PX = 12
PSNR_CAP_DB = 100.0

# Targets printed beside the summary: (metric, comparison, value).
TARGETS: dict[str, tuple[str, float]] = {
    "erase_rate": (">=", 0.98),
    "product_kept": (">=", 0.85),
    "psnr": (">=", 28.0),
    "psnr_mask": (">=", 20.0),
    "texture": ("within", 0.25),  # |texture - 1| <= 0.25
    "far_changed": ("<=", 0.002),
    "seconds": ("<=", 3.0),
}


# ----------------------------------------------------------------------------- matching


def text_chars(text: str) -> set[str]:
    """Distinct letters, digits and CJK characters, NFKC-folded (￥ -> ¥, Ａ -> a)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return {ch for ch in folded if ch.isalnum() or ch in "¥$%+"}


def _hull(quad: Sequence[tuple[float, float]]) -> npt.NDArray[np.float32]:
    pts = np.asarray(quad, np.float32).reshape(-1, 1, 2)
    return np.asarray(cv2.convexHull(pts), np.float32)


def quad_overlap(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    """Intersection area over the smaller quad's area (convex hulls), in [0, 1]."""
    ha, hb = _hull(a), _hull(b)
    area_a, area_b = float(cv2.contourArea(ha)), float(cv2.contourArea(hb))
    if min(area_a, area_b) <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(ha, hb)
    return min(1.0, float(inter) / min(area_a, area_b))


def reads_at(box: Sequence[tuple[float, float]], text: str, detection: TextLine) -> bool:
    """Whether ``detection`` reads (part of) ``text`` at ``box`` (shared by the real-photo eval)."""
    if quad_overlap(box, detection.box) < BOX_OVERLAP:
        return False
    gt, det = text_chars(text), text_chars(detection.text)
    if not gt or not det:
        return False
    shared = len(gt & det)
    return shared / len(gt) >= GT_CHAR_SHARE or shared / len(det) >= DET_CHAR_SHARE


def matches(line: GtLine, detection: TextLine) -> bool:
    """Whether ``detection`` reads (part of) the ground-truth ``line``."""
    return reads_at(line.box, line.text, detection)


def found(line: GtLine, detections: Sequence[TextLine]) -> bool:
    return any(matches(line, d) for d in detections)


# ----------------------------------------------------------------------------- pixel metrics


def psnr(a: ImageArray, b: ImageArray, mask: MaskArray | None = None) -> float | None:
    """PSNR in dB over all pixels, or over ``mask > 0`` (None when the mask is empty)."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        sel = mask > 0
        if not sel.any():
            return None
        diff = diff[sel]
    mse = float(np.mean(diff * diff))
    if mse <= 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10 * math.log10(255.0**2 / mse))


def gradient_energy(rgb: ImageArray, region: npt.NDArray[np.bool_]) -> float | None:
    """Mean squared Sobel gradient magnitude of the grey image over ``region``."""
    if not region.any():
        return None
    gray = rgb.astype(np.float32).mean(axis=2)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean((gx * gx + gy * gy)[region]))


def _dilate(mask: MaskArray, px: int) -> npt.NDArray[np.bool_]:
    if px <= 0:
        return mask > 0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return np.asarray(cv2.dilate(mask, kernel), np.uint8) > 0


def ring(
    mask: MaskArray, inner: int = RING_INNER_PX, outer: int = RING_OUTER_PX
) -> npt.NDArray[np.bool_]:
    """Pixels between ``inner`` and ``outer`` px away from the mask."""
    return _dilate(mask, outer) & ~_dilate(mask, inner)


def texture_ratio(rgb: ImageArray, mask: MaskArray) -> float | None:
    """Gradient energy inside ``mask`` over that of its ring (1 = as textured as around it)."""
    inside = gradient_energy(rgb, mask > 0)
    around = gradient_energy(rgb, ring(mask))
    if inside is None or around is None or around <= 1e-9:
        return None
    return inside / around


def far_changed_share(
    output: ImageArray, source: ImageArray, overlay_mask: MaskArray, px: int = FAR_PX
) -> float:
    """Share of the pixels farther than ``px`` from any overlay that the method changed."""
    far = ~_dilate(overlay_mask, px)
    if not far.any():
        return 0.0
    changed = changed_mask(output, source) > 0
    return float(np.count_nonzero(changed & far)) / float(np.count_nonzero(far))


# ----------------------------------------------------------------------------- per case


@dataclass
class CaseMetrics:
    seed: int
    source: str
    method: str
    overlay_lines: int  # ground-truth overlay lines in the case
    overlay_detectable: int  # ... that the judge finds on the input
    overlay_left: int  # ... of those, that the judge still finds on the output
    erase_rate: float | None  # 1 - left / detectable
    product_lines: int
    product_detectable: int
    product_kept: int
    product_kept_rate: float | None
    psnr: float | None
    psnr_mask: float | None
    texture: float | None  # texture ratio of the output over that of the clean photo
    texture_raw: float | None  # the output's own inside / ring gradient-energy ratio
    far_changed: float
    seconds: float
    left_styles: list[str] = field(default_factory=list)
    left_texts: list[str] = field(default_factory=list)
    lost_product: list[str] = field(default_factory=list)
    detectable_styles: list[str] = field(default_factory=list)


def evaluate_case(
    case: SyntheticCase,
    method: str,
    output: ImageArray,
    seconds: float,
    judged_input: Sequence[TextLine],
    judged_output: Sequence[TextLine],
) -> CaseMetrics:
    overlay_seen = [g for g in case.overlay_lines if found(g, judged_input)]
    overlay_left = [g for g in overlay_seen if found(g, judged_output)]
    product_seen = [g for g in case.product_lines if found(g, judged_input)]
    product_kept = [g for g in product_seen if found(g, judged_output)]
    raw = texture_ratio(output, case.overlay_mask)
    reference = texture_ratio(case.clean, case.overlay_mask)
    texture = raw / reference if raw is not None and reference else None
    return CaseMetrics(
        seed=case.seed,
        source=case.source,
        method=method,
        overlay_lines=len(case.overlay_lines),
        overlay_detectable=len(overlay_seen),
        overlay_left=len(overlay_left),
        erase_rate=1 - len(overlay_left) / len(overlay_seen) if overlay_seen else None,
        product_lines=len(case.product_lines),
        product_detectable=len(product_seen),
        product_kept=len(product_kept),
        product_kept_rate=len(product_kept) / len(product_seen) if product_seen else None,
        psnr=psnr(output, case.clean),
        psnr_mask=psnr(output, case.clean, case.overlay_mask),
        texture=texture,
        texture_raw=raw,
        far_changed=far_changed_share(output, case.image, case.overlay_mask),
        seconds=seconds,
        left_styles=[g.style for g in overlay_left],
        left_texts=[g.text for g in overlay_left],
        lost_product=[g.text for g in product_seen if g not in product_kept],
        detectable_styles=[g.style for g in overlay_seen],
    )


# ----------------------------------------------------------------------------- summary


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def summarize(rows: Sequence[CaseMetrics]) -> dict[str, Any]:
    """Pooled rates (over all lines of all cases) and per-case means."""
    detectable = sum(r.overlay_detectable for r in rows)
    left = sum(r.overlay_left for r in rows)
    product_seen = sum(r.product_detectable for r in rows)
    kept = sum(r.product_kept for r in rows)
    by_style: dict[str, dict[str, int]] = {}
    for r in rows:
        for style in r.detectable_styles:
            by_style.setdefault(style, {"detectable": 0, "left": 0})["detectable"] += 1
        for style in r.left_styles:
            by_style.setdefault(style, {"detectable": 0, "left": 0})["left"] += 1
    textures = [r.texture for r in rows if r.texture is not None]
    return {
        "cases": len(rows),
        "overlay_lines": sum(r.overlay_lines for r in rows),
        "overlay_detectable": detectable,
        "overlay_left": left,
        "erase_rate": 1 - left / detectable if detectable else None,
        "product_lines": sum(r.product_lines for r in rows),
        "product_detectable": product_seen,
        "product_kept_lines": kept,
        "product_kept": kept / product_seen if product_seen else None,
        "psnr": _mean([r.psnr for r in rows]),
        "psnr_mask": _mean([r.psnr_mask for r in rows]),
        "texture": statistics.median(textures) if textures else None,
        "texture_within_25pct": (
            sum(abs(t - 1) <= 0.25 for t in textures) / len(textures) if textures else None
        ),
        "far_changed": _mean([r.far_changed for r in rows]),
        "seconds": _mean([r.seconds for r in rows]),
        "left_by_style": dict(sorted(by_style.items())),
    }


def meets(metric: str, value: float | None) -> bool | None:
    if value is None or metric not in TARGETS:
        return None
    op, target = TARGETS[metric]
    if op == ">=":
        return value >= target
    if op == "<=":
        return value <= target
    return abs(value - 1) <= target


def _target_text(metric: str) -> str:
    op, target = TARGETS[metric]
    if op == "within":
        return f"1 ± {target:.2f}"
    if metric in ("erase_rate", "product_kept", "far_changed"):
        return f"{op} {target * 100:g}%"
    return f"{op} {target:g}"


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric in ("erase_rate", "product_kept"):
        return f"{value * 100:.1f}%"
    if metric == "far_changed":
        return f"{value * 100:.3f}%"
    if metric in ("psnr", "psnr_mask"):
        return f"{value:.2f} dB"
    if metric == "seconds":
        return f"{value:.2f} s"
    return f"{value:.3f}"


def format_summary(summaries: dict[str, dict[str, Any]]) -> str:
    methods = list(summaries)
    labels = {
        "erase_rate": "erase rate (judge)", "product_kept": "product text kept",
        "psnr": "PSNR whole", "psnr_mask": "PSNR in overlay mask",
        "texture": "texture (median, vs clean)", "far_changed": "changed > 12 px away",
        "seconds": "seconds / image",
    }  # fmt: skip
    width = max(len(v) for v in labels.values()) + 2
    header = "metric".ljust(width) + "".join(m.rjust(14) for m in methods) + "   target"
    lines = [header, "-" * len(header)]
    for metric, label in labels.items():
        row = label.ljust(width)
        for m in methods:
            value = summaries[m].get(metric)
            ok = meets(metric, value)
            mark = "" if ok is None else (" ✓" if ok else " ✗")
            row += (_fmt(metric, value) + mark).rjust(14)
        lines.append(row + "   " + _target_text(metric))
    for m in methods:
        s = summaries[m]
        lines.append(
            f"{m}: {s['cases']} cases, overlay lines {s['overlay_lines']} "
            f"(judge finds {s['overlay_detectable']} on the input, {s['overlay_left']} left), "
            f"product lines {s['product_lines']} (judge finds {s['product_detectable']}, "
            f"{s['product_kept_lines']} kept)"
        )
        left = {k: v for k, v in s["left_by_style"].items() if v["left"]}
        if left:
            lines.append(
                "  left by style: "
                + ", ".join(f"{k} {v['left']}/{v['detectable']}" for k, v in left.items())
            )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- methods


def baseline_fn(detector: TextDetector) -> CleanFn:
    """The naive baseline: erase every detected line's quad with one TELEA inpaint (r = 3)."""

    def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        lines = detector.detect(rgb)
        mask = fill_quads(rgb.shape[:2], [line.box for line in lines])
        out = rgb.copy() if not mask.any() else np.asarray(
            cv2.inpaint(rgb, mask, 3, cv2.INPAINT_TELEA), np.uint8
        )  # fmt: skip
        regions = [
            TextRegion(box=line.box, text=line.text, confidence=line.confidence,
                       kind=TextKind.OVERLAY, action=TextAction.ERASED, overlay_score=1.0)
            for line in lines
        ]  # fmt: skip
        return out, regions

    return run


def ours_fn() -> CleanFn:
    """The lead's ``Cleaner`` with default settings and options (models loaded once)."""
    from globalpic_pipeline.clean import Cleaner, CleanOptions

    cleaner = Cleaner.from_settings()
    cleaner.load()

    def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        result = cleaner.clean(rgb, CleanOptions())
        return result.image, list(result.regions)

    return run


# ----------------------------------------------------------------------------- cases


def build_cases(n: int, size: int, bases: str, first_seed: int = 0) -> Iterator[SyntheticCase]:
    """``mixed``: alternate real photos (when present) and procedural scenes."""
    paths = real_photo_paths() if bases in ("mixed", "real") else []
    if bases == "real" and not paths:
        raise SystemExit("--bases real: no photos in ../shared/data/realworld/products")
    for i in range(n):
        seed = first_seed + i
        use_real = bool(paths) and (bases == "real" or i % 2 == 1)
        if use_real:
            path = paths[(i // (1 if bases == "real" else 2)) % len(paths)]
            yield make_case(seed, load_photo(path, size), size, source=f"photo:{path.name}")
        else:
            yield make_case(seed, None, size)


def run_realworld(methods: dict[str, CleanFn]) -> dict[str, Any] | None:
    """``bench.realworld.evaluate(clean_fn, baseline_fn)`` when that module exists."""
    if not (REPO_ROOT / "bench" / "realworld.py").is_file():
        print("real-photo evaluation skipped: bench/realworld.py does not exist", flush=True)
        return None
    module = importlib.import_module("bench.realworld")
    evaluate = getattr(module, "evaluate", None)
    if not callable(evaluate):
        print("real-photo evaluation skipped: bench.realworld has no evaluate()", flush=True)
        return None
    if "ours" not in methods or "baseline" not in methods:
        print("real-photo evaluation skipped: it needs both ours and the baseline", flush=True)
        return None
    result = evaluate(methods["ours"], methods["baseline"])
    return result if isinstance(result, dict) else {"result": result}


def _save(directory: Path, case: SyntheticCase, method: str, output: ImageArray) -> None:
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    stem = f"case{case.seed:03d}"
    if not (directory / f"{stem}_input.jpg").exists():
        Image.fromarray(case.image).save(directory / f"{stem}_input.jpg", quality=90)
    Image.fromarray(output).save(directory / f"{stem}_{method}.jpg", quality=90)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="erase benchmark on synthetic cases")
    parser.add_argument("--n", type=int, default=20, help="number of synthetic cases")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--bases", choices=("mixed", "procedural", "real"), default="mixed")
    parser.add_argument("--methods", default="ours,baseline", help="comma list: ours,baseline")
    parser.add_argument("--json-out", type=Path, default=REPO_ROOT / "bench/results/clean.json")
    parser.add_argument("--save-dir", type=Path, default=None, help="write input/output JPEGs")
    parser.add_argument("--no-realworld", action="store_true")
    args = parser.parse_args(argv)

    from bench.second_detector import SecondDetector
    from globalpic_ocr.detector import build_detector

    judge = SecondDetector()
    judge.load()
    methods: dict[str, CleanFn] = {}
    for name in [m.strip() for m in args.methods.split(",") if m.strip()]:
        if name == "baseline":
            detector = build_detector()
            load = getattr(detector, "load", None)
            if callable(load):
                load()
            methods[name] = baseline_fn(detector)
        elif name == "ours":
            try:
                methods[name] = ours_fn()
            except Exception as exc:  # report and go on with the baseline: a broken
                # pipeline must not hide the baseline's numbers
                print(f"our method unavailable, skipped: {type(exc).__name__}: {exc}", flush=True)
        else:
            parser.error(f"unknown method {name!r}")

    # RapidOCR's shared logger warns on every image without text (an erased one, say);
    # each engine resets its level when it loads, so quieten it once all have loaded.
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    rows: dict[str, list[CaseMetrics]] = {m: [] for m in methods}
    for case in build_cases(args.n, args.size, args.bases, args.first_seed):
        judged_input = judge.detect(case.image)
        for name, fn in methods.items():
            start = time.perf_counter()
            output, _regions = fn(case.image)
            seconds = time.perf_counter() - start
            metrics = evaluate_case(case, name, output, seconds, judged_input, judge.detect(output))
            rows[name].append(metrics)
            print(json.dumps(asdict(metrics), ensure_ascii=False), flush=True)
            if args.save_dir is not None:
                _save(args.save_dir, case, name, output)

    summaries = {name: summarize(r) for name, r in rows.items() if r}
    print()
    print(format_summary(summaries), flush=True)
    realworld = None if args.no_realworld else run_realworld(methods)
    if realworld is not None:
        print(json.dumps({"realworld": realworld}, ensure_ascii=False, default=str), flush=True)
    report = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "judge": judge.name,
        "targets": TARGETS,
        "summary": summaries,
        "cases": {name: [asdict(r) for r in r_list] for name, r_list in rows.items()},
        "realworld": realworld,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"wrote {args.json_out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

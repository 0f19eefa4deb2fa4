"""Real-photo evaluation: overlay text erased, product / scene text kept, on labelled photos.

The photos of ``<repo>/../shared/data/realworld/text`` and ``.../posters`` (never copied into
the repo) have their text lines labelled overlay / product / scene in ``bench/labels``
(detected lines, plus hand-drawn ``missed_by_detector`` lines no detector found), split tune /
test by source (``bench.splits``).

``make bench-clean`` uses ``real_photos`` and ``judge_photo``: every labelled line counts,
judged by two OCR judges and the pixels (bench/README.md, "Real photos").

``python -m bench.realworld`` is the older quick look: our ``Cleaner`` against the naive
baseline on ``text/`` only, counting only the lines RapidOCR finds on the input, plus the
classifier's confusion; ``--classifier-only`` runs just the overlay classifier on the labelled
boxes (with the real U²-Net-p product mask): no OCR, no erasing, seconds for the whole set.
Without ``/work/shared`` both report that they skipped and exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from bench.clean_metrics import (
    LineVerdict,
    OutputJudge,
    changed_share,
    keep_verdict,
    overlay_verdict_real,
    quad_mask,
    quad_overlap,
    reads_at,
    uncertain_keep,
)
from bench.colour import mean_delta_e2000
from bench.splits import Split, split_of, wanted
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter, TextDetector
from globalpic_common.schemas import TextKind, TextLine, TextRegion

REPO_ROOT = Path(__file__).resolve().parent.parent
REALWORLD_DIR = REPO_ROOT.parent / "shared" / "data" / "realworld"
TEXT_DIR = REALWORLD_DIR / "text"
POSTERS_DIR = REALWORLD_DIR / "posters"
LABELS_PATH = REPO_ROOT / "bench" / "labels" / "realworld_text.json"
# Extra hand-drawn lines of the text/ photos that no detector found (missed_by_detector).
MISSED_LABELS_PATH = REPO_ROOT / "bench" / "labels" / "realworld_text_missed.json"
POSTER_LABELS_PATH = REPO_ROOT / "bench" / "labels" / "realworld_posters.json"

# Maps an RGB image to (output RGB, the text regions the method reports).
CleanFn = Callable[[ImageArray], tuple[ImageArray, list[TextRegion]]]
Printer = Callable[[str], None]

LABELS = ("overlay", "product", "scene")
KEEP_LABELS = ("product", "scene")
UNMATCHED = "unmatched"
# A detection reads a labelled line when the quads overlap by this share of the smaller one
# and they share enough characters (same rule as bench.clean_bench, so a line the detector
# now merges with its neighbour, or reads as a fragment, still counts).
# A reported region describes a labelled line when their quads overlap this much.
REGION_OVERLAP = 0.5
TARGETS = {"overlay_erased": 0.95, "keep_kept": 0.85}


@dataclass(frozen=True)
class LabelledLine:
    box: list[tuple[float, float]]
    text: str
    label: str  # "overlay" | "product" | "scene"
    missed_by_detector: bool = False  # hand-drawn: no detector found it

    @property
    def kind(self) -> str:
        return self.label

    def as_text_line(self) -> TextLine:
        return TextLine(box=self.box, text=self.text, confidence=1.0)


# ----------------------------------------------------------------------------- data


def load_labels(
    path: Path = LABELS_PATH, missed_default: bool = False
) -> dict[str, list[LabelledLine]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    labels: dict[str, list[LabelledLine]] = {}
    for name, items in raw.items():
        lines = []
        for item in items:
            if item["label"] not in LABELS:
                raise ValueError(f"{path}: {name}: unknown label {item['label']!r}")
            box = [(float(x), float(y)) for x, y in item["box"]]
            missed = bool(item.get("missed_by_detector", missed_default))
            lines.append(LabelledLine(box, str(item["text"]), item["label"], missed))
        labels[name] = lines
    return labels


def read_rgb(path: Path) -> ImageArray:
    """Decode directly (several photos are under the CLI's 512 px minimum on purpose)."""
    with Image.open(path) as img:
        rgb = (ImageOps.exif_transpose(img) or img).convert("RGB")
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def labelled_photos(
    text_dir: Path, labels: dict[str, list[LabelledLine]]
) -> tuple[list[tuple[str, Path, list[LabelledLine]]], list[str]]:
    """(photos present with their labels, labelled names whose file is missing)."""
    present, missing = [], []
    for name, lines in sorted(labels.items()):
        path = text_dir / name
        if path.is_file():
            present.append((name, path, lines))
        else:
            missing.append(name)
    return present, missing


@dataclass(frozen=True)
class RealPhoto:
    """One labelled real photo of the clean bench: ``relpath`` under ``REALWORLD_DIR``."""

    relpath: str
    path: Path
    split: Split
    lines: list[LabelledLine]


def real_photos(
    selection: str = "both",
    root: Path = REALWORLD_DIR,
    label_files: Sequence[tuple[str, Path, bool]] | None = None,
    out: Printer = print,
) -> list[RealPhoto]:
    """The labelled photos of ``text/`` and ``posters/`` in the ``selection`` split(s), with
    every labelled line (detected and hand-drawn). ``label_files``: (folder, labels file,
    lines are missed_by_detector by default); a missing labels file or photo is reported."""
    if label_files is None:
        label_files = [
            ("text", LABELS_PATH, False),
            ("text", MISSED_LABELS_PATH, True),
            ("posters", POSTER_LABELS_PATH, False),
        ]
    by_photo: dict[str, list[LabelledLine]] = {}
    for folder, labels_path, missed in label_files:
        if not labels_path.is_file():
            out(f"realworld: {labels_path.name} not found: its lines are not counted")
            continue
        for name, lines in load_labels(labels_path, missed).items():
            by_photo.setdefault(f"{folder}/{name}", []).extend(lines)
    photos, absent = [], []
    for relpath, lines in sorted(by_photo.items()):
        split = split_of(relpath)
        if not wanted(split, selection):
            continue
        path = root / relpath
        if path.is_file():
            photos.append(RealPhoto(relpath, path, split, lines))
        else:
            absent.append(relpath)
    if absent:
        out(f"realworld: {len(absent)} labelled photos missing: {', '.join(absent)}")
    return photos


def judge_photo(
    photo: RealPhoto,
    rgb: ImageArray,
    output: ImageArray,
    regions: Sequence[TextRegion],
    on_input: Mapping[str, Sequence[TextLine]],
    on_output: OutputJudge,
) -> list[LineVerdict]:
    """Every labelled line of one photo after one method (bench/README.md, "Real photos")."""
    verdicts = []
    for line in photo.lines:
        box = quad_mask(rgb.shape, line.box)
        if line.label == "overlay":
            verdicts.append(
                overlay_verdict_real(
                    line, changed_share(output, rgb, box), on_input, on_output,
                    uncertain=uncertain_keep(line, regions),
                    missed_by_detector=line.missed_by_detector,
                )
            )  # fmt: skip
        else:
            verdicts.append(
                keep_verdict(
                    line, mean_delta_e2000(output, rgb, box), on_input, on_output,
                    missed_by_detector=line.missed_by_detector,
                )
            )  # fmt: skip
    return verdicts


# ----------------------------------------------------------------------------- matching


def reads(line: LabelledLine, detection: TextLine) -> bool:
    """Whether ``detection`` reads (part of) the labelled ``line`` at its place."""
    return reads_at(line.box, line.text, detection)


def redetected(line: LabelledLine, detections: Sequence[TextLine]) -> bool:
    return any(reads(line, d) for d in detections)


def region_kind(line: LabelledLine, regions: Sequence[TextRegion]) -> str:
    """The kind of the reported region that best overlaps ``line``, or ``"unmatched"``."""
    best, best_overlap = UNMATCHED, REGION_OVERLAP
    for region in regions:
        overlap = quad_overlap(line.box, region.box)
        if overlap >= best_overlap:
            best, best_overlap = region.kind.value, overlap
    return best


def confusion_rates(confusion: Counter[tuple[str, str]]) -> dict[str, float | None]:
    """Overlay recall (labelled overlay called overlay) and keep rate (product / scene lines
    not called overlay; unmatched lines count as not called)."""
    overlay = sum(n for (label, _), n in confusion.items() if label == "overlay")
    caught = confusion[("overlay", "overlay")]
    keep = sum(n for (label, _), n in confusion.items() if label in KEEP_LABELS)
    spared = keep - sum(confusion[(label, "overlay")] for label in KEEP_LABELS)
    return {
        "overlay_called_overlay": caught / overlay if overlay else None,
        "keep_not_called_overlay": spared / keep if keep else None,
    }


def confusion_table(confusion: Counter[tuple[str, str]]) -> str:
    kinds = [*LABELS, UNMATCHED]
    header = "label \\ called".ljust(16) + "".join(k.rjust(11) for k in kinds)
    rows = [header]
    for label in LABELS:
        rows.append(label.ljust(16) + "".join(str(confusion[(label, k)]).rjust(11) for k in kinds))
    return "\n".join(rows)


def _confusion_json(confusion: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    return {label: {k: confusion[(label, k)] for k in (*LABELS, UNMATCHED)} for label in LABELS}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


# ----------------------------------------------------------------------------- evaluate


def _skipped(text_dir: Path, out: Printer) -> dict[str, Any]:
    out(f"realworld: {text_dir} not found: skipped (the photos live outside the repo)")
    return {"skipped": f"{text_dir} not found", "images": 0}


def evaluate(
    clean_fn: CleanFn,
    baseline_fn: CleanFn,
    *,
    text_dir: Path = TEXT_DIR,
    labels_path: Path = LABELS_PATH,
    detector: TextDetector | None = None,
    out: Printer = print,
) -> dict[str, Any]:
    """Run both methods on every labelled photo present; print per-image lines and a summary.

    Returns ``{"images", "missing", "methods": {name: summary}, "per_image": [...]}``, or
    ``{"skipped": reason, "images": 0}`` when the photo directory is absent.
    """
    if not text_dir.is_dir():
        return _skipped(text_dir, out)
    photos, missing = labelled_photos(text_dir, load_labels(labels_path))
    if missing:
        out(f"realworld: {len(missing)} labelled photos missing: {', '.join(missing)}")
    if detector is None:
        from globalpic_ocr.detector import RapidOcrDetector

        detector = RapidOcrDetector()
    methods = {"ours": clean_fn, "baseline": baseline_fn}
    totals = {m: Counter[str]() for m in methods}
    confusions = {m: Counter[tuple[str, str]]() for m in methods}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    per_image: list[dict[str, Any]] = []
    for name, path, lines in photos:
        rgb = read_rgb(path)
        on_input = detector.detect(rgb)
        # Only lines the judge finds on the input can be judged erased or kept.
        judged = [line for line in lines if redetected(line, on_input)]
        for method, fn in methods.items():
            start = time.perf_counter()
            output, regions = fn(rgb)
            seconds[method].append(time.perf_counter() - start)
            on_output = detector.detect(output)
            counts = Counter[str]()
            lost: list[str] = []
            left: list[str] = []
            for line in lines:
                confusions[method][(line.label, region_kind(line, regions))] += 1
            for line in judged:
                found = redetected(line, on_output)
                group = "overlay" if line.label == "overlay" else "keep"
                counts[f"{group}_lines"] += 1
                if group == "overlay" and not found:
                    counts["overlay_erased"] += 1
                elif group == "overlay":
                    left.append(line.text)
                elif found:
                    counts["keep_kept"] += 1
                else:
                    lost.append(line.text)
            totals[method].update(counts)
            per_image.append(
                {"image": name, "method": method, "lines": len(lines),
                 "judged": len(judged), **counts, "overlay_left": left, "keep_lost": lost}
            )  # fmt: skip
            out(
                f"{name:28s} {method:8s} overlay erased {counts['overlay_erased']}/"
                f"{counts['overlay_lines']}  product/scene kept {counts['keep_kept']}/"
                f"{counts['keep_lines']}  {seconds[method][-1]:.1f}s"
                + (f"  left: {' | '.join(left)}" if left else "")
                + (f"  lost: {' | '.join(lost)}" if lost else "")
            )
    summary: dict[str, Any] = {}
    for method in methods:
        t = totals[method]
        summary[method] = {
            "overlay_lines": t["overlay_lines"],
            "overlay_erased": _share(t["overlay_erased"], t["overlay_lines"]),
            "keep_lines": t["keep_lines"],
            "keep_kept": _share(t["keep_kept"], t["keep_lines"]),
            "seconds_per_image": float(np.mean(seconds[method])) if seconds[method] else None,
            "classifier": confusion_rates(confusions[method]),
            "confusion": _confusion_json(confusions[method]),
        }
    out("")
    out(f"{len(photos)} photos, {sum(len(p[2]) for p in photos)} labelled lines")
    for method, s in summary.items():
        out(
            f"{method:8s} overlay erased {_pct(s['overlay_erased'])} of {s['overlay_lines']} "
            f"(target >= {TARGETS['overlay_erased']:.0%}), product/scene kept "
            f"{_pct(s['keep_kept'])} of {s['keep_lines']} (target >= {TARGETS['keep_kept']:.0%})"
        )
        out(confusion_table(confusions[method]))
    return {"images": len(photos), "missing": missing, "methods": summary, "per_image": per_image}


# ----------------------------------------------------------------------------- classifier only


def classifier_only(
    *,
    text_dir: Path = TEXT_DIR,
    labels_path: Path = LABELS_PATH,
    segmenter: Segmenter | None = None,
    out: Printer = print,
) -> dict[str, Any]:
    """The overlay classifier alone on the labelled boxes (no OCR, no erasing)."""
    from globalpic_ocr.overlay import classify_lines

    if not text_dir.is_dir():
        return _skipped(text_dir, out)
    photos, missing = labelled_photos(text_dir, load_labels(labels_path))
    confusion = Counter[tuple[str, str]]()
    seconds: list[float] = []
    per_image: list[dict[str, Any]] = []
    for name, path, lines in photos:
        rgb = read_rgb(path)
        alpha: AlphaArray | None = segmenter.segment(rgb) if segmenter is not None else None
        start = time.perf_counter()
        decisions = classify_lines(rgb, [line.as_text_line() for line in lines], alpha)
        seconds.append(time.perf_counter() - start)
        wrong = []
        image_confusion = Counter[tuple[str, str]]()
        for i, (line, decision) in enumerate(zip(lines, decisions, strict=True)):
            image_confusion[(line.label, decision.kind.value)] += 1
            if (line.label == "overlay") != (decision.kind == TextKind.OVERLAY):
                wrong.append(f"#{i} {line.text} ({line.label}, score {decision.overlay_score:.2f})")
        confusion.update(image_confusion)
        rates = confusion_rates(image_confusion)
        per_image.append({"image": name, "lines": len(lines), "wrong": wrong, **rates})
        out(
            f"{name:28s} lines {len(lines):3d}  overlay caught "
            f"{_pct(rates['overlay_called_overlay']):>6s}  product/scene spared "
            f"{_pct(rates['keep_not_called_overlay']):>6s}  {seconds[-1] * 1000:.0f} ms"
            + (f"  wrong: {'; '.join(wrong)}" if wrong else "")
        )
    rates = confusion_rates(confusion)
    out("")
    mask_name = "U2-Net-p" if segmenter is not None else "none"
    out(
        f"{len(photos)} photos, {sum(confusion.values())} labelled lines, product mask: {mask_name}"
    )
    caught, spared = rates["overlay_called_overlay"], rates["keep_not_called_overlay"]
    out(f"overlay lines called overlay: {_pct(caught)}  "
        f"product/scene lines not called overlay: {_pct(spared)}")  # fmt: skip
    out(confusion_table(confusion))
    out(f"classifier seconds per image: mean {np.mean(seconds):.3f}, max {np.max(seconds):.3f}")
    return {
        "images": len(photos),
        "missing": missing,
        "product_mask": segmenter is not None,
        **rates,
        "confusion": _confusion_json(confusion),
        "seconds_mean": float(np.mean(seconds)) if seconds else None,
        "per_image": per_image,
    }


def classifier_telea_fn(detector: TextDetector, segmenter: Segmenter | None) -> CleanFn:
    """Our classifier with the naive eraser: OCR, U²-Net-p mask, ``classify_lines``, then one
    TELEA inpaint over the quads called overlay. Separates the classifier's share of the
    result from the generation service's (and runs before that service exists)."""
    import cv2

    from globalpic_common.schemas import TextAction
    from globalpic_generation.quads import fill_quads
    from globalpic_ocr.overlay import classify_lines

    def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        lines = detector.detect(rgb)
        alpha = segmenter.segment(rgb) if segmenter is not None else None
        decisions = classify_lines(rgb, lines, alpha)
        erase = [d.kind == TextKind.OVERLAY for d in decisions]
        mask = fill_quads(rgb.shape[:2], [ln.box for ln, e in zip(lines, erase, strict=True) if e])
        out = rgb.copy()
        if mask.any():
            out = np.asarray(cv2.inpaint(rgb, mask, 3, cv2.INPAINT_TELEA), np.uint8)
        regions = [
            TextRegion(box=ln.box, text=ln.text, confidence=ln.confidence, kind=d.kind,
                       action=TextAction.ERASED if e else TextAction.KEPT,
                       overlay_score=d.overlay_score, cues=d.cues)
            for ln, d, e in zip(lines, decisions, erase, strict=True)
        ]  # fmt: skip
        return out, regions

    return run


def _segmenter_or_none(out: Printer) -> Segmenter | None:
    from globalpic_common.errors import ModelUnavailableError
    from globalpic_segmentation.registry import build_segmenter

    segmenter = build_segmenter()
    try:
        load = getattr(segmenter, "load", None)
        if callable(load):
            load()
    except ModelUnavailableError as exc:
        out(f"realworld: no product mask ({exc}); classifying without one")
        return None
    return segmenter


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realworld", description=__doc__)
    parser.add_argument("--classifier-only", action="store_true",
                        help="classify the labelled boxes only (no OCR, no erasing)")  # fmt: skip
    parser.add_argument("--ours", choices=("cleaner", "classifier-telea"), default="cleaner",
                        help="our method: the full Cleaner, or the classifier with a plain "
                        "TELEA eraser")  # fmt: skip
    parser.add_argument("--text-dir", type=Path, default=TEXT_DIR)
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    if args.classifier_only:
        result = classifier_only(
            text_dir=args.text_dir,
            segmenter=_segmenter_or_none(print) if args.text_dir.is_dir() else None,
        )
    elif not args.text_dir.is_dir():
        result = _skipped(args.text_dir, print)
    else:
        from bench.clean_methods import baseline_fn, ours_fn
        from globalpic_ocr.detector import RapidOcrDetector

        detector = RapidOcrDetector()
        ours = (
            ours_fn()
            if args.ours == "cleaner"
            else classifier_telea_fn(detector, _segmenter_or_none(print))
        )
        result = evaluate(ours, baseline_fn(detector), text_dir=args.text_dir, detector=detector)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

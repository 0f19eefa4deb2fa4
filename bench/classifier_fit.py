"""Tune the overlay classifier on the TUNE split only, and report its decision rates there.

Issue 12 splits every evaluation set by source. This script only ever opens:

* the labelled real photos of ``bench/labels/realworld_text.json`` whose file name does NOT
  start with ``paddleclas_`` (the ``paddleclas_*`` photos and ``posters/`` are the test split);
* synthetic cases from ``bench.synthetic.make_case`` (the tune generator), on procedural scenes
  and on the real product photos that are not ``paddleclas_*``.

For every line it runs ``classify_lines`` (the production code) with the product mask of the
configured segmenter, and counts the decision: erased (``overlay``), kept but uncertain, kept.
Real lines are the labelled boxes; synthetic lines are RapidOCR's detections matched to the
drawn ground truth (``bench.clean_bench.reads_at``), so boxes look as they do in production.

    python -m bench.classifier_fit                 # rates on the tune split
    python -m bench.classifier_fit --fit           # + a logistic refit of the cue weights
    python -m bench.classifier_fit --list-wrong    # + every product line not kept / overlay kept
    python -m bench.classifier_fit --cues          # + how well each cue separates the labels
    python -m bench.classifier_fit --search        # + a coordinate search of weights / ERASE_AT

The product masks and OCR lines are cached under ``--cache`` (default /tmp/globalpic_clsfit),
so re-running after a classifier change costs only the classification (~0.1 s per image).
Without ``../shared`` the real part is skipped; the synthetic part always runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.clean_bench import reads_at
from bench.realworld import LABELS_PATH, TEXT_DIR, labelled_photos, load_labels, read_rgb
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_common.schemas import LineDecision, TextLine
from globalpic_ocr import overlay
from globalpic_ocr.overlay import CUE_WEIGHTS, classify_lines

# File-name prefix of the real photos that belong to the TEST split (never opened here).
TEST_PREFIXES = ("paddleclas_",)
DEFAULT_CACHE = Path("/tmp/globalpic_clsfit")
TARGET_KEEP = 0.97
TARGET_ERASE = 0.95


@dataclass(frozen=True)
class Sample:
    source: str  # "real:<name>" or "synthetic:<seed>"
    text: str
    label: str  # overlay | product | scene
    decision: LineDecision


def is_tune(name: str) -> bool:
    return not name.startswith(TEST_PREFIXES)


@lru_cache(maxsize=1)
def segmenter() -> tuple[str, Segmenter]:
    """The configured segmenter (IS-Net by default), or U²-Net-p when its weights are not
    installed: the cues read the mask through ``product_alpha`` only."""
    from globalpic_common.errors import ModelUnavailableError
    from globalpic_segmentation.registry import build_segmenter
    from globalpic_segmentation.settings import SegmentationSettings
    from globalpic_segmentation.u2net import U2NetSegmenter

    settings = SegmentationSettings()
    chosen = build_segmenter(settings)
    try:
        load = getattr(chosen, "load", None)
        if callable(load):
            load()
        return str(settings.segmenter), chosen
    except ModelUnavailableError as exc:
        print(f"classifier_fit: {exc}; using U²-Net-p")
        return "u2netp", U2NetSegmenter(settings)


def _segment(cache: Path, key: str, rgb: ImageArray) -> AlphaArray:
    name, model = segmenter()
    path = cache / f"alpha_{name}_{key}.npy"
    if path.is_file():
        return np.asarray(np.load(path), np.float32)
    alpha = model.segment(rgb)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(alpha, np.float16))
    return alpha


def real_samples(cache: Path, text_dir: Path = TEXT_DIR) -> list[Sample]:
    if not text_dir.is_dir():
        print(f"classifier_fit: {text_dir} not found: real photos skipped")
        return []
    labels = {k: v for k, v in load_labels(LABELS_PATH).items() if is_tune(k)}
    photos, _ = labelled_photos(text_dir, labels)
    samples = []
    for name, path, lines in photos:
        rgb = read_rgb(path)
        alpha = _segment(cache, f"real_{name}", rgb)
        decisions = classify_lines(rgb, [line.as_text_line() for line in lines], alpha)
        for line, decision in zip(lines, decisions, strict=True):
            samples.append(Sample(f"real:{name}", line.text, line.label, decision))
    return samples


def _ocr(cache: Path, key: str, rgb: ImageArray) -> list[TextLine]:
    path = cache / f"ocr_{key}.json"
    if path.is_file():
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [TextLine.model_validate(item) for item in raw]
    from globalpic_ocr.detector import RapidOcrDetector

    lines = RapidOcrDetector().detect(rgb)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([line.model_dump() for line in lines]), encoding="utf-8")
    return lines


def synthetic_samples(cache: Path, seeds: Sequence[int], size: int = 1024) -> list[Sample]:
    """RapidOCR lines of ``make_case`` images (alternating procedural / tune real product
    photo bases), labelled by the drawn line they read; unmatched detections are skipped."""
    from bench.synthetic import load_photo, make_case, real_photo_paths

    paths = [p for p in real_photo_paths() if is_tune(p.name)]
    samples = []
    for i, seed in enumerate(seeds):
        base = load_photo(paths[(i // 2) % len(paths)], size) if paths and i % 2 else None
        case = make_case(seed, base, size)
        key = f"syn_{seed}_{size}_{'photo' if base is not None else 'proc'}"
        lines = _ocr(cache, key, case.image)
        alpha = _segment(cache, key, case.image)
        decisions = classify_lines(case.image, lines, alpha)
        for line, decision in zip(lines, decisions, strict=True):
            truth = [
                gt
                for gt in case.lines
                if reads_at([(float(x), float(y)) for x, y in gt.box], gt.text, line)
            ]
            if not truth:
                continue
            label = "overlay" if any(gt.kind == "overlay" for gt in truth) else "product"
            samples.append(Sample(f"synthetic:{seed}", line.text, label, decision))
    return samples


# --------------------------------------------------------------------------------------------


def outcome(decision: LineDecision) -> str:
    if decision.kind.value == "overlay":
        return "erased"
    return "uncertain" if decision.uncertain else "kept"


def rates(samples: Sequence[Sample]) -> dict[str, Any]:
    counts = Counter((s.label == "overlay", outcome(s.decision)) for s in samples)
    overlays = sum(n for (is_overlay, _), n in counts.items() if is_overlay)
    keeps = sum(n for (is_overlay, _), n in counts.items() if not is_overlay)
    return {
        "overlay_lines": overlays,
        "overlay_erased": counts[(True, "erased")] / overlays if overlays else None,
        "overlay_uncertain": counts[(True, "uncertain")] / overlays if overlays else None,
        "keep_lines": keeps,
        "keep_kept": 1 - counts[(False, "erased")] / keeps if keeps else None,
        "keep_uncertain": counts[(False, "uncertain")] / keeps if keeps else None,
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def report(name: str, samples: Sequence[Sample]) -> dict[str, Any]:
    r = rates(samples)
    print(
        f"{name:10s} overlay lines {r['overlay_lines']:4d}: erased {_pct(r['overlay_erased'])} "
        f"(uncertain {_pct(r['overlay_uncertain'])}, target >= {TARGET_ERASE:.0%})  "
        f"product/scene lines {r['keep_lines']:4d}: kept {_pct(r['keep_kept'])} "
        f"(of which uncertain {_pct(r['keep_uncertain'])}, target >= {TARGET_KEEP:.0%})"
    )
    return r


def fit_weights(samples: Sequence[Sample], l2: float = 0.003, keep_weight: float = 3.0) -> None:
    """A logistic regression of overlay-vs-not on the weighted cues, started from and
    regularised towards the current weights; keep lines weigh ``keep_weight`` x (their
    errors cost more). Printed for a person to round and copy, never applied."""
    names = list(CUE_WEIGHTS)
    x = np.array([[s.decision.cues.get(n, 0.0) for n in names] for s in samples], np.float64)
    y = np.array([s.label == "overlay" for s in samples], np.float64)
    sw = np.where(y > 0, 1.0, keep_weight)
    prior = np.array([CUE_WEIGHTS[n] for n in names])
    from globalpic_ocr.overlay import BIAS

    w = np.concatenate([[BIAS], prior])
    xb = np.hstack([np.ones((len(x), 1)), x])
    reg = np.concatenate([[0.0], np.full(len(names), l2 * len(x))])
    centre = np.concatenate([[BIAS], prior])
    for _ in range(50):  # Newton steps
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (sw * (p - y)) + reg * (w - centre)
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-6)
        w = w - np.linalg.solve(hess, grad)
    print("refit (bias, then weights):")
    print(f"  BIAS {w[0]:+.2f}")
    for n, v, old in zip(names, w[1:], prior, strict=True):
        print(f"  {n:18s} {v:+.2f}   (now {old:+.1f})")


def _erases(cues: dict[str, float], weights: dict[str, float], bias: float, at: float) -> bool:
    """The production rule (``overlay._decide``) with other weights / threshold, on stored cues
    (a sibling tile's ``tile_score`` is kept as measured)."""
    z = bias + sum(w * cues.get(n, 0.0) for n, w in weights.items())
    score = max(1.0 / (1.0 + math.exp(-z)), cues.get("tile_score", 0.0))
    printed = overlay.product_evidence(cues) >= overlay.PRINT_EVIDENCE
    return score >= overlay.SURE_AT or (score >= at and not printed)


def search(real: Sequence[Sample], synthetic: Sequence[Sample], rounds: int = 3) -> None:
    """Coordinate search (steps of 0.5, threshold steps of 0.05) for the weights and erase
    threshold that erase the most overlay lines (real + synthetic) while keeping >= TARGET_KEEP
    of the product / scene lines in both. Printed for a person to judge and copy."""
    groups = [list(real), list(synthetic)]

    def objective(weights: dict[str, float], bias: float, at: float) -> float:
        total = 0.0
        for group in groups:
            over = [s for s in group if s.label == "overlay"]
            keep = [s for s in group if s.label != "overlay"]
            erased = sum(_erases(s.decision.cues, weights, bias, at) for s in over)
            lost = sum(_erases(s.decision.cues, weights, bias, at) for s in keep)
            kept = 1 - lost / max(1, len(keep))
            total += erased / max(1, len(over)) - 10.0 * max(0.0, TARGET_KEEP - kept)
        return total

    weights, bias, at = dict(CUE_WEIGHTS), overlay.BIAS, overlay.ERASE_AT
    best = objective(weights, bias, at)
    print(f"search: start objective {best:.4f}")
    for _ in range(rounds):
        for name in ["bias", "erase_at", *weights]:
            steps = (-0.05, 0.05) if name == "erase_at" else (-0.5, 0.5)
            for step in steps:
                w, b, a = dict(weights), bias, at
                if name == "bias":
                    b += step
                elif name == "erase_at":
                    a = round(a + step, 2)
                else:
                    w[name] += step
                value = objective(w, b, a)
                if value > best + 1e-9:
                    best, weights, bias, at = value, w, b, a
                    print(f"  {name} {step:+} -> objective {best:.4f}")
    print(f"search: BIAS {bias}, ERASE_AT {at}")
    for n, v in weights.items():
        if v != CUE_WEIGHTS[n]:
            print(f"  {n}: {CUE_WEIGHTS[n]} -> {v}")


def cue_table(samples: Sequence[Sample]) -> None:
    """Per cue: share of overlay and of product/scene lines where it is >= 0.5 (or <= -0.5
    for a negative one), and its mean: how well each cue separates on this split."""
    names = sorted({n for s in samples for n in s.decision.cues})
    groups = {
        "overlay": [s for s in samples if s.label == "overlay"],
        "keep": [s for s in samples if s.label != "overlay"],
    }
    print(f"  {'cue':20s}" + "".join(f"{g + ' >=.5':>14s}{g + ' mean':>14s}" for g in groups))
    for n in names:
        row = f"  {n:20s}"
        for members in groups.values():
            v = np.array([s.decision.cues.get(n, 0.0) for s in members])
            share = float(np.mean(np.abs(v) >= 0.5)) if v.size else 0.0
            row += f"{share:14.2f}{float(v.mean()) if v.size else 0.0:14.2f}"
        print(row)


def list_wrong(samples: Sequence[Sample]) -> None:
    for s in samples:
        o = outcome(s.decision)
        wrong = (s.label == "overlay") != (o == "erased")
        if wrong or o == "uncertain":
            cues = {k: v for k, v in s.decision.cues.items() if v}
            print(f"  {'WRONG' if wrong else 'unsure'} {s.source} {s.label}->{o} "
                  f"{s.text!r} {s.decision.overlay_score:.2f} {cues}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classifier_fit", description=__doc__)
    parser.add_argument("--seeds", type=int, default=30, help="synthetic seeds 0..N-1")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--list-wrong", action="store_true")
    parser.add_argument("--cues", action="store_true", help="per-cue separation table")
    parser.add_argument("--search", action="store_true", help="coordinate search of weights")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    real = real_samples(args.cache)
    synthetic = synthetic_samples(args.cache, range(args.seeds))
    result = {"real_tune": report("real", real), "synthetic_tune": report("synthetic", synthetic)}
    if args.cues:
        for name, group in (("real", real), ("synthetic", synthetic)):
            print(f"cues, {name}:")
            cue_table(group)
    if args.list_wrong:
        list_wrong([*real, *synthetic])
    if args.fit:
        fit_weights([*real, *synthetic])
    if args.search:
        search(real, synthetic)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench-extract``: how close ``extract``'s matte is to the exact alpha.

Two splits (issue 12's generalisation discipline): **tune** = the composites with exact alpha
(``bench.composites``), which the methods may be tuned on, and **test** = the held-out set
(``bench.heldout``: its ``clean`` images, truth = its ``product_mask``), which nothing is
tuned on. In one run, per split, it measures every refinement method of
``globalpic_segmentation.extract.Extractor`` (the default marked ``*``), variants of the
default with one step switched off (``VARIANTS``) and the baselines, on two coarse maps:

* U²-Net-p (320 px): ``baseline`` is its alpha at 0.5, ``<method>`` a refinement of it;
* IS-Net (DIS, 1024 px, ``globalpic_segmentation.isnet``): ``isnet`` is its alpha at 0.5,
  ``isnet+<method>`` a refinement of it (the extractor's zoom pass then runs IS-Net).

Metrics:

* IoU of ``alpha >= 0.5`` with the true ``alpha >= 0.5``: mean and 10th percentile;
* boundary F-measure of those masks, tolerance 0.4 % of the image diagonal;
* alpha MAE (mean absolute difference of the soft mattes, 0-1; against the held-out set's
  hard product mask on the test split);
* wall seconds per image and per stage (``segment`` is the network on the full frame, shared
  by all methods on that network; ``zoom`` its second run on the products' crop).

Composites holding several products (``multi-*``) run ``ExtractMode.ALL``, the others
``ExtractMode.SALIENT``. One JSON line per case and method as soon as it is measured, then per
split the summary table with the targets, then a per-kind table; everything goes to
``--json-out`` (default ``bench/results/extract.json``). bench/README.md explains the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bench.composites import Composite, build_composites
from bench.synthetic import REPO_ROOT
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_common.results import ExtractMode
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from globalpic_segmentation.isnet import IsNetSegmenter
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter

BoolMask = npt.NDArray[np.bool_]

BASELINE = "baseline"  # U²-Net-p's alpha at 0.5
ISNET = "isnet"  # IS-Net's alpha at 0.5; "isnet+<method>" refines IS-Net's map
ISNET_PREFIX = f"{ISNET}+"
SPLITS = ("tune", "test")
# The default refinement with one step switched off, to measure what that step buys.
# IS-Net already works at 1024 px: the "-no-zoom" ones show whether its zoom pass (a second
# IS-Net run, ~2 s) still buys anything there.
VARIANTS: dict[str, dict[str, Any]] = {
    "grabcut-matting-no-zoom": {
        "extract_refine": RefineMethod.GRABCUT_MATTING,
        "extract_zoom": False,
    },
    "grabcut-no-zoom": {"extract_refine": RefineMethod.GRABCUT, "extract_zoom": False},
    "matting-no-zoom": {"extract_refine": RefineMethod.MATTING, "extract_zoom": False},
    "none-no-zoom": {"extract_refine": RefineMethod.NONE, "extract_zoom": False},
}
# Boundary pixels match when they lie within this share of the image diagonal of each other.
BOUNDARY_TOLERANCE = 0.004
DEFAULT_JSON = REPO_ROOT / "bench" / "results" / "extract.json"

Targets = dict[str, tuple[str, float]]
# Targets printed beside the summary: metric -> (comparison, value). The tune split keeps the
# U²-Net-p era's targets; issue 12 sets the held-out (test) split's.
TARGETS: Targets = {
    "iou_mean": (">=", 0.97),
    "iou_p10": (">=", 0.90),
    "boundary_f": (">=", 0.95),
    "seconds": ("<=", 1.5),
}
TEST_TARGETS: Targets = {
    "iou_mean": (">=", 0.985),
    "iou_p10": (">=", 0.97),
    "boundary_f": (">=", 0.97),
    "seconds": ("<=", 3.0),
}


@dataclass(frozen=True)
class BenchCase:
    """A held-out case as the bench scores it (a ``Composite`` has the same fields)."""

    name: str
    kind: str
    image: ImageArray
    alpha: AlphaArray  # the truth: exact alpha, or a hard 0/1 product mask


Case = Composite | BenchCase


def heldout_bench_cases(n: int, size: int) -> list[BenchCase]:
    """The TEST split: ``bench.heldout``'s clean images (no overlay text) with their
    product masks as truth. Imported here: it needs the CJK fonts to render."""
    from bench.heldout import heldout_cases

    return [
        BenchCase(
            name=f"heldout-{i:02d}",
            kind="heldout",
            image=case.clean,
            alpha=(case.product_mask >= 128).astype(np.float32),
        )
        for i, case in enumerate(heldout_cases(n, size))
    ]


# ----------------------------------------------------------------------------- metrics


def iou(pred: BoolMask, true: BoolMask) -> float:
    """Intersection over union of two masks (1.0 when both are empty)."""
    union = int(np.count_nonzero(pred | true))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & true)) / union


def boundary(mask: BoolMask) -> BoolMask:
    """The mask's pixels that have a 4-neighbour outside it (the image border counts)."""
    eroded = cv2.erode(
        mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT
    )
    return np.asarray(mask & (np.asarray(eroded, np.uint8) == 0), np.bool_)


def boundary_f(pred: BoolMask, true: BoolMask, tolerance_px: float) -> float:
    """Boundary F-measure (Martin et al. / DAVIS): F1 of boundary precision and recall.

    A predicted boundary pixel is right when a true boundary pixel lies within
    ``tolerance_px`` (Euclidean), and the other way round for recall.
    """
    bp, bt = boundary(pred), boundary(true)
    if not bp.any() and not bt.any():
        return 1.0
    if not bp.any() or not bt.any():
        return 0.0
    to_true = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    to_pred = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    precision = float(np.mean(np.asarray(to_true)[bp] <= tolerance_px))
    recall = float(np.mean(np.asarray(to_pred)[bt] <= tolerance_px))
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def alpha_mae(pred: AlphaArray, true: AlphaArray) -> float:
    return float(np.mean(np.abs(pred.astype(np.float64) - true.astype(np.float64))))


def tolerance_px(shape: tuple[int, ...]) -> float:
    return BOUNDARY_TOLERANCE * math.hypot(shape[0], shape[1])


# ----------------------------------------------------------------------------- per case


@dataclass
class CaseMetrics:
    name: str
    kind: str
    method: str
    iou: float
    boundary_f: float
    mae: float
    seconds: float  # total per image, the segmenter included
    stages: dict[str, float] = field(default_factory=dict)


def evaluate(
    composite: Case, method: str, alpha: AlphaArray, stages: dict[str, float]
) -> CaseMetrics:
    true = composite.alpha >= 0.5
    pred = alpha >= 0.5
    return CaseMetrics(
        name=composite.name,
        kind=composite.kind,
        method=method,
        iou=iou(pred, true),
        boundary_f=boundary_f(pred, true, tolerance_px(true.shape)),
        mae=alpha_mae(alpha, composite.alpha),
        seconds=float(sum(stages.values())),
        stages=dict(stages),
    )


def mode_for(composite: Case) -> ExtractMode:
    """``multi-*`` composites hold several products and are scored on all of them."""
    return ExtractMode.ALL if composite.name.startswith("multi") else ExtractMode.SALIENT


def method_names() -> list[str]:
    """Every refinement the bench knows, refinements first, then the variants (each also
    exists on IS-Net's map as ``isnet+<name>``)."""
    return [m.value for m in RefineMethod] + list(VARIANTS)


def split_method(name: str) -> tuple[str, str | None]:
    """``name`` -> (network, refinement or None for the plain map at 0.5)."""
    if name == BASELINE:
        return "u2netp", None
    if name == ISNET:
        return ISNET, None
    if name.startswith(ISNET_PREFIX):
        return ISNET, name.removeprefix(ISNET_PREFIX)
    return "u2netp", name


def method_settings(name: str) -> ExtractSettings:
    """The extract settings a method name stands for (the defaults for everything else)."""
    refine = split_method(name)[1]
    assert refine is not None, "a plain map has no extract settings"
    if refine in VARIANTS:
        return ExtractSettings(**VARIANTS[refine])
    return ExtractSettings(extract_refine=RefineMethod(refine))


def method_label(name: str) -> str:
    default = ExtractSettings.model_fields["extract_refine"].default
    _, refine = split_method(name)
    return f"{name}{' *' if refine == default.value else ''}"


def _timed_segment(segmenter: Segmenter, image: ImageArray) -> tuple[AlphaArray, float]:
    start = time.perf_counter()
    alpha = segmenter.segment(image)
    return alpha, time.perf_counter() - start


def run_case(
    composite: Case,
    segmenter: Segmenter,
    methods: Sequence[str],
    baseline: bool,
    isnet: Segmenter | None = None,
) -> list[CaseMetrics]:
    """Run each network once, then score its plain map and every refinement of that same
    coarse map. ``isnet`` is needed only for the ``isnet`` / ``isnet+*`` methods."""
    networks: dict[str, Segmenter] = {"u2netp": segmenter}
    if isnet is not None:
        networks[ISNET] = isnet
    wanted = [BASELINE] * baseline + list(methods)
    coarse: dict[str, tuple[AlphaArray, float]] = {}
    rows = []
    for method in wanted:
        network, refine = split_method(method)
        if network not in networks:
            raise SystemExit(f"method {method} needs the {network} segmenter")
        if network not in coarse:
            coarse[network] = _timed_segment(networks[network], composite.image)
        alpha, segment_s = coarse[network]
        if refine is None:
            rows.append(evaluate(composite, method, alpha, {"segment": segment_s}))
            continue
        extractor = Extractor(networks[network], method_settings(method))
        cutout = extractor.extract(composite.image, mode_for(composite), coarse=alpha)
        stages = {"segment": segment_s, **cutout.seconds}
        # ``refine`` is the sum of the sub-stages the refinement reported: keep one of them.
        stages.pop("refine", None)
        rows.append(evaluate(composite, method, cutout.alpha, stages))
    return rows


# ----------------------------------------------------------------------------- summary


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, np.float64), q))


def summarize(rows: Sequence[CaseMetrics]) -> dict[str, Any]:
    """Means (and the 10th-percentile IoU) over ``rows`` of one method."""
    stages: dict[str, list[float]] = {}
    for row in rows:
        for stage, value in row.stages.items():
            stages.setdefault(stage, []).append(value)
    return {
        "cases": len(rows),
        "iou_mean": statistics.fmean(r.iou for r in rows),
        "iou_p10": percentile([r.iou for r in rows], 10),
        "boundary_f": statistics.fmean(r.boundary_f for r in rows),
        "mae": statistics.fmean(r.mae for r in rows),
        "seconds": statistics.fmean(r.seconds for r in rows),
        # A stage a method skipped on some images counts 0 s there.
        "stages": {k: sum(v) / len(rows) for k, v in stages.items()},
    }


def meets(metric: str, value: float, targets: Targets | None = None) -> bool | None:
    targets = TARGETS if targets is None else targets
    if metric not in targets:
        return None
    op, target = targets[metric]
    return value >= target if op == ">=" else value <= target


def _cell(metric: str, value: float, digits: int = 3, targets: Targets | None = None) -> str:
    ok = meets(metric, value, targets)
    mark = "" if ok is None else (" ✓" if ok else " ✗")
    return f"{value:.{digits}f}{mark}"


def format_summary(summaries: dict[str, dict[str, Any]], targets: Targets | None = None) -> str:
    targets = TARGETS if targets is None else targets
    header = (
        f"{'method':<28} {'IoU mean':>10} {'IoU p10':>10} {'boundary F':>11} {'alpha MAE':>10} "
        f"{'s/image':>9}  stages (s/image)"
    )
    legend = "  ".join(f"{k} {op} {v}" for k, (op, v) in targets.items())
    lines = [header, "-" * len(header)]
    for name, s in summaries.items():
        stages = ", ".join(f"{k} {v:.2f}" for k, v in s["stages"].items())
        cells = [
            f"{_cell('iou_mean', s['iou_mean'], targets=targets):>10}",
            f"{_cell('iou_p10', s['iou_p10'], targets=targets):>10}",
            f"{_cell('boundary_f', s['boundary_f'], targets=targets):>11}",
            f"{s['mae']:>10.4f}",
            f"{_cell('seconds', s['seconds'], 2, targets):>9}",
        ]
        lines.append(f"{name:<28} {' '.join(cells)}  {stages}")
    lines.append(f"targets: {legend}   (* = default refinement)")
    return "\n".join(lines)


def format_by_kind(by_kind: dict[str, dict[str, dict[str, Any]]]) -> str:
    """IoU mean / boundary F / MAE per background family and method."""
    methods = list(next(iter(by_kind.values())).keys()) if by_kind else []
    header = f"{'kind':<15} {'n':>3}  " + "  ".join(f"{m:>24}" for m in methods)
    lines = [header, " " * 21 + "  ".join(f"{'IoU / bF / MAE':>24}" for _ in methods)]
    for kind, per_method in by_kind.items():
        n = next(iter(per_method.values()))["cases"]
        cells = [
            f"{s['iou_mean']:.3f} / {s['boundary_f']:.3f} / {s['mae']:.4f}"
            for s in per_method.values()
        ]
        lines.append(f"{kind:<15} {n:>3}  " + "  ".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def run(
    composites: Sequence[Case],
    segmenter: Segmenter,
    methods: Sequence[str],
    baseline: bool = True,
    echo: bool = True,
    isnet: Segmenter | None = None,
) -> tuple[list[CaseMetrics], dict[str, Any]]:
    """Score every method on ``composites``; returns the rows and the summaries."""
    rows: list[CaseMetrics] = []
    for composite in composites:
        for row in run_case(composite, segmenter, methods, baseline, isnet):
            rows.append(row)
            if echo:
                print(json.dumps(asdict(row)), flush=True)
    labels = ([BASELINE] if baseline else []) + list(methods)
    display = {BASELINE: BASELINE} | {m: method_label(m) for m in methods}
    summaries = {display[m]: summarize([r for r in rows if r.method == m]) for m in labels}
    kinds = sorted({r.kind for r in rows})
    by_kind = {
        kind: {
            display[m]: summarize([r for r in rows if r.method == m and r.kind == kind])
            for m in labels
        }
        for kind in kinds
    }
    return rows, {"summary": summaries, "by_kind": by_kind}


def parse_methods(text: str) -> tuple[list[str], bool]:
    """Comma list -> (method names, with baseline?). ``all`` stands for the baseline and every
    refinement method, ``variants`` for every entry of ``VARIANTS``; ``isnet-all`` and
    ``isnet-variants`` for the same on IS-Net's map (``isnet`` and ``isnet+<method>``)."""
    names: list[str] = []
    refinements = [m.value for m in RefineMethod]
    for name in (n.strip() for n in text.split(",")):
        if name == "all":
            names += [BASELINE, *refinements]
        elif name == "variants":
            names += list(VARIANTS)
        elif name == "isnet-all":
            names += [ISNET, *(ISNET_PREFIX + m for m in refinements)]
        elif name == "isnet-variants":
            names += [ISNET_PREFIX + v for v in VARIANTS]
        elif name:
            names.append(name)
    valid = method_names()
    unknown = [n for n in names if n not in (BASELINE, ISNET) and split_method(n)[1] not in valid]
    if unknown:
        raise SystemExit(
            f"unknown method(s) {unknown}: use {BASELINE}, {ISNET}, {', '.join(valid)}, "
            f"isnet+<method>, all, variants, isnet-all, isnet-variants"
        )
    methods = [n for n in dict.fromkeys(names) if n != BASELINE]
    return methods, BASELINE in names


def _print_report(split: str, report: dict[str, Any], targets: Targets) -> None:
    print(f"\n== {split} split ==")
    print(format_summary(report["summary"], targets))
    print()
    print(format_by_kind(report["by_kind"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract_bench", description=__doc__)
    parser.add_argument("--n", type=int, default=24, help="tune composites (24)")
    parser.add_argument("--test-n", type=int, default=24, help="held-out test cases (24)")
    parser.add_argument("--seed", type=int, default=0, help="composite set seed (0)")
    parser.add_argument("--size", type=int, default=1024, help="side in px (1024)")
    parser.add_argument(
        "--split",
        default="tune,test",
        help="comma list: tune (composites), test (held-out set); default both",
    )
    parser.add_argument(
        "--methods",
        default="all,variants,isnet-all,isnet-variants",
        help="comma list of names, 'all' (baseline + refinements), 'variants', 'isnet-all' "
        "(isnet + isnet+<refinement>), 'isnet-variants'",
    )
    parser.add_argument(
        "--no-photos", action="store_true", help="procedural backgrounds only (no ../shared)"
    )
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    methods, baseline = parse_methods(args.methods)
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    if not splits or any(s not in SPLITS for s in splits):
        raise SystemExit(f"--split takes a comma list of {', '.join(SPLITS)}")
    settings = SegmentationSettings()
    segmenter = U2NetSegmenter(settings)
    Extractor(segmenter, ExtractSettings()).load()  # model + matting library: not charged
    isnet: IsNetSegmenter | None = None
    if any(split_method(m)[0] == ISNET for m in methods):
        isnet = IsNetSegmenter(settings)
        isnet.load()
    payload: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    reports: dict[str, dict[str, Any]] = {}
    for split in splits:
        started = time.perf_counter()
        cases: Sequence[Case]
        if split == "tune":
            cases = build_composites(args.n, args.seed, args.size, photos=not args.no_photos)
        else:
            cases = heldout_bench_cases(args.test_n, args.size)
        print(f"{split}: built {len(cases)} cases in {time.perf_counter() - started:.1f} s")
        rows, report = run(cases, segmenter, methods, baseline, isnet=isnet)
        reports[split] = report
        payload[split] = {"rows": [asdict(r) for r in rows], **report}
    for split, report in reports.items():
        _print_report(split, report, TEST_TARGETS if split == "test" else TARGETS)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(payload, indent=2))
    print(f"\nresults: {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

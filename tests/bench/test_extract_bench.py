"""Metric code of the extract benchmark on known answers, and a run on two tiny composites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.composites import Composite, build_composites
from bench.extract_bench import (
    BASELINE,
    CaseMetrics,
    alpha_mae,
    boundary,
    boundary_f,
    evaluate,
    format_by_kind,
    format_summary,
    iou,
    meets,
    mode_for,
    parse_methods,
    run,
    summarize,
    tolerance_px,
)
from globalpic_common.results import ExtractMode
from globalpic_segmentation.extract_settings import RefineMethod
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter


def square(x0: int, y0: int, side: int, size: int = 100) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[y0 : y0 + side, x0 : x0 + side] = True
    return mask


@pytest.fixture(scope="module")
def tiny_set() -> list[Composite]:
    return build_composites(2, seed=0, size=256, photos=False)


def test_iou_known_answers() -> None:
    a = square(10, 10, 20)
    assert iou(a, a) == 1.0
    assert iou(a, square(60, 60, 20)) == 0.0
    assert iou(a, square(20, 10, 20)) == pytest.approx(200 / 600)  # half of each overlaps
    empty = np.zeros_like(a)
    assert iou(empty, empty) == 1.0


def test_boundary_is_the_one_pixel_outline() -> None:
    outline = boundary(square(10, 10, 5))
    assert outline.sum() == 16  # 5 x 5 square: 25 - 9 interior pixels


def test_boundary_f_known_answers() -> None:
    a = square(20, 20, 40)
    assert boundary_f(a, a, 1.0) == 1.0
    assert boundary_f(a, square(21, 20, 40), 2.0) == 1.0  # 1 px off, within tolerance
    shifted = boundary_f(a, square(30, 20, 40), 2.0)
    assert 0.0 < shifted < 0.7  # only the top and bottom edges still match, partly
    assert boundary_f(a, np.zeros_like(a), 2.0) == 0.0
    assert tolerance_px((1024, 1024)) == pytest.approx(0.004 * 1024 * 2**0.5)


def test_alpha_mae() -> None:
    a = np.zeros((10, 10), np.float32)
    b = a.copy()
    b[:5] = 0.5  # half the pixels off by 0.5
    assert alpha_mae(a, b) == pytest.approx(0.25)


def test_evaluate_the_true_alpha_is_perfect(tiny_set: list[Composite]) -> None:
    comp = tiny_set[0]
    row = evaluate(comp, "oracle", comp.alpha, {"segment": 0.1, "matting": 0.2})
    assert row.iou == 1.0 and row.boundary_f == 1.0 and row.mae == 0.0
    assert row.seconds == pytest.approx(0.3)
    dilated = evaluate(comp, "grown", np.maximum(comp.alpha, np.roll(comp.alpha, 12, 1)), {})
    assert dilated.iou < 1.0 and dilated.boundary_f < 1.0 and dilated.mae > 0.0


def _row(method: str, value: float, seconds: float) -> CaseMetrics:
    return CaseMetrics("c", "gradient", method, value, value, 1 - value, seconds, {"x": seconds})


def test_summary_means_percentile_and_targets() -> None:
    rows = [_row("m", v, s) for v, s in [(1.0, 1.0), (0.9, 2.0), (0.5, 3.0), (0.8, 2.0)]]
    summary = summarize(rows)
    assert summary["iou_mean"] == pytest.approx(0.8)
    assert summary["iou_p10"] == pytest.approx(np.percentile([1.0, 0.9, 0.5, 0.8], 10))
    assert summary["seconds"] == pytest.approx(2.0) and summary["stages"] == {"x": 2.0}
    assert meets("iou_mean", 0.97) is True and meets("iou_mean", 0.96) is False
    assert meets("seconds", 1.6) is False and meets("mae", 0.1) is None
    table = format_summary({"m": summary})
    assert "0.800 ✗" in table and "2.00 ✗" in table


def test_parse_methods() -> None:
    assert parse_methods("all") == (list(RefineMethod), True)
    assert parse_methods("baseline,grabcut") == ([RefineMethod.GRABCUT], True)
    assert parse_methods("matting") == ([RefineMethod.MATTING], False)
    with pytest.raises(SystemExit):
        parse_methods("magic")


def test_bench_runs_every_method_on_tiny_composites(
    tiny_set: list[Composite], tiny_models_env: Path
) -> None:
    segmenter = U2NetSegmenter(SegmentationSettings())  # the tiny model, via the environment
    rows, report = run(tiny_set, segmenter, list(RefineMethod), echo=False)
    assert len(rows) == len(tiny_set) * (1 + len(RefineMethod))
    assert {r.method for r in rows} == {BASELINE, *(m.value for m in RefineMethod)}
    for row in rows:
        assert 0.0 <= row.iou <= 1.0 and 0.0 <= row.boundary_f <= 1.0 and 0.0 <= row.mae <= 1.0
        assert "segment" in row.stages and row.seconds >= row.stages["segment"]
    summary = report["summary"]
    assert "grabcut-matting *" in summary  # the default is marked
    assert set(report["by_kind"]) == {c.kind for c in tiny_set}
    assert "baseline" in format_summary(summary)
    assert "IoU / bF / MAE" in format_by_kind(report["by_kind"])


def test_multi_product_composites_run_in_all_mode(tiny_set: list[Composite]) -> None:
    assert mode_for(tiny_set[0]) is ExtractMode.SALIENT
    multi = next(
        c for c in build_composites(5, size=128, photos=False) if c.name.startswith("multi")
    )
    assert mode_for(multi) is ExtractMode.ALL

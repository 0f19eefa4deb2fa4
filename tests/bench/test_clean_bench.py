"""Metric code of the erase benchmark, checked on tiny synthetic cases with oracle judges."""

from __future__ import annotations

import numpy as np
import pytest

from bench.clean_bench import (
    PSNR_CAP_DB,
    CaseMetrics,
    baseline_fn,
    evaluate_case,
    far_changed_share,
    format_summary,
    matches,
    meets,
    psnr,
    quad_overlap,
    summarize,
    text_chars,
    texture_ratio,
)
from bench.synthetic import GtLine, SyntheticCase, make_case
from globalpic_common.schemas import TextLine
from globalpic_generation.quads import fill_quads

SIZE = 320


def _line(box: list[tuple[float, float]], text: str) -> TextLine:
    return TextLine(box=box, text=text, confidence=0.9)


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


class OracleJudge:
    """Reads a ground-truth line wherever its pixels still look as they did in the input."""

    def __init__(self, case: SyntheticCase) -> None:
        self.case = case

    def detect(self, image: np.ndarray) -> list[TextLine]:
        out = []
        for line in self.case.lines:
            region = fill_quads(image.shape[:2], [line.box]) > 0
            diff = np.abs(image.astype(int) - self.case.image.astype(int)).max(axis=2)
            if diff[region].mean() < 5:
                out.append(_line(line.box, line.text))
        return out


class GtOverlayDetector:
    """A perfect overlay detector, standing in for OCR in the baseline."""

    name = "gt"

    def __init__(self, case: SyntheticCase) -> None:
        self.case = case

    def detect(self, image: np.ndarray) -> list[TextLine]:
        return [_line(g.box, g.text) for g in self.case.overlay_lines]


@pytest.fixture(scope="module")
def case() -> SyntheticCase:
    return make_case(4, size=SIZE)


def test_text_chars_folds_width_and_case() -> None:
    assert text_chars("￥19.9") == {"¥", "1", "9"}
    assert text_chars("Ａb 包邮！") == {"a", "b", "包", "邮"}


def test_quad_overlap() -> None:
    a = _rect(0, 0, 10, 10)
    assert quad_overlap(a, a) == pytest.approx(1.0)
    assert quad_overlap(a, _rect(20, 20, 30, 30)) == 0.0
    assert quad_overlap(a, _rect(2, 2, 4, 4)) == pytest.approx(1.0)  # of the smaller one
    assert quad_overlap(a, _rect(5, 0, 15, 10)) == pytest.approx(0.5)


def test_matches_needs_place_and_characters() -> None:
    gt = GtLine(_rect(0, 0, 100, 20), "7天无理由退换", "overlay", "plain")
    assert matches(gt, _line(_rect(0, 0, 100, 20), "7天无理由退换"))
    assert matches(gt, _line(_rect(60, 0, 100, 20), "退换"))  # a leftover fragment
    assert not matches(gt, _line(_rect(0, 0, 100, 20), "农夫山泉"))  # other text there
    assert not matches(gt, _line(_rect(0, 50, 100, 70), "7天无理由退换"))  # elsewhere


def test_psnr() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    assert psnr(a, b) == PSNR_CAP_DB
    b[0, 0] = 255  # one pixel fully wrong: MSE = 255^2 / 16
    assert psnr(a, b) == pytest.approx(10 * np.log10(16))
    mask = np.zeros((4, 4), np.uint8)
    assert psnr(a, b, mask) is None
    mask[0, 0] = 255
    assert psnr(a, b, mask) == pytest.approx(0.0)


def test_texture_ratio_sees_a_flat_fill() -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
    mask = np.zeros((80, 80), np.uint8)
    mask[30:50, 30:50] = 255
    assert texture_ratio(noisy, mask) == pytest.approx(1.0, abs=0.25)
    smeared = noisy.copy()
    smeared[30:50, 30:50] = 128
    ratio = texture_ratio(smeared, mask)
    assert ratio is not None and ratio < 0.3


def test_far_changed_share() -> None:
    src = np.zeros((100, 100, 3), np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 255
    out = src.copy()
    out[35:65, 35:65] = 50  # within 12 px of the mask: not "far"
    assert far_changed_share(out, src, mask) == 0.0
    out[0:2, 0:10] = 50  # 20 far pixels
    far_pixels = 100 * 100 - (20 + 24) ** 2 + 4 * (12 * 12 - np.pi * 144 / 4)  # approx
    assert far_changed_share(out, src, mask) == pytest.approx(20 / far_pixels, rel=0.05)


def test_perfect_and_identity_methods(case: SyntheticCase) -> None:
    judge = OracleJudge(case)
    judged_input = judge.detect(case.image)
    assert case.overlay_lines and case.product_lines

    judged = judge.detect(case.clean)
    perfect = evaluate_case(case, "perfect", case.clean, 0.1, judged_input, judged)
    assert perfect.overlay_detectable == len(case.overlay_lines)
    assert perfect.erase_rate == 1.0
    assert perfect.product_kept_rate == 1.0
    assert perfect.psnr == PSNR_CAP_DB
    assert perfect.texture == pytest.approx(1.0)

    same = evaluate_case(case, "identity", case.image, 0.1, judged_input, judge.detect(case.image))
    assert same.erase_rate == 0.0 and same.overlay_left == same.overlay_detectable
    assert same.product_kept_rate == 1.0
    assert same.far_changed == 0.0
    assert same.psnr is not None and same.psnr < PSNR_CAP_DB


def test_baseline_inpaints_only_detected_quads(case: SyntheticCase) -> None:
    run = baseline_fn(GtOverlayDetector(case))
    out, regions = run(case.image)
    assert out.shape == case.image.shape and out.dtype == np.uint8
    assert len(regions) == len(case.overlay_lines)
    quads = fill_quads(case.image.shape[:2], [g.box for g in case.overlay_lines]) > 0
    assert np.array_equal(out[~quads], case.image[~quads])
    assert np.any(out[quads] != case.image[quads])


def _metrics(method: str, detectable: int, left: int, seconds: float) -> CaseMetrics:
    return CaseMetrics(
        seed=0, source="t", method=method, overlay_lines=detectable, overlay_detectable=detectable,
        overlay_left=left, erase_rate=1 - left / detectable, product_lines=2,
        product_detectable=2, product_kept=2, product_kept_rate=1.0, psnr=30.0, psnr_mask=22.0,
        texture=1.1, texture_raw=0.9, far_changed=0.0, seconds=seconds,
        left_styles=["banner"] * left, detectable_styles=["banner"] * detectable,
    )  # fmt: skip


def test_summary_pools_lines_and_checks_targets() -> None:
    rows = [_metrics("m", 10, 0, 1.0), _metrics("m", 30, 3, 5.0)]
    summary = summarize(rows)
    assert summary["erase_rate"] == pytest.approx(1 - 3 / 40)  # pooled, not a mean of rates
    assert summary["seconds"] == pytest.approx(3.0)
    assert summary["left_by_style"] == {"banner": {"detectable": 40, "left": 3}}
    assert meets("erase_rate", summary["erase_rate"]) is False
    assert meets("texture", 1.1) is True and meets("texture", 0.7) is False
    assert meets("seconds", 3.0) is True
    table = format_summary({"m": summary})
    assert "erase rate" in table and "92.5%" in table and "banner 3/40" in table

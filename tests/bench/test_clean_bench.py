"""The erase benchmark's matching rule, pixel metrics, per-case verdicts and summary, checked on
tiny synthetic cases with oracle judges (the verdict rules alone: test_clean_metrics.py)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from bench.clean_bench import (
    ORACLE_GROW_PX,
    PSNR_CAP_DB,
    MemoDetector,
    OracleFill,
    SharedBaseline,
    far_changed_share,
    format_summary,
    glyph_mask,
    judge_synthetic,
    matches,
    meets,
    psnr,
    quad_overlap,
    summarize,
    synthetic_row,
    text_chars,
    texture_ratio,
)
from bench.clean_methods import baseline_fn
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


def _lazy(judge: OracleJudge, image: np.ndarray) -> Callable[[str], list[TextLine]]:
    return lambda name: judge.detect(image)


def test_perfect_and_identity_methods(case: SyntheticCase) -> None:
    judge = OracleJudge(case)
    on_input = {"rapidocr": judge.detect(case.image), "ppocrv4": judge.detect(case.image)}
    assert case.overlay_lines and case.product_lines

    perfect = judge_synthetic(case, case.clean, [], on_input, _lazy(judge, case.clean))
    row = synthetic_row(case, case.clean, perfect, 0.1)
    assert row["overlay_lines"] == len(case.overlay_lines)  # every generated line counts
    assert row["overlay_erased"] == 1.0
    assert row["keep_kept"] == 1.0
    assert row["psnr"] == PSNR_CAP_DB and row["far_changed"] == 0.0

    same = judge_synthetic(case, case.image, [], on_input, _lazy(judge, case.image))
    row = synthetic_row(case, case.image, same, 0.1)
    assert row["overlay_erased"] == 0.0 and len(row["left"]) == len(case.overlay_lines)
    assert row["keep_kept"] == 1.0 and row["far_changed"] == 0.0
    assert row["psnr"] < PSNR_CAP_DB


def test_glyph_mask_of_a_synthetic_line_is_its_ink(case: SyntheticCase) -> None:
    line = case.overlay_lines[0]
    glyphs = glyph_mask(case, line) > 0
    assert glyphs.any() and not np.any(glyphs & (case.overlay_mask == 0))
    quad = fill_quads(case.image.shape[:2], [line.box]) > 0
    assert not np.any(glyphs & ~quad)


def test_baseline_inpaints_only_detected_quads(case: SyntheticCase) -> None:
    run = baseline_fn(GtOverlayDetector(case))
    out, regions = run(case.image)
    assert out.shape == case.image.shape and out.dtype == np.uint8
    assert len(regions) == len(case.overlay_lines)
    quads = fill_quads(case.image.shape[:2], [g.box for g in case.overlay_lines]) > 0
    assert np.array_equal(out[~quads], case.image[~quads])
    assert np.any(out[quads] != case.image[quads])


def test_oracle_fills_exactly_the_grown_overlay_mask(case: SyntheticCase) -> None:
    oracle = OracleFill()
    with pytest.raises(TypeError, match="overlay mask"):
        oracle(case.image)  # a real photo has no known mask: the bench never calls it so
    out, regions = oracle.with_case(case)(case.image)
    assert regions == []
    grown = cv2.dilate((case.overlay_mask > 0).astype(np.uint8),
                       np.ones((2 * ORACLE_GROW_PX + 1,) * 2, np.uint8)) > 0  # fmt: skip
    assert np.array_equal(out[~grown], case.image[~grown])
    overlay = case.overlay_mask > 0
    # Every overlay pixel is rebuilt: closer to the clean photo than the input was.
    before = np.abs(case.image.astype(int) - case.clean.astype(int))[overlay].mean()
    after = np.abs(out.astype(int) - case.clean.astype(int))[overlay].mean()
    assert after < 0.5 * before


def test_baseline_shares_judge_ones_detections(case: SyntheticCase) -> None:
    class Counting(GtOverlayDetector):
        calls = 0

        def detect(self, image: np.ndarray) -> list[TextLine]:
            Counting.calls += 1
            return super().detect(image)

    memo = MemoDetector(Counting(case))
    judged = memo.detect(case.image)  # judge 1 on the input
    run = SharedBaseline(memo)
    out, regions = run(case.image)
    assert Counting.calls == 1 and len(regions) == len(judged)
    assert run.extra_seconds > 0  # the saved detection time is charged to the baseline
    expected, _ = baseline_fn(GtOverlayDetector(case))(case.image)
    assert np.array_equal(out, expected)
    run(case.clean)
    assert Counting.calls == 2 and run.extra_seconds == 0.0


def _row(erased: int, lines: int, seconds: float, psnr_mask: float) -> dict[str, object]:
    return {
        "overlay_lines": lines, "overlay_erased_lines": erased, "faint_lines": 2,
        "faint_erased_lines": 1, "keep_lines": 2, "keep_kept_lines": 2,
        "kept_uncertain_lines": 0, "psnr": 31.0, "psnr_mask": psnr_mask, "far_changed": 0.001,
        "seconds": seconds, "left": [], "lost": [],
        "product_part": {"pixels": 500, "psnr": 27.0, "delta_e": 2.0, "gradient_ratio": 0.5},
    }  # fmt: skip


def test_summary_pools_lines_and_checks_targets() -> None:
    syn = [_row(10, 10, 1.0, 30.0), _row(27, 30, 5.0, 20.0)]
    real = [_row(19, 20, 2.0, 0.0)]
    s = summarize(syn, real)
    assert s["syn_overlay_erased"] == pytest.approx(37 / 40)  # pooled, not a mean of rates
    assert s["syn_faint_erased"] == pytest.approx(0.5)
    assert s["psnr_mask"] == pytest.approx(25.0) and s["syn_seconds"] == pytest.approx(3.0)
    assert s["real_overlay_erased"] == pytest.approx(0.95) and s["real_seconds"] == 2.0
    assert s["pp_de_mean"] == 2.0 and s["pp_grad_worst"] == 0.5
    assert meets("syn_overlay_erased", s["syn_overlay_erased"]) is False
    assert meets("real_overlay_erased", 0.95) is True and meets("pp_de_worst", 9.0) is None
    assert meets("far_changed", 0.002) is True and meets("far_changed", 0.0021) is False
    table = format_summary({"tune": {"ours": s}, "test": {"ours": s, "baseline": s}})
    header = table.splitlines()[0]
    assert header.index("tune/ours") < header.index("test/ours") < header.index("test/baseline")
    assert "92.5% ✗" in table and "95.0% ✓" in table and ">= 97%" in table

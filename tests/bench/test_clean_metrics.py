"""Pure metric functions of the clean bench: line verdicts (two judges + ΔE2000), the product
part of overlays, pooling; checked with hand-built images and fixed detections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from bench.clean_metrics import (
    LineVerdict,
    changed_share,
    is_faint,
    keep_verdict,
    overlay_verdict_real,
    overlay_verdict_synthetic,
    pool_lines,
    product_part,
    uncertain_keep,
    worst,
    worst_ratio,
)
from globalpic_common.schemas import TextAction, TextKind, TextLine, TextRegion


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@dataclass(frozen=True)
class Line:
    box: list[tuple[float, float]]
    text: str
    kind: str
    style: str = "plain"


LINE = Line(_rect(10, 10, 110, 30), "百亿补贴", "overlay")
READ = TextLine(box=_rect(10, 10, 110, 30), text="百亿补贴", confidence=0.9)


class Outputs:
    """A lazy output judge with fixed detections that records which judges were asked."""

    def __init__(self, **detections: Sequence[TextLine]) -> None:
        self.detections = detections
        self.asked: list[str] = []

    def __call__(self, name: str) -> Sequence[TextLine]:
        self.asked.append(name)
        return self.detections.get(name, [])


def test_overlay_erased_needs_both_judges_blind_and_glyphs_restored() -> None:
    on_input = {"rapidocr": [READ], "ppocrv4": []}
    erased = overlay_verdict_synthetic(LINE, 2.0, on_input, Outputs())
    assert erased.ok and erased.judges_input == ["rapidocr"]
    # the second judge still reads it: not erased, even though the first does not
    outputs = Outputs(ppocrv4=[READ])
    left = overlay_verdict_synthetic(LINE, 2.0, on_input, outputs)
    assert not left.ok and left.judges_output == ["ppocrv4"]
    assert outputs.asked == ["rapidocr", "ppocrv4"]
    # no judge reads it, but its glyph pixels are still off the clean photo: not erased,
    # and no OCR is needed to say so
    outputs = Outputs()
    ghost = overlay_verdict_synthetic(LINE, 7.5, on_input, outputs)
    assert not ghost.ok and "ΔE" in ghost.why and outputs.asked == []


def test_every_generated_line_counts_even_if_no_judge_read_the_input() -> None:
    blind: dict[str, list[TextLine]] = {"rapidocr": [], "ppocrv4": []}
    assert overlay_verdict_synthetic(LINE, 1.0, blind, Outputs()).ok
    assert not overlay_verdict_synthetic(LINE, 12.0, blind, Outputs()).ok


def test_kept_uncertain_is_not_erased() -> None:
    region = TextRegion(box=LINE.box, text=LINE.text, confidence=0.9, kind=TextKind.OVERLAY,
                        action=TextAction.KEPT, overlay_score=0.5)  # fmt: skip
    assert not uncertain_keep(LINE, [region])
    unsure = region.model_copy(update={"action": "kept_uncertain"})
    assert uncertain_keep(LINE, [unsure])
    far = unsure.model_copy(update={"box": _rect(300, 300, 400, 320)})
    assert not uncertain_keep(LINE, [far])
    verdict = overlay_verdict_synthetic(LINE, 0.0, {"rapidocr": []}, Outputs(), uncertain=True)
    assert not verdict.ok and verdict.uncertain
    real = overlay_verdict_real(LINE, 1.0, {"rapidocr": [READ]}, Outputs(), uncertain=True)
    assert not real.ok


def test_faint_by_opacity_or_tiled_watermark() -> None:
    assert is_faint(0.35, "plain") and not is_faint(0.36, "watermark_tiled")
    assert is_faint(None, "watermark_tiled") and not is_faint(None, "watermark")


def test_keep_verdict_same_judge_and_box_unchanged() -> None:
    product = Line(LINE.box, "农夫山泉", "product")
    read = TextLine(box=product.box, text="农夫山泉", confidence=0.9)
    on_input = {"rapidocr": [], "ppocrv4": [read]}
    # only the judge that read it on the input may confirm it on the output
    assert keep_verdict(product, 1.0, on_input, Outputs(ppocrv4=[read])).ok
    outputs = Outputs(rapidocr=[read])
    verdict = keep_verdict(product, 1.0, on_input, outputs)
    assert not verdict.ok and outputs.asked == ["ppocrv4"]
    assert not keep_verdict(product, 6.0, on_input, Outputs(ppocrv4=[read])).ok
    # read by no judge on the input: the pixels alone decide
    blind: dict[str, list[TextLine]] = {"rapidocr": [], "ppocrv4": []}
    assert keep_verdict(product, 4.9, blind, Outputs()).ok
    assert not keep_verdict(product, 5.1, blind, Outputs()).ok
    # hand-drawn lines: the pixels alone decide, whatever a judge reads on the input
    missed = keep_verdict(product, 1.0, on_input, Outputs(), missed_by_detector=True)
    assert missed.ok and missed.judges_input == []


def test_real_overlay_missed_by_detector_needs_half_its_box_changed() -> None:
    on_input = {"rapidocr": [READ], "ppocrv4": [READ]}
    assert overlay_verdict_real(LINE, 0.0, on_input, Outputs()).ok  # read on input, not after
    assert not overlay_verdict_real(LINE, 1.0, on_input, Outputs(rapidocr=[READ])).ok
    kw = {"missed_by_detector": True}
    assert overlay_verdict_real(LINE, 0.5, on_input, Outputs(), **kw).ok
    assert not overlay_verdict_real(LINE, 0.49, on_input, Outputs(), **kw).ok
    assert not overlay_verdict_real(LINE, None, on_input, Outputs(), **kw).ok


def test_changed_share() -> None:
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:5, :, 0] = 3  # 3 levels: changed
    b[5:, :2, 1] = 2  # 2 levels: not changed
    mask = np.full((10, 10), 255, np.uint8)
    assert changed_share(b, a, mask) == pytest.approx(0.5)
    assert changed_share(b, a, np.zeros((10, 10), np.uint8)) is None


def _stripes(h: int = 60, w: int = 60) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, ::4] = 200  # vertical stripes: strong gradient energy
    return img


def test_product_part_sees_haze_and_foreign_texture() -> None:
    clean = _stripes()
    overlay = np.zeros((60, 60), np.uint8)
    overlay[20:40, 10:50] = 255
    product = np.zeros((60, 60), np.uint8)
    product[:, :30] = 255  # the overlay crosses the product's edge at x = 30
    assert product_part(clean, clean, overlay, None) is None
    perfect = product_part(clean, clean, overlay, product, dilate_px=0)
    assert perfect is not None and perfect.pixels == 20 * 20
    assert perfect.psnr == 100.0 and perfect.delta_e == 0.0
    assert perfect.gradient_ratio == pytest.approx(1.0)
    haze = clean.copy()
    haze[20:40, 10:50] = 100  # flat grey: no stripes left
    hazy = product_part(haze, clean, overlay, product, dilate_px=0)
    assert hazy is not None and hazy.gradient_ratio is not None and hazy.gradient_ratio < 0.2
    assert hazy.delta_e is not None and hazy.delta_e > 3 and hazy.psnr is not None
    # a smooth product surface filled with a background's stripes: foreign texture
    smooth = np.broadcast_to(np.linspace(80, 120, 60, dtype=np.float32)[None, :, None],
                             (60, 60, 3)).astype(np.uint8)  # fmt: skip
    textured = smooth.copy()
    textured[20:40, 10:50] = _stripes()[20:40, 10:50]
    foreign = product_part(textured, smooth, overlay, product, dilate_px=0)
    assert foreign is not None and foreign.gradient_ratio is not None
    assert foreign.gradient_ratio > 1.5
    # fewer product pixels under the overlays than min_px: not scored
    assert product_part(clean, clean, overlay, product, dilate_px=0, min_px=401) is None
    # the dilation widens the region by the overlay's rim
    wider = product_part(clean, clean, overlay, product, dilate_px=2)
    assert wider is not None and wider.pixels > 400


def test_pooling_is_over_lines_and_worst_cases() -> None:
    verdicts = [
        LineVerdict("a", "overlay", "plain", ok=True),
        LineVerdict("b", "overlay", "watermark_tiled", ok=False, faint=True),
        LineVerdict("c", "overlay", "watermark_tiled", ok=True, faint=True),
        LineVerdict("d", "overlay", "plain", ok=False, uncertain=True),
        LineVerdict("e", "product", "", ok=True),
        LineVerdict("f", "scene", "", ok=False),
    ]
    pooled = pool_lines(verdicts)
    assert pooled["overlay_lines"] == 4 and pooled["overlay_erased"] == pytest.approx(0.5)
    assert pooled["faint_lines"] == 2 and pooled["faint_erased"] == pytest.approx(0.5)
    assert pooled["kept_uncertain_lines"] == 1
    assert pooled["keep_lines"] == 2 and pooled["keep_kept"] == pytest.approx(0.5)
    assert pool_lines([])["overlay_erased"] is None
    assert worst([30.0, None, 20.0], low_is_bad=True) == 20.0
    assert worst([1.0, 4.0], low_is_bad=False) == 4.0 and worst([None], True) is None
    assert worst_ratio([0.9, 1.8, 0.4]) == 0.4  # |log 0.4| > |log 1.8|

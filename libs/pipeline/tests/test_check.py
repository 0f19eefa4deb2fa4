"""Marketplace rules on images built in code, and the Checker's wiring (fake backends)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common.errors import BadInputError
from globalpic_common.platforms import get_platform
from globalpic_common.schemas import RuleResult, TextAction, TextKind, TextLine, TextRegion
from globalpic_ocr.overlay import LineDecision
from globalpic_pipeline.check import Checker, evaluate_rules

Rgb = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
AMAZON = get_platform("amazon")


def disc_photo(size: int = 1000, radius: int = 450, bg: int = 255) -> tuple[Rgb, Mask]:
    """A dark product disc centred on a flat background of grey level ``bg``."""
    img = np.full((size, size, 3), bg, np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, 255, -1)
    img[mask > 0] = (40, 60, 90)
    return img, mask


def by_id(results: list[RuleResult]) -> dict[str, RuleResult]:
    return {r.rule: r for r in results}


def region(text: str, kind: TextKind) -> TextRegion:
    return TextRegion(
        box=[(10, 10), (200, 10), (200, 60), (10, 60)],
        text=text,
        confidence=0.9,
        kind=kind,
        action=TextAction.KEPT,
        overlay_score=0.9 if kind == TextKind.OVERLAY else 0.1,
    )


def test_white_background_product_disc_passes_everything() -> None:
    img, mask = disc_photo()
    results = by_id(evaluate_rules(img, mask, AMAZON, overlay_texts=[]))
    assert list(results) == ["min_size", "white_background", "product_fill", "overlay_text"]
    assert all(r.passed for r in results.values()), results
    assert results["product_fill"].measured == pytest.approx(0.901, abs=0.005)
    assert results["white_background"].measured == 0.0


def test_grey_background_fails_white_background() -> None:
    img, mask = disc_photo(bg=240)
    rule = by_id(evaluate_rules(img, mask, AMAZON))["white_background"]
    assert not rule.passed and rule.measured is not None and rule.measured > 0.5
    assert rule.required == pytest.approx(0.001)
    assert "not pure white" in rule.message


def test_slightly_off_mask_and_jpeg_ringing_tolerated() -> None:
    img, mask = disc_photo()
    # The product is 4 px larger than its mask (a tight segmentation) ...
    cv2.circle(img, (500, 500), 454, (40, 60, 90), -1)
    # ... and a few hundred scattered off-white pixels (ringing): under 0.1 %.
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 40, 300), rng.integers(0, 1000, 300)
    img[ys, xs] = 250
    assert by_id(evaluate_rules(img, mask, AMAZON))["white_background"].passed
    img[:40, :] = 250  # a grey strip is not ringing
    assert not by_id(evaluate_rules(img, mask, AMAZON))["white_background"].passed


def test_small_product_fails_product_fill() -> None:
    img, mask = disc_photo(radius=300)
    rule = by_id(evaluate_rules(img, mask, AMAZON))["product_fill"]
    assert not rule.passed and rule.measured == pytest.approx(0.601, abs=0.005)
    assert "85%" in rule.message
    empty = by_id(evaluate_rules(img, np.zeros_like(mask), AMAZON))["product_fill"]
    assert not empty.passed and "no product" in empty.message


def test_500px_fails_min_size() -> None:
    img, mask = disc_photo(size=500, radius=225)
    rule = by_id(evaluate_rules(img, mask, AMAZON))["min_size"]
    assert not rule.passed and rule.measured == 500 and rule.required == 1000
    assert "500x500" in rule.message
    assert by_id(evaluate_rules(img, mask, get_platform("ebay")))["min_size"].passed


def test_overlay_text_from_regions() -> None:
    img, mask = disc_photo()
    kept = [region("NET WT 500g", TextKind.PRODUCT)]
    assert by_id(evaluate_rules(img, mask, AMAZON, kept))["overlay_text"].passed
    edge = [*kept, region("_", TextKind.OVERLAY)]  # OCR reading an edge, not text
    assert by_id(evaluate_rules(img, mask, AMAZON, edge))["overlay_text"].passed
    found = [*kept, region("包邮", TextKind.OVERLAY)]
    rule = by_id(evaluate_rules(img, mask, AMAZON, found))["overlay_text"]
    assert not rule.passed and rule.measured == 1 and "包邮" in rule.message
    # Without OCR results the rule is not judged at all (never a silent pass).
    assert "overlay_text" not in by_id(evaluate_rules(img, mask, AMAZON))


def test_platform_without_rules_checks_size_only() -> None:
    img, mask = disc_photo(bg=128)
    assert [r.rule for r in evaluate_rules(img, mask, get_platform("tiktok"), [])] == ["min_size"]


def test_mask_size_mismatch_is_bad_mask() -> None:
    img, mask = disc_photo()
    with pytest.raises(BadInputError) as info:
        evaluate_rules(img, mask[:10], AMAZON)
    assert info.value.code == "bad_mask"


class FakeSegmenter:
    name = "fake"

    def __init__(self, alpha: npt.NDArray[np.float32]) -> None:
        self.alpha = alpha
        self.calls = 0
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def segment(self, image: Rgb) -> npt.NDArray[np.float32]:
        self.calls += 1
        return self.alpha


class FakeDetector:
    name = "fake"

    def __init__(self, lines: list[TextLine]) -> None:
        self.lines = lines
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def detect(self, image: Rgb) -> list[TextLine]:
        return self.lines


def overlay_everything(
    image: Rgb, lines: Sequence[TextLine], alpha: npt.NDArray[np.float32] | None
) -> list[LineDecision]:
    assert alpha is not None  # the classifier is given the product alpha
    return [LineDecision(TextKind.OVERLAY, 0.99, {}) for _ in lines]


def test_checker_runs_the_models_its_rules_need() -> None:
    img, mask = disc_photo()
    seg = FakeSegmenter((mask / 255).astype(np.float32))
    line = TextLine(box=[(10, 10), (90, 10), (90, 40), (10, 40)], text="特价", confidence=0.9)
    det = FakeDetector([line])
    checker = Checker(AMAZON, det, seg, classify=overlay_everything)
    checker.load()
    assert seg.loaded and det.loaded
    result = checker.inspect(img)
    assert seg.calls == 1 and not result.passed
    assert [r.rule for r in result.rules if not r.passed] == ["overlay_text"]
    assert result.texts[0].text == "特价" and {"segment", "ocr", "rules"} <= set(result.seconds)
    # A caller that has the alpha (resize) skips the segmenter.
    checker.check(img, alpha=seg.alpha)
    assert seg.calls == 1

    size_only = Checker(get_platform("ebay"), FakeDetector([]), FakeSegmenter(seg.alpha))
    size_only.load()
    assert not size_only.segmenter.loaded and not size_only.detector.loaded  # type: ignore[attr-defined]
    assert [r.rule for r in size_only.check(img)] == ["min_size"]


def test_overlay_text_ignores_lone_glyphs_and_unsure_lines_on_the_product() -> None:
    img, mask = disc_photo()
    on_product = [(400, 480), (600, 480), (600, 520), (400, 520)]

    def line(text: str, box: list[tuple[float, float]], score: float) -> TextRegion:
        return region(text, TextKind.OVERLAY).model_copy(
            update={"box": box, "overlay_score": score}
        )

    def overlay_rule(texts: list[TextRegion]) -> RuleResult:
        return by_id(evaluate_rules(img, mask, AMAZON, texts))["overlay_text"]

    assert overlay_rule([line("O", [(10, 10), (60, 10), (60, 60), (10, 60)], 0.99)]).passed
    assert overlay_rule([line("LUMI", on_product, 0.7)]).passed  # the product's own label
    assert not overlay_rule([line("包邮", on_product, 0.95)]).passed  # a sure sticker on it
    assert not overlay_rule([line("包邮", [(10, 10), (200, 10), (200, 60), (10, 60)], 0.6)]).passed

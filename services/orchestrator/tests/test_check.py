"""The Checker's wiring (fake backends): the models its platform's rules need, the margin it
segments a frame-filling product in, and the rule judge it hands the pixels to. The rules
themselves are the segmentation service's (``services/segmentation/tests/test_rules.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.platforms import Platform, get_platform
from globalpic_common.schemas import LineDecision, RuleResult, TextKind, TextLine, TextRegion
from globalpic_ocr.overlay import classify_lines
from globalpic_orchestrator.pipeline.check import Checker
from globalpic_segmentation.rules import PixelRules, evaluate_rules
from tests.support.rule_photos import Mask, Rgb, by_id, disc_photo

AMAZON = get_platform("amazon")
RULES = PixelRules()


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
        # The check segments its image inside a margin: the alpha lies at its centre.
        dy = (image.shape[0] - self.alpha.shape[0]) // 2
        dx = (image.shape[1] - self.alpha.shape[1]) // 2
        assert dy >= 0 and dx >= 0
        return np.pad(self.alpha, ((dy, image.shape[0] - self.alpha.shape[0] - dy),
                                   (dx, image.shape[1] - self.alpha.shape[1] - dx)))  # fmt: skip


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
    checker = Checker(AMAZON, det, seg, classify=overlay_everything, judge=RULES)
    checker.load()
    assert seg.loaded and det.loaded
    result = checker.inspect(img)
    assert seg.calls == 1 and not result.passed
    assert [r.rule for r in result.rules if not r.passed] == ["overlay_text"]
    assert result.texts[0].text == "特价" and {"segment", "ocr", "rules"} <= set(result.seconds)
    # A caller that has the alpha (resize) skips the segmenter.
    checker.check(img, alpha=seg.alpha)
    assert seg.calls == 1

    size_only = Checker(
        get_platform("ebay"),
        FakeDetector([]),
        FakeSegmenter(seg.alpha),
        classify=classify_lines,
        judge=RULES,
    )
    size_only.load()
    assert not size_only.segmenter.loaded and not size_only.detector.loaded  # type: ignore[attr-defined]
    assert [r.rule for r in size_only.check(img)] == ["min_size"]


class PartPicker(FakeSegmenter):
    """Picks the label inside a product that fills the frame to its edges, as IS-Net did
    (a dark box's red label), unless the product has a margin of white round it."""

    def segment(self, image: Rgb) -> npt.NDArray[np.float32]:
        self.calls += 1
        dark = image.min(axis=2) < 250  # the box with its label
        rows, cols = np.nonzero(dark.any(axis=1))[0], np.nonzero(dark.any(axis=0))[0]
        margin = min(rows[0], cols[0], image.shape[0] - 1 - rows[-1], image.shape[1] - 1 - cols[-1])
        found = dark if margin >= 0.1 * max(image.shape[:2]) else np.all(image == (220, 30, 40), 2)
        return np.asarray(found, np.float32)


def test_the_check_segments_a_frame_filling_product_inside_a_margin() -> None:
    img = np.full((400, 400, 3), 255, np.uint8)
    img[12:388, 12:388] = (30, 30, 50)  # a dark box up to a few px from every edge
    img[150:250, 100:300] = (220, 30, 40)  # its red label
    seg = PartPicker(np.zeros((400, 400), np.float32))
    checker = Checker(AMAZON, FakeDetector([]), seg, classify=classify_lines, judge=RULES)
    checker.load()
    rules = by_id(checker.check(img))
    # Without the margin the picker takes the label, and the box reads as a dark background.
    assert rules["white_background"].passed and rules["product_fill"].passed
    assert not by_id(evaluate_rules(img, np.where(seg.segment(img) > 0, 255, 0).astype(np.uint8),
                                    AMAZON))["white_background"].passed  # fmt: skip


def jar_photo(body: int = 225) -> tuple[Rgb, Mask]:
    """A brown lid the mask finds on a pale jar body it misses (a frosted candle jar on white:
    U²-Net-p calls the body background), the pair filling ~88 % of the frame."""
    img = np.full((1000, 1000, 3), 255, np.uint8)
    mask = np.zeros((1000, 1000), np.uint8)
    cv2.rectangle(mask, (60, 120), (939, 420), 255, -1)
    img[mask > 0] = (150, 100, 60)
    img[421:880, 80:920] = body  # the jar body, joined to the lid, not in the mask
    return img, mask


def test_a_callers_exact_mask_is_the_product_as_given() -> None:
    """resize's own alpha or a bench's true one: non-white next to it is left-over
    background (a cut-out that kept some of the old table), not product the mask missed."""
    img, mask = jar_photo()
    assert not by_id(evaluate_rules(img, mask, AMAZON))["white_background"].passed
    seg = FakeSegmenter((mask / 255).astype(np.float32))
    checker = Checker(AMAZON, FakeDetector([]), seg, classify=classify_lines, judge=RULES)
    assert by_id(checker.check(img))["white_background"].passed  # its own guess: completed
    assert not by_id(checker.check(img, alpha=seg.alpha))["white_background"].passed


class SpyJudge:
    """Records what the Checker hands its judge."""

    def __init__(self) -> None:
        self.calls: list[tuple[Mask, str, list[TextRegion] | None, bool]] = []

    def evaluate(
        self,
        image: Rgb,
        product_mask: Mask,
        platform: Platform,
        overlay_texts: list[TextRegion] | None = None,
        *,
        estimated_mask: bool = False,
    ) -> list[RuleResult]:
        self.calls.append((product_mask, platform.id, overlay_texts, estimated_mask))
        return [RuleResult(rule="min_size", passed=True, message="spy")]


def test_the_checker_hands_the_pixels_to_its_judge() -> None:
    img, mask = disc_photo(size=200, radius=80)
    seg = FakeSegmenter((mask / 255).astype(np.float32))
    judge = SpyJudge()
    checker = Checker(AMAZON, FakeDetector([]), seg, classify=overlay_everything, judge=judge)
    assert checker.check(img)[0].message == "spy"
    checker.check(img, alpha=seg.alpha)
    (own, platform, texts, estimated), (given, _, _, caller) = judge.calls
    assert platform == "amazon" and texts == [] and estimated and not caller
    assert own.dtype == np.uint8 and set(np.unique(own)) <= {0, 255}
    assert np.array_equal(given, mask)


def test_the_margin_is_the_images_own_border_replicated() -> None:
    """``np.pad(mode="edge")`` is OpenCV's ``BORDER_REPLICATE``, pixel for pixel."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (37, 53, 3), np.uint8)
    seen: list[Rgb] = []

    class Recorder(FakeSegmenter):
        def segment(self, image: Rgb) -> npt.NDArray[np.float32]:
            seen.append(image)
            return np.zeros(image.shape[:2], np.float32)

    checker = Checker(
        AMAZON, FakeDetector([]), Recorder(np.zeros((1, 1), np.float32)),
        classify=classify_lines, judge=RULES,
    )  # fmt: skip
    checker.check(image)
    pad = (seen[0].shape[0] - 37) // 2
    want = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    assert pad == 8 and np.array_equal(seen[0], want)

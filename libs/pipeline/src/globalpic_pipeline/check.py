"""The ``check`` op: does an image meet a marketplace's image rules?

``evaluate_rules`` is pure: it judges an image from its product mask and the overlay texts
found on it, so ``resize`` can check its own output with the alpha it already has. The
``Checker`` finds those (U²-Net-p for the product, OCR plus the overlay classifier for text),
running only the models the platform's rules need.

Rule ids are stable (clients match on them): ``min_size``, ``white_background``,
``product_fill``, ``overlay_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray, Segmenter, TextDetector
from globalpic_common.platforms import Platform
from globalpic_common.schemas import RuleResult, TextAction, TextKind, TextRegion
from globalpic_common.timing import StageTimer
from globalpic_generation.canvas import PRODUCT_THRESHOLD, product_box, product_fill
from globalpic_ocr.overlay import classify_lines
from globalpic_pipeline.ports import CutoutExtractor
from globalpic_pipeline.texts import Classifier, load_backends, text_region

MIN_SIZE = "min_size"
WHITE_BACKGROUND = "white_background"
PRODUCT_FILL = "product_fill"
OVERLAY_TEXT = "overlay_text"

# A pixel counts as white from this level up in every channel: JPEG ringing next to an
# edge leaves 254s that no eye (and no marketplace bot we know of) tells from 255.
WHITE_LEVEL = 254
# Share of the background that may be off-white: the product mask is never pixel-exact.
MAX_NON_WHITE_SHARE = 0.001
# The product mask is grown by this share of the image's longer side (at least
# WHITE_DILATE_MIN_PX) before its surroundings are judged: soft edges, a contact shadow.
WHITE_DILATE_SHARE = 0.01
WHITE_DILATE_MIN_PX = 8
# overlay_text: a line this much on the product counts only with this classifier score.
ON_PRODUCT_SHARE = 0.8
SURE_OVERLAY_SCORE = 0.9


def evaluate_rules(
    image: ImageArray,
    product_mask: MaskArray,
    platform: Platform,
    overlay_texts: list[TextRegion] | None = None,
) -> list[RuleResult]:
    """The platform's rules judged on ``image`` (product pixels: ``product_mask`` > 0).

    ``overlay_text`` is judged only when ``overlay_texts`` is given (the text lines found on
    the image, any kind; those classified as overlays break the rule): without OCR there is
    nothing to judge it on, and a rule not judged is left out rather than called passed.
    """
    if product_mask.shape != image.shape[:2]:
        raise BadInputError(
            f"product mask is {product_mask.shape[1]}x{product_mask.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}",
            code=errors.BAD_MASK,
        )
    results = [_min_size(image, platform)]
    if platform.white_background:
        results.append(_white_background(image, product_mask, platform))
    if platform.min_fill is not None:
        results.append(_product_fill(product_mask, platform, platform.min_fill))
    if platform.forbid_overlay_text and overlay_texts is not None:
        results.append(_overlay_text(overlay_texts, platform, product_mask))
    return results


def _min_size(image: ImageArray, platform: Platform) -> RuleResult:
    h, w = image.shape[:2]
    longer = max(h, w)
    ok = longer >= platform.min_side
    verdict = "large enough" if ok else "too small"
    return RuleResult(
        rule=MIN_SIZE,
        passed=ok,
        measured=float(longer),
        required=float(platform.min_side),
        message=f"{w}x{h} px is {verdict}: {platform.name} needs at least "
        f"{platform.min_side} px on the longer side",
    )


def _white_background(image: ImageArray, mask: MaskArray, platform: Platform) -> RuleResult:
    h, w = image.shape[:2]
    grow = max(WHITE_DILATE_MIN_PX, round(WHITE_DILATE_SHARE * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    product = np.asarray(cv2.dilate((mask > 0).astype(np.uint8), kernel)) > 0
    background = ~product
    total = int(background.sum())
    off_white = (image[background] < WHITE_LEVEL).any(axis=1) if total else np.zeros(0, bool)
    share = float(off_white.mean()) if total else 0.0
    ok = share <= MAX_NON_WHITE_SHARE
    message = (
        "background is pure white"
        if ok
        else f"background is not pure white: {share:.1%} of the pixels around the product "
        f"are not RGB 255,255,255 ({platform.name} needs a pure white background)"
    )
    return RuleResult(
        rule=WHITE_BACKGROUND,
        passed=ok,
        measured=round(share, 5),
        required=MAX_NON_WHITE_SHARE,
        message=message,
    )


def _product_fill(mask: MaskArray, platform: Platform, min_fill: float) -> RuleResult:
    h, w = mask.shape[:2]
    box = product_box(mask)
    if box is None:
        return RuleResult(
            rule=PRODUCT_FILL,
            passed=False,
            measured=0.0,
            required=min_fill,
            message=f"no product found; {platform.name} wants the product to fill at least "
            f"{min_fill:.0%} of the frame",
        )
    fill = product_fill(box, w, h)
    ok = fill >= min_fill
    verdict = "fills" if ok else "only fills"
    return RuleResult(
        rule=PRODUCT_FILL,
        passed=ok,
        measured=round(fill, 4),
        required=min_fill,
        message=f"the product {verdict} {fill:.0%} of the frame; {platform.name} wants at "
        f"least {min_fill:.0%}",
    )


def _counts_as_overlay(text: TextRegion, product_mask: MaskArray) -> bool:
    """An overlay line the rule should report.

    One readable character ("O", "2") is as often a shape the OCR read (a ring, a curl) as
    text; a line without any ("_", "·") always is. A line lying on the product is its own
    print unless the classifier is sure: on a white main image the crisp cues that mark a
    badge also fit a crisp label, and a false alarm tells a seller to erase their brand.
    """
    if text.kind != TextKind.OVERLAY or sum(ch.isalnum() for ch in text.text) < 2:
        return False
    on_product = _share_inside(text.box, product_mask)
    return on_product < ON_PRODUCT_SHARE or text.overlay_score >= SURE_OVERLAY_SCORE


def _share_inside(box: list[tuple[float, float]], mask: MaskArray) -> float:
    quad = np.zeros(mask.shape[:2], np.uint8)
    cv2.fillPoly(quad, [np.round(np.asarray(box)).astype(np.int32)], 255)
    area = int(np.count_nonzero(quad))
    return float(np.count_nonzero((quad > 0) & (mask > 0))) / area if area else 0.0


def _overlay_text(
    texts: list[TextRegion], platform: Platform, product_mask: MaskArray
) -> RuleResult:
    overlays = [t for t in texts if _counts_as_overlay(t, product_mask)]
    if not overlays:
        message = "no text, badge or watermark added on top of the photo"
    else:
        quoted = ", ".join(f'"{t.text}"' for t in overlays[:5])
        more = f" and {len(overlays) - 5} more" if len(overlays) > 5 else ""
        message = (
            f"text added on top of the photo: {quoted}{more}; {platform.name} allows no "
            "overlay text, badges or watermarks (run `globalpic clean` first)"
        )
    return RuleResult(
        rule=OVERLAY_TEXT,
        passed=not overlays,
        measured=float(len(overlays)),
        required=0.0,
        message=message,
    )


@dataclass
class CheckResult:
    rules: list[RuleResult]
    texts: list[TextRegion]  # every line found (action: kept), when the rules needed OCR
    product_alpha: AlphaArray | None  # None when no rule needed the product
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rules)


class Checker:
    """Checks images against one platform's rules; models load once and are reused."""

    def __init__(
        self,
        platform: Platform,
        detector: TextDetector,
        segmenter: Segmenter,
        classify: Classifier = classify_lines,
        extractor: CutoutExtractor | None = None,
    ) -> None:
        self.platform = platform
        self.detector = detector
        self.segmenter = segmenter
        self.classify = classify
        # With an extractor the product is the refined matte, as `extract` / `resize` see
        # it; the coarse U²-Net-p map alone misses thin parts and calls them background.
        self.extractor = extractor

    @classmethod
    def from_settings(cls, platform: Platform) -> Checker:
        """The composition root: backends chosen by settings (in process or over gRPC)."""
        from globalpic_pipeline.backends import checker_from_settings

        return checker_from_settings(platform)

    @property
    def needs_ocr(self) -> bool:
        return self.platform.forbid_overlay_text

    @property
    def needs_product(self) -> bool:
        # The overlay classifier uses the product mask too (text on the product is print).
        p = self.platform
        return p.white_background or p.min_fill is not None or p.forbid_overlay_text

    def load(self) -> None:
        """Load the models this platform's rules need (none for a size-only platform)."""
        needed: list[object] = []
        if self.needs_product:
            needed.extend((self.segmenter, self.extractor))
        if self.needs_ocr:
            needed.append(self.detector)
        load_backends(*needed)

    def inspect(self, image: ImageArray, alpha: AlphaArray | None = None) -> CheckResult:
        """Judge ``image``; ``alpha`` (the product's, when the caller has it) skips U²-Net."""
        timer = StageTimer()
        if alpha is None and self.needs_product:
            with timer.stage("segment"):
                if self.extractor is not None:
                    alpha = self.extractor.extract(image).alpha
                else:
                    alpha = self.segmenter.segment(image)
        texts: list[TextRegion] | None = None
        if self.needs_ocr:
            with timer.stage("ocr"):
                lines = self.detector.detect(image)
            with timer.stage("classify"):
                decisions = self.classify(image, lines, alpha)
            texts = [
                text_region(line, decision, TextAction.KEPT)
                for line, decision in zip(lines, decisions, strict=True)
            ]
        if alpha is not None:
            mask = np.where(alpha >= PRODUCT_THRESHOLD, 255, 0).astype(np.uint8)
        else:
            mask = np.zeros(image.shape[:2], np.uint8)
        with timer.stage("rules"):
            rules = evaluate_rules(image, mask, self.platform, texts)
        return CheckResult(rules, texts or [], alpha, timer.seconds)

    def check(self, image: ImageArray, alpha: AlphaArray | None = None) -> list[RuleResult]:
        return self.inspect(image, alpha).rules

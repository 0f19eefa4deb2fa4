"""The ``check`` op: does an image meet a marketplace's image rules?

The ``Checker`` finds what the rules judge (the segmenter for the product, OCR plus the
overlay classifier for text), running only the models the platform's rules need, and hands
the pixels to a ``RuleJudge``: the segmentation service's ``evaluate_rules``
(``globalpic_segmentation.rules``), in process or over gRPC (``EvaluateRules``).

Rule ids are stable (clients match on them): ``min_size``, ``white_background``,
``product_fill``, ``overlay_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from globalpic_common.interfaces import AlphaArray, ImageArray, RuleJudge, Segmenter, TextDetector
from globalpic_common.platforms import Platform
from globalpic_common.product_mask import PRODUCT_THRESHOLD
from globalpic_common.schemas import RuleResult, TextAction, TextRegion
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.ports import CutoutExtractor
from globalpic_orchestrator.pipeline.texts import Classifier, load_backends, text_region

# Margin (share of the long side) of replicated border round an image the check segments.
ESTIMATE_MARGIN = 0.15


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
        *,
        classify: Classifier,  # the OCR service's overlay classifier (classify_lines in process)
        judge: RuleJudge,  # the segmentation service's pixel rules
        extractor: CutoutExtractor | None = None,
    ) -> None:
        self.platform = platform
        self.detector = detector
        self.segmenter = segmenter
        self.classify = classify
        self.judge = judge
        # With an extractor the product is the refined matte, as `extract` / `resize` see
        # it; the coarse U²-Net-p map alone misses thin parts and calls them background.
        self.extractor = extractor

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

    def _estimate_alpha(self, image: ImageArray) -> AlphaArray:
        """The product's alpha, segmented with a margin of the image's own border replicated
        round it. A marketplace frame is filled to its edges by design, and a salient-object
        model that sees no margin picks a part inside the product (IS-Net took a dark box's
        red label for the product, and the box for background that is not white)."""
        h, w = image.shape[:2]
        pad = max(1, round(ESTIMATE_MARGIN * max(h, w)))
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        if self.extractor is not None:
            alpha = self.extractor.extract(padded).alpha
        else:
            alpha = self.segmenter.segment(padded)
        return np.ascontiguousarray(np.asarray(alpha)[pad : pad + h, pad : pad + w])

    def inspect(self, image: ImageArray, alpha: AlphaArray | None = None) -> CheckResult:
        """Judge ``image``; ``alpha`` (the product's, when the caller has it) skips the
        segmenter."""
        timer = StageTimer()
        estimated = alpha is None
        if alpha is None and self.needs_product:
            with timer.stage("segment"):
                alpha = self._estimate_alpha(image)
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
            rules = self.judge.evaluate(image, mask, self.platform, texts, estimated_mask=estimated)
        return CheckResult(rules, texts or [], alpha, timer.seconds)

    def check(self, image: ImageArray, alpha: AlphaArray | None = None) -> list[RuleResult]:
        return self.inspect(image, alpha).rules

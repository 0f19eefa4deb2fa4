"""The ``clean`` op: find Chinese text, decide overlay vs product, erase overlays, rebuild.

Composed only from the domain interfaces (``TextDetector``, ``Segmenter``, ``Inpainter``,
``EraseMasker``) plus the overlay classifier, so the same code runs in-process (CLI, tests)
and against the gRPC clients of the services. This module decides which lines go and when
to stop; every pixel operation on the masks is the ``EraseMasker``'s (the generation
service's ``clean_mask``), so it needs no image library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from globalpic_common.interfaces import (
    AlphaArray,
    EraseMasker,
    ImageArray,
    Inpainter,
    MaskArray,
    Segmenter,
    TextDetector,
)
from globalpic_common.schemas import (
    LineDecision,
    TextAction,
    TextKind,
    TextLine,
    TextMode,
    TextRegion,
)
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.texts import (
    Classifier,
    kept_action,
    load_backends,
    text_region,
)

# A re-detected line counts as a residual of our erasing when this share of its box lies in
# what we rebuilt; lower would re-erase product text that merely touches an erased badge.
RESIDUAL_OVERLAP = 0.4
RESIDUAL_MIN_CHARS = 2
# A re-detected line away from the erase mask is new text (not a kept line found again)
# when less than this share of its box lies on the lines we keep.
UNSEEN_OVERLAP = 0.3
UNSEEN_MIN_CHARS = 2
UNSEEN_MIN_CONFIDENCE = 0.8


@dataclass(frozen=True)
class CleanOptions:
    text_mode: TextMode = TextMode.OVERLAY
    add_mask: MaskArray | None = None  # user-painted: erase this too
    keep_mask: MaskArray | None = None  # user-painted: never touch this
    max_residual_passes: int = 2


@dataclass
class CleanResult:
    image: ImageArray
    regions: list[TextRegion]
    erase_mask: MaskArray
    product_alpha: AlphaArray | None
    residual_passes: int
    seconds: dict[str, float] = field(default_factory=dict)


def _credible(line: TextLine) -> bool:
    """New text found on a rebuilt image must read as text: a lone glyph read with low
    confidence is as likely the texture of a rebuilt area or the product's pattern."""
    return _readable(line) >= UNSEEN_MIN_CHARS and line.confidence >= UNSEEN_MIN_CONFIDENCE


def _readable(line: TextLine) -> int:
    """Letters, digits and CJK characters in the line's text."""
    return sum(ch.isalnum() for ch in line.text)


class Cleaner:
    """Runs ``clean`` on one image at a time; models load once and are reused."""

    def __init__(
        self,
        detector: TextDetector,
        segmenter: Segmenter,
        inpainter: Inpainter,
        classify: Classifier,
        masker: EraseMasker,
    ) -> None:
        self.detector = detector
        self.segmenter = segmenter
        self.inpainter = inpainter
        self.classify = classify
        self.masker = masker

    def load(self) -> None:
        """Load every model now (first image pays nothing; a missing model fails early)."""
        load_backends(self.detector, self.segmenter)

    def clean(self, image: ImageArray, options: CleanOptions | None = None) -> CleanResult:
        options = options or CleanOptions()
        timer = StageTimer()
        keep = options.keep_mask

        with timer.stage("ocr"):
            lines = self.detector.detect(image)
        with timer.stage("segment"):
            alpha = self.segmenter.segment(image)
        with timer.stage("classify"):
            decisions = self.classify(image, lines, alpha)

        wanted = [
            options.text_mode == TextMode.ALL or decision.kind == TextKind.OVERLAY
            for _, decision in zip(lines, decisions, strict=True)
        ]
        with timer.stage("mask"):
            # Lines the user's keep-mask protects are kept; the erase mask never reaches
            # over the text we keep; the user's own brush (add_mask) is erased too.
            first = self.masker.first_pass(
                image, lines, wanted, alpha, keep=keep, add=options.add_mask
            )
        kept: list[TextLine] = []  # the residual passes never erase over these
        regions: list[TextRegion] = []
        for line, decision, want, protected in zip(
            lines, decisions, wanted, first.protected, strict=True
        ):
            erase = want and not protected
            if not erase:
                kept.append(line)
            # A line the user's keep-mask protects is kept by their choice: not "uncertain".
            action = TextAction.KEPT if protected else kept_action(decision, erase)
            regions.append(text_region(line, decision, action))
        mask, protect = first.mask, first.protect

        out = image.copy()
        if mask.any():
            with timer.stage("inpaint"):
                out = self.inpainter.inpaint(image, mask, product_alpha=alpha)

        # Where we meant to erase: what we rebuilt, plus the boxes of the lines we chose to
        # erase (if their strokes were missed, the box is where the residual text sits).
        erased_quads = first.erased
        passes = 0
        for _ in range(options.max_residual_passes):
            if not mask.any() and not erased_quads.any():
                break
            with timer.stage("recheck"):
                residual, unseen = self._recheck(out, np.maximum(mask, erased_quads), protect)
            with timer.stage("classify"):
                # Text hidden under an overlay (an outlined slogan under a tiled watermark)
                # or drowned by a louder line may only show once those are gone: decide on
                # it as on the first pass.
                fresh = self.classify(out, unseen, alpha) if unseen else []
            newly: list[TextLine] = []
            newly_kept: list[TextLine] = []
            for line, decision in zip(unseen, fresh, strict=True):
                wanted_now = options.text_mode == TextMode.ALL or decision.kind == TextKind.OVERLAY
                (newly if wanted_now else kept).append(line)
                regions.append(text_region(line, decision, kept_action(decision, wanted_now)))
                if not wanted_now:
                    newly_kept.append(line)
            if not residual and not newly:
                break
            passes += 1
            with timer.stage("mask"):
                # The new lines' masks (confined as on the first pass), the residuals'
                # strokes and ink bands; never over what we protect (now also newly_kept).
                step = self.masker.residual_pass(
                    out,
                    newly,
                    residual,
                    kept,
                    alpha,
                    protect=protect,
                    erased=erased_quads,
                    newly_kept=newly_kept,
                )
            extra, protect = step.extra, step.protect
            if not extra.any():
                break
            with timer.stage("inpaint"):
                out = self.inpainter.inpaint(out, extra, product_alpha=alpha)
            mask = np.maximum(mask, extra)
            erased_quads = step.erased
            found_again = LineDecision(TextKind.OVERLAY, 1.0, {"residual_pass": float(passes)})
            regions.extend(text_region(line, found_again, TextAction.ERASED) for line in residual)

        # Whatever a backend does, pixels away from the erase mask (and its seam) are the
        # original pixels, the keep-mask's all of them; the product outline is completed
        # under what was erased.
        out, completed = self.masker.finish(image, out, mask, alpha, keep=keep)
        return CleanResult(
            image=out,
            regions=regions,
            erase_mask=mask,
            product_alpha=completed,
            residual_passes=passes,
            seconds=timer.seconds,
        )

    def _recheck(
        self, out: ImageArray, mask: MaskArray, known: MaskArray
    ) -> tuple[list[TextLine], list[TextLine]]:
        """OCR the area we meant to erase (plus margin) again.

        Returns the residuals (lines that sit in ``mask``: what our erasing left) and the
        unseen lines (found now, away from the mask and from the ``known`` kept lines).
        """
        ys, xs = np.nonzero(mask)
        pad = 24
        h, w = mask.shape
        y0, y1 = max(0, int(ys.min()) - pad), min(h, int(ys.max()) + pad + 1)
        x0, x1 = max(0, int(xs.min()) - pad), min(w, int(xs.max()) + pad + 1)
        # The colour pass alone: what our erasing left is as visible as what it erased, and
        # the faint/tile passes would double the recheck's cost (the gRPC client has only
        # ``detect``: it runs every pass).
        detect = getattr(self.detector, "detect_colour", self.detector.detect)
        found = detect(np.ascontiguousarray(out[y0:y1, x0:x1]))
        moved = [
            TextLine(
                box=[(x + x0, y + y0) for x, y in line.box],
                text=line.text,
                confidence=line.confidence,
            )
            for line in found
        ]
        overlaps = self.masker.locate(moved, mask, known) if moved else []
        residual, unseen = [], []
        for line, (in_mask, in_known) in zip(moved, overlaps, strict=True):
            if in_mask >= RESIDUAL_OVERLAP:
                # A lone glyph read on what we rebuilt is as likely a product edge running
                # through it or the rebuilt texture itself; the strokes found there would
                # be those edges. Residual text reads as 2+ characters.
                if _readable(line) >= RESIDUAL_MIN_CHARS:
                    residual.append(line)
            elif in_known < UNSEEN_OVERLAP and _credible(line):
                unseen.append(line)
        return residual, unseen

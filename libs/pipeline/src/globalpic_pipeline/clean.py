"""The ``clean`` op: find Chinese text, decide overlay vs product, erase overlays, rebuild.

Composed only from the domain interfaces (``TextDetector``, ``Segmenter``, ``Inpainter``) plus
two pure functions (the overlay classifier and the erase-mask builder), so the same code runs
in-process (CLI, tests) and, later, against the gRPC clients of the services.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import cv2
import numpy as np

from globalpic_common.interfaces import (
    AlphaArray,
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
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.inpaint import completed_silhouette
from globalpic_generation.quads import fill_quad, fill_quads, ink_band, text_height
from globalpic_ocr.overlay import classify_lines
from globalpic_pipeline.texts import Classifier, kept_action, load_backends, text_region

MaskBuilder = Callable[..., MaskArray]

# A re-detected line counts as a residual of our erasing when this share of its box lies in
# what we rebuilt; lower would re-erase product text that merely touches an erased badge.
RESIDUAL_OVERLAP = 0.4
RESIDUAL_MIN_CHARS = 2
# A re-detected line away from the erase mask is new text (not a kept line found again)
# when less than this share of its box lies on the lines we keep.
UNSEEN_OVERLAP = 0.3
UNSEEN_MIN_CHARS = 2
UNSEEN_MIN_CONFIDENCE = 0.8
# Seam tolerance: inpainters may blend this many pixels past the mask, never farther.
SEAM_PX = 2


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


def _share_inside(box: Sequence[tuple[float, float]], mask: MaskArray) -> float:
    q = fill_quad(mask.shape[:2], box)
    area = int(np.count_nonzero(q))
    if area == 0:
        return 0.0
    return float(np.count_nonzero(q & mask)) / area


def _quads_mask(shape: tuple[int, int], lines: Sequence[TextLine], grow: int = 0) -> MaskArray:
    """Filled line boxes, grown by ``grow`` px."""
    mask = fill_quads(shape, [line.box for line in lines])
    if grow and lines:
        mask = np.asarray(cv2.dilate(mask, np.ones((2 * grow + 1,) * 2, np.uint8)), np.uint8)
    return mask


def _kept_protection(
    shape: tuple[int, int], kept: Sequence[TextLine], erased: Sequence[TextLine]
) -> MaskArray:
    """What the lines we keep protect from the erase mask: their boxes, grown by 2 px.

    Where a kept line's box overlaps an erased line's box, only its ink band is protected: a
    detector's box is padded by about a quarter of a text height, and an overlay set right
    under a label line (an outlined slogan below the brand) would otherwise keep the top of
    its outline, which the fill then drags down the hole as stripes.
    """
    full = _quads_mask(shape, kept, grow=2)
    if not kept or not erased:
        return full
    bands = fill_quads(shape, [ink_band(line.box) for line in kept])
    bands = np.asarray(cv2.dilate(bands, np.ones((5, 5), np.uint8)), np.uint8)
    contested = _quads_mask(shape, erased) > 0
    return np.where(contested, bands, full).astype(np.uint8)


# On the product, the gaps a stroke mask leaves inside a line's ink band are closed up to this
# share of the text height: an outline that sinks into the same-coloured print below it (a
# dark outline over a dark label band) is missed by the ink clustering, and the product fill,
# which continues the product along its rows and columns, would drag what is left of it across
# the hole as stripes.
STROKE_CLOSE_REACH = 0.25


def _close_strokes_on_product(
    mask: MaskArray, erased: Sequence[TextLine], alpha: AlphaArray | None
) -> MaskArray:
    if alpha is None or not erased or not mask.any():
        return mask
    product = (alpha >= 0.5).astype(np.uint8)
    out = mask.copy()
    for line in erased:
        if _share_inside(line.box, product) < 0.5:
            continue
        band = fill_quad(mask.shape[:2], ink_band(line.box)) > 0
        reach = max(2, round(text_height(line.box) * STROKE_CLOSE_REACH))
        near = cv2.dilate(mask, np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
        out[band & near & (product > 0)] = 255
    return out


def _credible(line: TextLine) -> bool:
    """New text found on a rebuilt image must read as text: a lone glyph read with low
    confidence is as likely the texture of a rebuilt area or the product's pattern."""
    return _readable(line) >= UNSEEN_MIN_CHARS and line.confidence >= UNSEEN_MIN_CONFIDENCE


def _readable(line: TextLine) -> int:
    """Letters, digits and CJK characters in the line's text."""
    return sum(ch.isalnum() for ch in line.text)


def _union(a: MaskArray | None, b: MaskArray) -> MaskArray:
    return b if a is None else np.maximum(a, b)


# A badge or sticker covers a small part of the product; a mask region over more than this
# share of the product mask is the product itself taken for a backing.
MAX_PRODUCT_SHARE = 0.3
# A kept line whose box is this much inside one mask region was swallowed by it.
SWALLOWED_SHARE = 0.5
# How far from an erased line's box a confined region may reach (text heights): glyph
# outlines, glow and drop shadows, not a backing.
CONFINE_REACH = 0.3


def _confine_suspect_regions(
    mask: MaskArray,
    erased: Sequence[TextLine],
    kept: Sequence[TextLine],
    product_alpha: AlphaArray | None,
    strokes: Callable[[], MaskArray] | None = None,
) -> MaskArray:
    """Confine mask regions that cannot be an overlay's graphic to near the erased lines.

    Suspect regions hold text we keep (a product panel taken for a badge takes its label
    with it) or cover a large part of the product. Of those, only the part close to an
    erased line's box stays in the mask, and of that only ``strokes()`` (the lines' glyph
    pixels found without any backing; computed only when needed) when given.
    """
    if not erased or not mask.any():
        return mask
    shape = mask.shape[:2]
    _, labels = cv2.connectedComponents((mask > 0).astype(np.uint8), connectivity=8)
    suspects: set[int] = set()
    for line in kept:
        # Swallowed, not merely crossed: a watermark stroke over a label covers a little of
        # its box, a flood that took the whole panel covers most of it.
        in_box = fill_quad(shape, line.box) > 0
        inside = labels[in_box & (mask > 0)]
        if inside.size >= SWALLOWED_SHARE * max(1, int(in_box.sum())):
            suspects.add(int(np.bincount(inside).argmax()))
    if product_alpha is not None:
        product = product_alpha >= 0.5
        area = int(product.sum())
        if area > 0.02 * product.size:
            on_product = np.bincount(labels[product & (mask > 0)], minlength=int(labels.max()) + 1)
            suspects |= {int(k) for k in np.nonzero(on_product > MAX_PRODUCT_SHARE * area)[0]}
    suspects.discard(0)
    if not suspects:
        return mask
    near = np.zeros(shape, np.uint8)
    for line in erased:
        reach = max(2, round(text_height(line.box) * CONFINE_REACH))
        box = fill_quad(shape, line.box)
        kernel = np.ones((2 * reach + 1,) * 2, np.uint8)
        np.maximum(near, np.asarray(cv2.dilate(box, kernel), np.uint8), out=near)
    out = mask.copy()
    suspect = np.isin(labels, list(suspects))
    out[suspect & (near == 0)] = 0
    if strokes is not None:
        # Near the line, the backing flood is still the product's surface: only the
        # line's own strokes (glyphs, outline, shadow) go.
        out[suspect & (strokes() == 0)] = 0
    return out


class Cleaner:
    """Runs ``clean`` on one image at a time; models load once and are reused."""

    def __init__(
        self,
        detector: TextDetector,
        segmenter: Segmenter,
        inpainter: Inpainter,
        classify: Classifier = classify_lines,
        build_mask: MaskBuilder = build_erase_mask,
    ) -> None:
        self.detector = detector
        self.segmenter = segmenter
        self.inpainter = inpainter
        self.classify = classify
        self.build_mask = build_mask

    def load(self) -> None:
        """Load every model now (first image pays nothing; a missing model fails early)."""
        load_backends(self.detector, self.segmenter)

    def clean(self, image: ImageArray, options: CleanOptions | None = None) -> CleanResult:
        options = options or CleanOptions()
        timer = StageTimer()
        h, w = image.shape[:2]
        keep = options.keep_mask

        with timer.stage("ocr"):
            lines = self.detector.detect(image)
        with timer.stage("segment"):
            alpha = self.segmenter.segment(image)
        with timer.stage("classify"):
            decisions = self.classify(image, lines, alpha)

        to_erase: list[TextLine] = []
        kept: list[TextLine] = []
        regions: list[TextRegion] = []
        for line, decision in zip(lines, decisions, strict=True):
            wanted = options.text_mode == TextMode.ALL or decision.kind == TextKind.OVERLAY
            protected = keep is not None and _share_inside(line.box, keep) >= 0.5
            erase = wanted and not protected
            (to_erase if erase else kept).append(line)
            # A line the user's keep-mask protects is kept by their choice: not "uncertain".
            action = TextAction.KEPT if protected else kept_action(decision, erase)
            regions.append(text_region(line, decision, action))

        # Text we keep is never erased, even when a backing flood or a watermark tile would
        # reach over it (a product panel taken for a badge would take its label with it).
        # The user's own brush (add_mask) still wins over that; their keep-mask over all.
        kept_quads = _kept_protection((h, w), kept, to_erase)
        protect = _union(keep, kept_quads)
        with timer.stage("mask"):
            mask = (
                self.build_mask(image, to_erase, protect=keep)
                if to_erase
                else np.zeros((h, w), np.uint8)
            )
            mask = _confine_suspect_regions(
                mask,
                to_erase,
                kept,
                alpha,
                lambda: self.build_mask(image, to_erase, protect=keep, backings=False),
            )
            mask = _close_strokes_on_product(mask, to_erase, alpha)
            mask[kept_quads > 0] = 0
            if options.add_mask is not None:
                mask = np.maximum(mask, options.add_mask)
            if keep is not None:
                mask[keep > 0] = 0

        out = image.copy()
        if mask.any():
            with timer.stage("inpaint"):
                out = self.inpainter.inpaint(image, mask, product_alpha=alpha)

        # Where we meant to erase: what we rebuilt, plus the boxes of the lines we chose to
        # erase (if their strokes were missed, the box is where the residual text sits).
        erased_quads = _quads_mask((h, w), to_erase)
        erased_quads[protect > 0] = 0
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
            for line, decision in zip(unseen, fresh, strict=True):
                wanted = options.text_mode == TextMode.ALL or decision.kind == TextKind.OVERLAY
                (newly if wanted else kept).append(line)
                regions.append(text_region(line, decision, kept_action(decision, wanted)))
                if not wanted:
                    protect = np.maximum(protect, _quads_mask((h, w), [line], grow=2))
            if not residual and not newly:
                break
            passes += 1
            with timer.stage("mask"):
                # Floods on a rebuilt area run on into the photo: confined as on the first pass.
                extra = (
                    _confine_suspect_regions(
                        self.build_mask(out, newly, protect=protect),
                        newly,
                        kept,
                        alpha,
                        partial(self.build_mask, out, newly, protect=protect, backings=False),
                    )
                    if newly
                    else np.zeros((h, w), np.uint8)
                )
                if residual:
                    # A residual's backing, if it had one, went on the first pass: around it
                    # now lies rebuilt texture or the product's own surface (a flat box face
                    # around a leftover stroke reads as a badge), so only strokes go.
                    strokes = self.build_mask(out, residual, protect=protect, backings=False)
                    extra = np.maximum(extra, strokes)
                    # The graphic-level mask missed these strokes once: take the band of the
                    # box the glyphs fill as well, certain to cover them, not the padding.
                    bands = [ink_band(line.box) for line in residual]
                    extra = np.maximum(extra, fill_quads((h, w), bands))
                extra[protect > 0] = 0
            if not extra.any():
                break
            with timer.stage("inpaint"):
                out = self.inpainter.inpaint(out, extra, product_alpha=alpha)
            mask = np.maximum(mask, extra)
            erased_quads = np.maximum(erased_quads, _quads_mask((h, w), newly))
            found_again = LineDecision(TextKind.OVERLAY, 1.0, {"residual_pass": float(passes)})
            regions.extend(text_region(line, found_again, TextAction.ERASED) for line in residual)

        # Whatever a backend does, pixels away from the erase mask are the original pixels.
        seam = cv2.dilate(mask, np.ones((2 * SEAM_PX + 1,) * 2, np.uint8))
        if keep is not None:
            seam[keep > 0] = 0  # the user's keep-mask is never touched, seam included
        out = np.where(seam[:, :, None] > 0, out, image).astype(np.uint8)
        if alpha is not None and mask.any():
            # What the segmenter took for product under an overlay is now rebuilt pixels:
            # the ops after clean get the outline the fill completed, not the overlay's shape.
            alpha = completed_silhouette(mask, alpha)
        return CleanResult(
            image=out,
            regions=regions,
            erase_mask=mask,
            product_alpha=alpha,
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
        grown = np.asarray(cv2.dilate(mask, np.ones((9, 9), np.uint8)), dtype=np.uint8)
        residual, unseen = [], []
        for line in found:
            box = [(x + x0, y + y0) for x, y in line.box]
            moved = TextLine(box=box, text=line.text, confidence=line.confidence)
            if _share_inside(box, grown) >= RESIDUAL_OVERLAP:
                # A lone glyph read on what we rebuilt is as likely a product edge running
                # through it or the rebuilt texture itself; the strokes found there would
                # be those edges. Residual text reads as 2+ characters.
                if _readable(moved) >= RESIDUAL_MIN_CHARS:
                    residual.append(moved)
            elif _share_inside(box, known) < UNSEEN_OVERLAP and _credible(moved):
                unseen.append(moved)
        return residual, unseen

"""The mask geometry of the ``clean`` op: ``CleanMasker``, the in-process ``EraseMasker``.

``globalpic_orchestrator.pipeline.clean`` decides which lines to erase and when to stop; every pixel
operation on its masks lives here, beside the erase mask it builds on (``erase_mask``): the
first pass (the keep mask's protection, the erase mask confined and closed on the product,
the kept lines cut out), the re-check's box-in-mask shares, a residual pass's extra mask,
and the final composite (the seam, the completed product outline). Over gRPC the same steps
are the ``EraseFirstPass``, ``EraseLocate``, ``EraseResidualPass`` and ``EraseFinish`` RPCs
(``GenerationClient`` implements ``EraseMasker`` with them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import cv2
import numpy as np

from globalpic_common.interfaces import (
    AlphaArray,
    FirstPassMasks,
    ImageArray,
    MaskArray,
    ResidualPassMasks,
)
from globalpic_common.schemas import TextLine
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.inpaint import completed_silhouette
from globalpic_generation.quads import fill_quad, fill_quads, ink_band, text_height
from globalpic_generation.settings import GenerationSettings

# A line the user's keep mask covers this much of is kept, whatever the classifier says.
KEEP_MASK_SHARE = 0.5
# The re-check's margin: a re-detected line is measured against what we meant to erase grown
# by this many pixels.
RECHECK_GROW_PX = 4
# Seam tolerance: inpainters may blend this many pixels past the mask, never farther.
SEAM_PX = 2


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


class CleanMasker:
    """``EraseMasker`` in this process: ``erase_mask.build_erase_mask`` with ``settings``
    (None: ``GenerationSettings()`` read at each call, from this process's environment)."""

    def __init__(self, settings: GenerationSettings | None = None) -> None:
        self.settings = settings

    def _build(
        self,
        image: ImageArray,
        lines: Sequence[TextLine],
        *,
        protect: MaskArray | None = None,
        backings: bool = True,
    ) -> MaskArray:
        return build_erase_mask(
            image, lines, protect=protect, settings=self.settings, backings=backings
        )

    def first_pass(
        self,
        image: ImageArray,
        lines: Sequence[TextLine],
        wanted: Sequence[bool],
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
        add: MaskArray | None = None,
    ) -> FirstPassMasks:
        h, w = image.shape[:2]
        protected = [
            keep is not None and _share_inside(line.box, keep) >= KEEP_MASK_SHARE for line in lines
        ]
        to_erase: list[TextLine] = []
        kept: list[TextLine] = []
        for line, want, shielded in zip(lines, wanted, protected, strict=True):
            (to_erase if want and not shielded else kept).append(line)

        # Text we keep is never erased, even when a backing flood or a watermark tile would
        # reach over it (a product panel taken for a badge would take its label with it).
        # The user's own brush (add) still wins over that; their keep mask over all.
        kept_quads = _kept_protection((h, w), kept, to_erase)
        protect = _union(keep, kept_quads)
        mask = (
            self._build(image, to_erase, protect=keep) if to_erase else np.zeros((h, w), np.uint8)
        )
        mask = _confine_suspect_regions(
            mask,
            to_erase,
            kept,
            product_alpha,
            lambda: self._build(image, to_erase, protect=keep, backings=False),
        )
        mask = _close_strokes_on_product(mask, to_erase, product_alpha)
        mask[kept_quads > 0] = 0
        if add is not None:
            mask = np.maximum(mask, add)
        if keep is not None:
            mask[keep > 0] = 0

        # Where we meant to erase: what we rebuilt, plus the boxes of the lines we chose to
        # erase (if their strokes were missed, the box is where the residual text sits).
        erased = _quads_mask((h, w), to_erase)
        erased[protect > 0] = 0
        return FirstPassMasks(protected=protected, mask=mask, protect=protect, erased=erased)

    def locate(
        self, lines: Sequence[TextLine], erased: MaskArray, known: MaskArray
    ) -> list[tuple[float, float]]:
        kernel = np.ones((2 * RECHECK_GROW_PX + 1,) * 2, np.uint8)
        grown = np.asarray(cv2.dilate(erased, kernel), dtype=np.uint8)
        return [(_share_inside(line.box, grown), _share_inside(line.box, known)) for line in lines]

    def residual_pass(
        self,
        image: ImageArray,
        newly: Sequence[TextLine],
        residual: Sequence[TextLine],
        kept: Sequence[TextLine],
        product_alpha: AlphaArray | None,
        *,
        protect: MaskArray,
        erased: MaskArray,
        newly_kept: Sequence[TextLine] = (),
    ) -> ResidualPassMasks:
        h, w = image.shape[:2]
        for line in newly_kept:
            protect = np.maximum(protect, _quads_mask((h, w), [line], grow=2))
        # Floods on a rebuilt area run on into the photo: confined as on the first pass.
        extra = (
            _confine_suspect_regions(
                self._build(image, newly, protect=protect),
                newly,
                kept,
                product_alpha,
                partial(self._build, image, newly, protect=protect, backings=False),
            )
            if newly
            else np.zeros((h, w), np.uint8)
        )
        if residual:
            # A residual's backing, if it had one, went on the first pass: around it
            # now lies rebuilt texture or the product's own surface (a flat box face
            # around a leftover stroke reads as a badge), so only strokes go.
            strokes = self._build(image, residual, protect=protect, backings=False)
            extra = np.maximum(extra, strokes)
            # The graphic-level mask missed these strokes once: take the band of the
            # box the glyphs fill as well, certain to cover them, not the padding.
            bands = [ink_band(line.box) for line in residual]
            extra = np.maximum(extra, fill_quads((h, w), bands))
        extra[protect > 0] = 0
        erased = np.maximum(erased, _quads_mask((h, w), newly))
        return ResidualPassMasks(extra=extra, protect=protect, erased=erased)

    def finish(
        self,
        image: ImageArray,
        erased: ImageArray,
        mask: MaskArray,
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
    ) -> tuple[ImageArray, AlphaArray | None]:
        # Whatever a backend does, pixels away from the erase mask are the original pixels.
        seam = cv2.dilate(mask, np.ones((2 * SEAM_PX + 1,) * 2, np.uint8))
        if keep is not None:
            seam[keep > 0] = 0  # the user's keep-mask is never touched, seam included
        out = np.where(seam[:, :, None] > 0, erased, image).astype(np.uint8)
        if product_alpha is not None and mask.any():
            # What the segmenter took for product under an overlay is now rebuilt pixels:
            # the ops after clean get the outline the fill completed, not the overlay's shape.
            product_alpha = completed_silhouette(mask, product_alpha)
        return out, product_alpha

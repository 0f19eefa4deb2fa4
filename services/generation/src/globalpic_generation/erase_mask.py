"""The erase mask: every pixel that the overlays of the given text lines changed.

For each line: the backing shape (badge, sticker, banner, price tag) when there is one, plus
the pixels around it and in the quad that differ from the photo (glyphs, outlines, shadows,
semi-transparent watermark strokes), grown a few pixels to cover anti-aliasing and JPEG
ringing. The user's keep-mask is always cut out of the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_common.schemas import TextLine
from globalpic_generation.backing import find_backing
from globalpic_generation.glyphs import overlay_pixels
from globalpic_generation.quads import clip_box, dilate, fill_quad
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.tiles import tiled_watermark_mask


def build_erase_mask(
    image: ImageArray,
    lines: Sequence[TextLine],
    *,
    protect: MaskArray | None = None,
    settings: GenerationSettings | None = None,
    backings: bool = True,
) -> MaskArray:
    """The mask (uint8 H x W, 255 = erase) of the whole overlay graphic of each line.

    ``backings=False``: the strokes only (glyphs, outlines, shadows), no badge or banner.
    """
    settings = settings or GenerationSettings()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be an H x W x 3 uint8 array")
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    if not lines:
        return mask
    smooth = np.asarray(cv2.medianBlur(image, 3), np.uint8)
    clipped = [(clip_box(line.box, (h, w)), line.text) for line in lines]
    boxes = [box for box, _ in clipped if box is not None]
    texts = [text for box, text in clipped if box is not None]
    text_quads = np.zeros((h, w), np.uint8)
    for box in boxes:
        np.maximum(text_quads, fill_quad((h, w), box), out=text_quads)
    for box in boxes:
        backing = find_backing(smooth, box, settings, text_quads) if backings else None
        roi, found = overlay_pixels(image, box, settings, core=backing)
        if found.size == 0:
            continue
        grown = dilate(found, settings.mask_dilate_px)
        np.maximum(mask[roi.slices], grown, out=mask[roi.slices])
    tiles = tiled_watermark_mask(image, boxes, texts)
    if tiles.any():
        np.maximum(mask, dilate(tiles, settings.mask_dilate_px), out=mask)
    if protect is not None:
        if protect.shape[:2] != (h, w):
            raise ValueError("protect must have the image's height and width")
        mask[protect > 0] = 0
    return mask

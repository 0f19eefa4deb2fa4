"""Zoom-in second pass: U²-Net-p again on a crop around the products, fused with the full map.

The network always sees its input at 320 x 320, so on a 1024 px photo a product that fills
half the frame is judged from ~160 px: gaps between a stool's legs, a tape roll's hole and
2-4 px legs are below its resolution and come out filled or faded. Run again on a square crop
around the products (their box plus a margin of background, so they are still salient objects
on a backdrop), the same network sees them at up to twice the resolution and resolves those
details. This is the classic coarse-to-fine fix for salient maps on large images. One crop
holds every product kept, so the cost is one network run per photo at most; products spread
over the frame give no useful zoom and keep the full-frame map.

Fusion: inside the crop the zoomed map replaces the full-frame one; outside it the full-frame
map stays (``ALL``) or is dropped (``SALIENT``: the product was already chosen on the full
frame, and the zoomed map must not reopen that choice). Two safeguards:

* the zoomed map is used only when both passes put the products in about the same box: with
  little backdrop around it, the network may take a label or a detail for the salient object;
* thin parts of the products found on the full frame (a strap, a cable) keep their full-frame
  alpha. The coarse map's errors are thick fills (a gap closed up), not thin lines, and a close
  crop can lose a thin part that its larger context made salient.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_segmentation.components import Box, ProductRegion, mask_box

BoolMask = npt.NDArray[np.bool_]

# Parts of the full-frame products thinner than twice this share of the diagonal (about
# 2 x 2 network pixels at 1024 px) keep their full-frame alpha whatever the zoomed map says.
THIN_RADIUS = 0.005
# The zoomed map replaces the full-frame one only when both put the products in about the
# same box (intersection over union of the two boxes).
MIN_BOX_IOU = 0.7
# A crop that would show the network the products less than this much larger than the full
# frame does is not worth a second run (products filling most of the frame).
MIN_GAIN = 1.25


def zoom_box(box: Box, shape: tuple[int, int], margin: float) -> Box | None:
    """A square crop around ``box`` with ``margin`` x its long side on each side, shifted to
    lie inside the image; None when it would not enlarge the products by ``MIN_GAIN``.

    Square, because the network squeezes any input to 320 x 320: a square crop keeps the
    product's proportions as it was trained on them.
    """
    height, width = shape
    x0, y0, x1, y1 = box
    side = round(max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin))
    if side * MIN_GAIN > max(height, width):
        return None
    crop_w, crop_h = min(side, width), min(side, height)
    # Centred on the product, then pushed back inside the frame (the margin moves to the side
    # that has room: the product stays whole in the crop).
    left = int(np.clip(round((x0 + x1 - crop_w) / 2), 0, width - crop_w))
    top = int(np.clip(round((y0 + y1 - crop_h) / 2), 0, height - crop_h))
    return left, top, left + crop_w, top + crop_h


def zoom_in(
    segmenter: Segmenter,
    image: ImageArray,
    coarse: AlphaArray,
    products: list[ProductRegion],
    margin: float,
    keep_outside: bool,
) -> AlphaArray | None:
    """The fused map, or None when zooming does not apply (no crop enlarges the products, or
    the two passes disagree on where they are): then the full-frame map stands.

    ``keep_outside``: pixels outside the crop keep the full-frame map (else they become 0).
    """
    shape = (coarse.shape[0], coarse.shape[1])
    found = np.logical_or.reduce([p.mask for p in products])
    box = mask_box(found)
    crop = zoom_box(box, shape, margin) if box else None
    if crop is None:
        return None
    x0, y0, x1, y1 = crop
    detail = segmenter.segment(np.ascontiguousarray(image[y0:y1, x0:x1]))
    fused = coarse.copy() if keep_outside else np.zeros_like(coarse)
    fused[y0:y1, x0:x1] = detail
    if not _same_extent(fused >= 0.5, (coarse >= 0.5) & found, crop):
        return None
    thin = _thin(found, THIN_RADIUS * math.hypot(*shape))
    return np.maximum(fused, np.where(thin, coarse, 0.0)).astype(np.float32)


def _same_extent(zoomed: BoolMask, full: BoolMask, crop: Box) -> bool:
    """Whether the two passes agree on where the products are: inside the crop, the boxes of
    their confident pixels overlap by ``MIN_BOX_IOU``. The close-up may find a gap or a hole
    the full frame filled, which leaves the box as it is; a box that shrinks to a label or a
    detail means the network took a part of the product for the salient object.
    """
    x0, y0, x1, y1 = crop
    a, b = mask_box(zoomed[y0:y1, x0:x1]), mask_box(full[y0:y1, x0:x1])
    if a is None or b is None:
        return False
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return union > 0 and inter / union >= MIN_BOX_IOU


def _thin(mask: BoolMask, radius: float) -> BoolMask:
    """Pixels of ``mask`` that an opening with a disk of ``radius`` removes: thin parts."""
    size = 2 * max(1, round(radius)) + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    opened = np.asarray(cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk), np.uint8)
    return np.asarray(mask & (opened == 0), np.bool_)

"""What counts as product in a matte: the threshold, the specks left out, the product box and
the share of a frame it fills.

Shared by generation's canvas fit (where the product goes in a frame) and segmentation's
marketplace rules (does it fill the frame): one definition, no service importing the
other's. numpy and scipy only: no OpenCV in a process that does not need it.

The 8-connected parts come from ``scipy.ndimage.label``, with OpenCV's
``connectedComponentsWithStats`` results: the same parts, and where only specks exist the
same one chosen among equal largest (OpenCV numbers parts by their first 2 x 2 block in
raster order, and so does the tie-break here).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)

PRODUCT_THRESHOLD = 0.5
# Mask components smaller than this share of the image are segmentation noise, not product
# (a real detached part, a cable end or a second shoe, is far larger).
SPECK_SHARE = 0.0005


# 8-connected: parts that touch diagonally are one part (as OpenCV's connectivity=8).
_EIGHT = np.ones((3, 3), bool)


def product_parts(mask: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    """The product pixels (mask > 0) without segmentation specks."""
    binary = np.asarray(mask) > 0
    if not binary.any():
        return binary
    labels, count = ndimage.label(binary, structure=_EIGHT)
    area = np.bincount(labels.ravel(), minlength=count + 1)
    area[0] = 0  # the background is no part
    min_area = max(1, SPECK_SHARE * binary.size)
    kept = area >= min_area
    if not kept.any():  # only specks: the largest of them is all we have
        largest = np.flatnonzero(area == area.max())
        if largest.size > 1:
            # Among equal largest, OpenCV's first label: the part whose first 2 x 2 block
            # comes first in raster order of blocks.
            h, w = binary.shape
            ys, xs = np.mgrid[0:h, 0:w]
            block = (ys // 2) * ((w + 1) // 2) + xs // 2
            first_block = ndimage.minimum(block, labels, largest)
            largest = largest[[int(np.argmin(first_block))]]
        kept = np.zeros(count + 1, bool)
        kept[largest] = True
    return np.asarray(kept[labels])


def product_box(mask: npt.NDArray[np.generic]) -> Box | None:
    """Bounding box of the product pixels (mask > 0), specks left out; None if there are none."""
    parts = product_parts(mask)
    if not parts.any():
        return None
    ys = np.flatnonzero(parts.any(axis=1))
    xs = np.flatnonzero(parts.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def product_fill(box: Box, width: int, height: int) -> float:
    """Share of the frame the product box spans: the larger of its width and height shares.

    On a square frame this is the box's longer side over the frame's side (Amazon's 85 %
    rule); on other frames, the axis the product fills most.
    """
    x0, y0, x1, y1 = box
    return max((x1 - x0) / width, (y1 - y0) / height)

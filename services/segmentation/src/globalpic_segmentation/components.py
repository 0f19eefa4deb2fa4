"""Which products a coarse alpha map holds: connected components of the confident mask.

Each product is a component of ``coarse >= threshold`` big enough to be a product, plus the
weak parts attached to it (components of ``coarse >= attach_threshold`` that overlap it or
lie within a short reach): a bag's strap or a cable that the 320 px network only half-sees
must stay with its product, not be dropped as noise. Products come out most salient first:
bigger and nearer the centre ranks higher, as a shopper's eye would rank them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
BoolMask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ProductRegion:
    mask: BoolMask  # the product and its attached weak parts, image-sized
    box: Box  # bounding box of ``mask``
    salience: float  # area x centrality of its confident core


def mask_box(mask: BoolMask) -> Box | None:
    """Bounding box of the true pixels, or None when there are none."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _disk(radius: int) -> npt.NDArray[np.uint8]:
    size = 2 * radius + 1
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def find_products(
    coarse: AlphaArray,
    *,
    salient_only: bool,
    threshold: float = 0.5,
    attach_threshold: float = 0.15,
    attach_reach: float = 0.03,
    min_area: float = 0.002,
    min_relative_area: float = 0.05,
) -> list[ProductRegion]:
    """The products in ``coarse`` (most salient first); only the first when ``salient_only``."""
    height, width = coarse.shape
    strong = (coarse >= threshold).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if count <= 1:
        return []
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    floor = max(min_area * height * width, min_relative_area * float(areas.max()))
    # The largest component always counts, however small: the caller asked for a product.
    ids = [i + 1 for i in range(count - 1) if areas[i] >= floor or areas[i] == areas.max()]
    half_diag = math.hypot(width, height) / 2

    def salience(i: int) -> float:
        cx, cy = centroids[i]
        off_centre = math.hypot(cx - width / 2, cy - height / 2) / half_diag
        return float(areas[i - 1]) * (1.0 - 0.5 * off_centre)

    ids.sort(key=salience, reverse=True)
    if salient_only:
        ids = ids[:1]
    weak = (coarse >= attach_threshold).astype(np.uint8)
    _, weak_labels = cv2.connectedComponents(weak, connectivity=8)
    reach = max(1, round(attach_reach * math.hypot(width, height)))
    kept_strong = np.isin(labels, ids)
    # Pixels of confident components we do not keep never join a kept product.
    others = (strong > 0) & ~kept_strong
    regions: list[ProductRegion] = []
    for i in ids:
        core = (labels == i).astype(np.uint8)
        near = np.asarray(cv2.dilate(core, _disk(reach)), np.uint8) > 0
        attached = np.unique(weak_labels[near & (weak > 0)])
        mask = (np.isin(weak_labels, attached[attached > 0]) & ~others) | (core > 0)
        box = mask_box(mask)
        if box is not None:
            regions.append(ProductRegion(mask, box, salience(i)))
    return regions

"""Which products a coarse alpha map holds: connected components of the confident mask.

Each product is a component of ``coarse >= threshold`` big enough to be a product, plus the
weak parts attached to it (components of ``coarse >= attach_threshold`` that overlap it or
lie within a short reach): a bag's strap or a cable that the 320 px network only half-sees
must stay with its product, not be dropped as noise. A confident component that is thin
next to a thick one it nearly touches is a part of it too (a strap the network saw clearly
but broke off where it meets the bag), never a product of its own. Products come out most
salient first: bigger and nearer the centre ranks higher, as a shopper's eye would rank them.
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
Labels = npt.NDArray[np.int32]

# A confident component is a *part* (strap, cable, handle), not a product of its own, when its
# inscribed radius is at most this share of the thickest component's and of the image
# diagonal, it is long for its width (area at least this many squares of its width: a speck
# of noise is not) and it lies within the attach reach of a thicker component: products are
# solid objects, and the network often breaks a thin part off where it fades at 320 px.
PART_RADIUS_RATIO = 0.1
PART_RADIUS_DIAGONAL = 0.01
PART_MIN_LENGTH = 4


@dataclass(frozen=True)
class ProductRegion:
    mask: BoolMask  # the product and its attached weak parts, image-sized
    box: Box  # bounding box of ``mask``
    salience: float  # area x centrality of its confident core
    # Its confident components (core and thin parts), image-sized: what ``objects`` removes
    # from the cut-out when it drops this object but keeps a neighbour weakly joined to it.
    core: BoolMask | None = None


def mask_box(mask: BoolMask) -> Box | None:
    """Bounding box of the true pixels, or None when there are none."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _near(mask: BoolMask, reach: int, box: Box | None = None) -> BoolMask:
    """Pixels within ``reach`` (Euclidean) of ``mask``: a dilation by a disk, computed as a
    distance transform on the mask's box grown by ``reach`` (a 40 px disk dilation of the
    whole image costs ten times as much)."""
    near = np.zeros(mask.shape, bool)
    box = box or mask_box(mask)
    if box is None:
        return near
    height, width = mask.shape
    x0, y0 = max(0, box[0] - reach), max(0, box[1] - reach)
    x1, y1 = min(width, box[2] + reach), min(height, box[3] + reach)
    outside = (~mask[y0:y1, x0:x1]).astype(np.uint8)
    distance = np.asarray(cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_5), np.float32)
    near[y0:y1, x0:x1] = distance <= reach
    return near


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
    diagonal = math.hypot(width, height)
    strong = (coarse >= threshold).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if count <= 1:
        return []
    reach = max(1, round(attach_reach * diagonal))
    parts = _parts(
        strong,
        np.asarray(labels, np.int32),
        np.asarray(stats, np.int32),
        reach,
        PART_RADIUS_DIAGONAL * diagonal,
    )
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    candidates = [i for i in range(1, count) if i not in parts]
    largest = max(float(areas[i - 1]) for i in candidates)
    floor = max(min_area * height * width, min_relative_area * largest)
    # The largest component always counts, however small: the caller asked for a product.
    ids = [i for i in candidates if areas[i - 1] >= floor or areas[i - 1] == largest]
    half_diag = diagonal / 2

    def salience(i: int) -> float:
        cx, cy = centroids[i]
        off_centre = math.hypot(cx - width / 2, cy - height / 2) / half_diag
        return float(areas[i - 1]) * (1.0 - 0.5 * off_centre)

    ids.sort(key=salience, reverse=True)
    if salient_only:
        ids = ids[:1]
    members = {i: [i] + [p for p, parent in parts.items() if parent == i] for i in ids}
    weak = (coarse >= attach_threshold).astype(np.uint8)
    _, weak_labels = cv2.connectedComponents(weak, connectivity=8)
    kept_strong = np.isin(labels, [m for group in members.values() for m in group])
    # Pixels of confident components we do not keep never join a kept product.
    others = (strong > 0) & ~kept_strong
    regions: list[ProductRegion] = []
    for i in ids:
        core = np.isin(labels, members[i])
        near = _near(core, reach)
        attached = np.unique(weak_labels[near & (weak > 0)])
        mask = (np.isin(weak_labels, attached[attached > 0]) & ~others) | core
        box = mask_box(mask)
        if box is not None:
            regions.append(ProductRegion(mask, box, salience(i), core))
    return regions


def _parts(
    strong: npt.NDArray[np.uint8],
    labels: Labels,
    stats: npt.NDArray[np.int32],
    reach: int,
    max_radius: float,
) -> dict[int, int]:
    """Thin confident components (see ``PART_RADIUS_RATIO``) within ``reach`` of a thick one:
    {part label: the thick component's label}."""
    count = stats.shape[0]
    parts: dict[int, int] = {}
    if count <= 2:  # a single component is no one's part
        return parts
    inside = np.asarray(cv2.distanceTransform(strong, cv2.DIST_L2, 3), np.float32)
    radius = np.zeros(count, np.float32)
    for i in range(1, count):  # inscribed radius of each component, within its own box
        x, y, w, h = (int(v) for v in stats[i, :4])
        radius[i] = inside[y : y + h, x : x + w][labels[y : y + h, x : x + w] == i].max()
    limit = min(max_radius, PART_RADIUS_RATIO * float(radius.max()))
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float32)
    is_thin = (radius <= limit) & (areas >= PART_MIN_LENGTH * (2 * radius) ** 2)
    is_thin[0] = False
    thick = [i for i in range(1, count) if radius[i] > limit]
    if not is_thin.any() or not thick:
        return parts
    # Thickest first: a part between two products goes to the thicker one.
    for i in sorted(thick, key=lambda j: -float(radius[j])):
        x, y, w, h = (int(v) for v in stats[i, :4])
        near = _near(labels == i, reach, (x, y, x + w, y + h))
        for part in np.unique(labels[near]):
            if is_thin[part] and int(part) not in parts:
                parts[int(part)] = i
    return parts

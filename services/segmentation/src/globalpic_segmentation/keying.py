"""Background keying against the plate: holes the coarse map filled, to carve back out.

A 320 px salient-object map fills a tape roll's hole, the inside of a mug handle or the gaps
between a stool's legs with confident product. Inside the product, a sizeable connected region
whose colour matches the background plate (within a tolerance learnt from how well the plate
predicts the background next to the product), and that the product encloses, is background
seen through it; GrabCut is then told it is background for sure.

Keying is switched off where the plate predicts the background poorly (busy scenes): there a
match with the plate means little.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray
from globalpic_segmentation.plate import background_plate, colour_distance, prediction_error

F32 = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]

# Tolerance = max(MIN_TOLERANCE, TOLERANCE_FACTOR x median plate error on known background).
MIN_TOLERANCE = 6.0
TOLERANCE_FACTOR = 3.0
# A hole must hold at least this share of the product's pixels (and 16 px): smaller matches
# are letters or highlights that happen to have the background's colour.
MIN_HOLE_SHARE = 0.01


def disk(radius: int) -> npt.NDArray[np.uint8]:
    size = 2 * max(1, radius) + 1
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


@dataclass
class BackgroundKey:
    """The plate of one product crop at the working resolution, and how far to trust it."""

    plate: F32  # working-resolution plate (RGB, 0-255)
    probe: BoolMask  # known background next to the product, used to rate the plate
    tolerance: float  # colour distance under which a pixel matches the plate
    reliable: bool  # the plate predicts the background well enough to key against

    @classmethod
    def build(
        cls, small: ImageArray, near: BoolMask, band_px: int, max_tolerance: float
    ) -> BackgroundKey | None:
        """Key a working-resolution crop whose product (plus a margin) is ``near``.

        The plate is learnt from everything outside ``near``; the ring just outside ``near``
        is predicted from farther pixels alone to rate it. None when the crop holds no
        background to learn from.
        """
        rgb = small.astype(np.float32)
        outside = ~near
        ring = (np.asarray(cv2.dilate(near.astype(np.uint8), disk(band_px)), np.uint8) > 0) & ~near
        error = prediction_error(rgb, outside, ring)
        if error is None:
            return None
        tolerance = max(MIN_TOLERANCE, TOLERANCE_FACTOR * error)
        plate = background_plate(rgb, outside)
        return cls(plate, ring, tolerance, tolerance <= max_tolerance)

    def matches(self, small: ImageArray, product: BoolMask) -> BoolMask:
        """Pixels of ``product`` whose colour matches the plate (working resolution)."""
        if not self.reliable:
            return np.zeros(product.shape, bool)
        distance = colour_distance(small.astype(np.float32), self.plate)
        return np.asarray((distance < self.tolerance) & product, np.bool_)

    def holes(self, small: ImageArray, product: BoolMask, enclosed_only: bool = True) -> BoolMask:
        """Regions of ``product`` that are background seen through it (working resolution)."""
        holes = np.zeros(product.shape, bool)
        if not self.reliable or not product.any():
            return holes
        match = self.matches(small, product)
        # An opening drops one-pixel matches along edges and in flat product areas.
        match_u8 = cv2.morphologyEx(match.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(match_u8, connectivity=4)
        min_area = max(16.0, MIN_HOLE_SHARE * float(product.sum()))
        big = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]
        # Only enclosed matches are holes. A match that reaches the product's outline may as
        # well be a white product's face on a white sweep: colour cannot tell, and losing part
        # of the product is worse than keeping some background between a stool's legs.
        if enclosed_only:
            outline = np.asarray(cv2.dilate((~product).astype(np.uint8), np.ones((3, 3))), np.uint8)
            open_ones = set(np.unique(labels[outline > 0]).tolist())
            big = [i for i in big if i not in open_ones]
        return np.isin(labels, big) if big else holes

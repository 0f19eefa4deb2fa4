"""Geometry of OCR quads: their text height, rasterised masks and regions of interest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import MaskArray

Point = tuple[float, float]


@dataclass(frozen=True)
class Roi:
    """A rectangle of the image: rows y0:y1, columns x0:x1."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def quad_points(box: Sequence[Point]) -> npt.NDArray[np.float64]:
    return np.asarray(box, dtype=np.float64).reshape(-1, 2)


def clip_box(box: Sequence[Point], image_shape: tuple[int, int]) -> list[Point] | None:
    """``box`` with its points clamped into the image; None if it covers (almost) no pixel."""
    h, w = image_shape
    pts = quad_points(box)
    if len(pts) < 3:
        return None
    pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
    pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
    if float(np.ptp(pts[:, 0])) < 2 or float(np.ptp(pts[:, 1])) < 2:
        return None
    return [(float(x), float(y)) for x, y in pts]


def text_height(box: Sequence[Point]) -> float:
    """The quad's short side: the height of horizontal text, the width of vertical text."""
    pts = quad_points(box)
    if len(pts) != 4:
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        return float(max(1.0, min(x1 - x0, y1 - y0)))
    sides = np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)
    a = (sides[0] + sides[2]) / 2.0
    b = (sides[1] + sides[3]) / 2.0
    return float(max(1.0, min(a, b)))


def ink_band(box: Sequence[Point], keep: float = 0.75) -> list[Point]:
    """The part of a detector's box that the glyphs fill.

    PP-OCR grows each detected text region (its "unclip" step) so the recogniser sees whole
    glyphs; the box is about a quarter of a text height larger than the ink on every side.
    The band keeps ``keep`` of the height and gives up the same margin at both ends.
    """
    pts = quad_points(box)
    if len(pts) != 4:
        return [(float(x), float(y)) for x, y in pts]
    top, bottom = (pts[0] + pts[1]) / 2, (pts[3] + pts[2]) / 2
    left, right = (pts[0] + pts[3]) / 2, (pts[1] + pts[2]) / 2
    across, along = bottom - top, right - left
    height, length = float(np.linalg.norm(across)), float(np.linalg.norm(along))
    if height < 1.0 or length < 1.0:
        return [(float(x), float(y)) for x, y in pts]
    # The short side is the text height (vertical text runs along the long side too).
    if height > length:
        across, along, height, length = along, across, length, height
    centre = pts.mean(axis=0)
    half_h = across / height * (height * keep / 2)
    half_l = along / length * max(length / 2 - height * (1 - keep) / 2, length / 4)
    band = [centre - half_l - half_h, centre + half_l - half_h, centre + half_l + half_h]
    band.append(centre - half_l + half_h)
    return [(float(p[0]), float(p[1])) for p in band]


def fill_quad(shape: tuple[int, int], box: Sequence[Point], roi: Roi | None = None) -> MaskArray:
    """Rasterise ``box`` (image coordinates) into a mask of ``shape``, the size of ``roi``
    (or of the image when no ROI is given)."""
    return fill_quads(shape, [box], roi)


def fill_quads(
    shape: tuple[int, int], boxes: Sequence[Sequence[Point]], roi: Roi | None = None
) -> MaskArray:
    """Rasterise every box into one mask (255 inside any of them)."""
    mask = np.zeros(roi.shape if roi is not None else shape, np.uint8)
    origin = np.array((roi.x0, roi.y0) if roi is not None else (0, 0), dtype=np.float64)
    for box in boxes:
        # One fillPoly per box: given several polygons at once, overlaps would cancel out.
        pts = np.round(quad_points(box) - origin).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [pts], 255)
    return mask


def roi_around(box: Sequence[Point], pad: float, image_shape: tuple[int, int]) -> Roi:
    """The quad's bounding rectangle grown by ``pad`` px on each side, clipped to the image."""
    pts = quad_points(box)
    h, w = image_shape
    x0 = int(np.floor(pts[:, 0].min() - pad))
    y0 = int(np.floor(pts[:, 1].min() - pad))
    x1 = int(np.ceil(pts[:, 0].max() + pad)) + 1
    y1 = int(np.ceil(pts[:, 1].max() + pad)) + 1
    return Roi(max(0, y0), min(h, y1), max(0, x0), min(w, x1))


def disk(radius: int) -> npt.NDArray[np.uint8]:
    """An elliptical structuring element of the given radius (radius 0 = one pixel)."""
    r = max(0, int(radius))
    return np.asarray(
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)), np.uint8
    )


def dilate(mask: MaskArray, radius: int) -> MaskArray:
    """Grow a 0 / 255 (or 0 / 1) mask by ``radius`` px (Euclidean), into a 0 / 255 mask."""
    if radius <= 0:
        return np.where(mask > 0, 255, 0).astype(np.uint8)
    if radius <= 3:
        grown = cv2.dilate(np.where(mask > 0, 255, 0).astype(np.uint8), disk(radius))
        return np.asarray(grown, np.uint8)
    # Large radii: a distance transform costs the same whatever the radius, a dilation with
    # a (2r+1)^2 kernel does not.
    dist = cv2.distanceTransform(np.where(mask > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 3)
    return np.where(dist <= radius, 255, 0).astype(np.uint8)


def channel_max(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Per-pixel maximum over the channels of an H x W x 3 array (faster than numpy's)."""
    c0, c1, c2 = cv2.split(np.ascontiguousarray(image))
    out: npt.NDArray[Any] = np.asarray(cv2.max(cv2.max(c0, c1), c2))
    return out


def colour_distance(a: npt.NDArray[np.float32], b: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Euclidean RGB distance over the last axis (``b`` broadcasts: a colour or an image)."""
    d = np.asarray(a, np.float32) - np.asarray(b, np.float32)
    out: npt.NDArray[np.float32] = np.sqrt(np.einsum("...k,...k->...", d, d)).astype(np.float32)
    return out

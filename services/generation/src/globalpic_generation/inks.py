"""The ink colours of a text line: the flat fill (and outline) colours an overlay is drawn in.

Marketing text is drawn in one or two flat colours chosen to stand out, so each ink is a
colour that is common inside the quad and rare in the photo around it. Pixels matching an ink
are glyph pixels whatever the texture behind them, which is where deviation from a smooth
background estimate fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray
from globalpic_generation.quads import colour_distance

# Colours are binned 8 levels per channel (32^3 bins) to find the inks.
_LEVELS = 32
_SHIFT = 3
# An ink must cover this share of the quad more than the ring's colour explains.
MIN_EXCESS = 0.04
# Matching tolerance (RGB distance) is the largest of these that the ring rarely matches.
TOLERANCES = (28.0, 22.0, 16.0, 11.0, 7.0)
# "Rarely": at most this share of the ring's pixels within tolerance of the ink.
MAX_RING_MATCH = 0.01
# A second ink (an outline) must be this far (RGB distance) from the first.
MIN_INK_SEPARATION = 48.0
MAX_INKS = 2
# Colour bins tried per ink, best excess first.
MAX_TRIES = 6


@dataclass(frozen=True)
class Ink:
    colour: npt.NDArray[np.float32]
    tolerance: float


def find_inks(
    crop: ImageArray, quad: npt.NDArray[np.bool_], ring: npt.NDArray[np.bool_]
) -> list[Ink]:
    """Up to MAX_INKS flat colours that the quad holds and the ring around it lacks."""
    if not quad.any() or not ring.any():
        return []
    quad_px = crop[quad].astype(np.float32)
    ring_px = crop[ring].astype(np.float32)
    ring_hist = _smooth(_histogram(crop[ring])) / len(ring_px)
    inks: list[Ink] = []
    candidates = quad_px
    for _ in range(MAX_INKS):
        if len(candidates) < 0.03 * len(quad_px):
            break
        excess = _histogram(candidates.astype(np.uint8)) / len(quad_px) - ring_hist
        ink = None
        # The top bin can be a photo colour that merely happens to be more common inside the
        # quad than around it; such a colour fails the ring test, so try the next bins.
        top = np.argpartition(-excess, MAX_TRIES)[:MAX_TRIES]
        for best in top[np.argsort(-excess[top])]:
            if excess[best] < MIN_EXCESS:
                break
            ink = _ink_at(int(best), candidates, quad_px, ring_px)
            if ink is not None:
                break
        if ink is None:
            break
        inks.append(ink)
        candidates = candidates[colour_distance(candidates, ink.colour) >= MIN_INK_SEPARATION]
    return inks


def _ink_at(
    bin_index: int,
    candidates: npt.NDArray[np.float32],
    quad_px: npt.NDArray[np.float32],
    ring_px: npt.NDArray[np.float32],
) -> Ink | None:
    """The ink around colour bin ``bin_index``, or None if the ring has that colour too."""
    centre = (np.array(np.unravel_index(bin_index, (_LEVELS,) * 3), np.float32) + 0.5) * (
        1 << _SHIFT
    )
    near = candidates[colour_distance(candidates, centre) < 12.0]
    colour = np.median(near, axis=0).astype(np.float32) if len(near) else centre
    ring_dist = colour_distance(ring_px, colour)
    tolerance = next((t for t in TOLERANCES if np.mean(ring_dist < t) <= MAX_RING_MATCH), None)
    if tolerance is None:
        return None  # the photo around has this colour too: matching it would take the photo
    if np.mean(colour_distance(quad_px, colour) < tolerance) < MIN_EXCESS:
        return None
    return Ink(colour, tolerance)


def ink_matches(crop: ImageArray, inks: list[Ink]) -> npt.NDArray[np.bool_]:
    """Pixels within tolerance of any ink."""
    out = np.zeros(crop.shape[:2], bool)
    img = crop.astype(np.float32)
    for ink in inks:
        out |= colour_distance(img, ink.colour) < ink.tolerance
    return out


def _histogram(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    q = (pixels >> _SHIFT).astype(np.int64)
    idx = (q[:, 0] * _LEVELS + q[:, 1]) * _LEVELS + q[:, 2]
    return np.bincount(idx, minlength=_LEVELS**3).astype(np.float64)


def _smooth(hist: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Max over each bin's 3 x 3 x 3 neighbourhood: a colour next to a ring colour is seen."""
    out = hist.reshape((_LEVELS,) * 3).copy()
    for axis in range(3):  # a 3x3x3 max is three separable 3-wide maxima
        lo = np.take(out, range(0, _LEVELS - 1), axis=axis)
        hi = np.take(out, range(1, _LEVELS), axis=axis)
        grown = out.copy()
        idx_hi = [slice(None)] * 3
        idx_hi[axis] = slice(1, _LEVELS)
        idx_lo = [slice(None)] * 3
        idx_lo[axis] = slice(0, _LEVELS - 1)
        np.maximum(grown[tuple(idx_hi)], lo, out=grown[tuple(idx_hi)])
        np.maximum(grown[tuple(idx_lo)], hi, out=grown[tuple(idx_lo)])
        out = grown
    return out.reshape(-1)

"""The pixels an overlay changed around a text line: glyphs, outlines, shadows, faint marks.

The photo under the line is estimated from the pixels around a search zone (push-pull, so it
is smooth and exact on the zone's border); every zone pixel that differs from that estimate by
more than the local texture does is an overlay pixel. Hysteresis (strong seeds, weak growth)
keeps the anti-aliased and semi-transparent rims of strokes that a single threshold drops.
Flat inks (``inks.py``) are matched exactly, and for opaque text whatever the deviation test
adds far from the ink, or in blobs wider than a stroke, is dropped as the photo's.

(Growing the zone when the found pixels reach its border was tried for semi-transparent
banners: with loose OCR quads it swallowed whole product faces, so the zone is fixed.)
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_generation.background import push_pull_fill
from globalpic_generation.inks import find_inks, ink_matches
from globalpic_generation.quads import (
    Point,
    Roi,
    colour_distance,
    dilate,
    disk,
    fill_quad,
    text_height,
)
from globalpic_generation.settings import GenerationSettings

# Search margin around a backing, as a share of the square root of its area.
CORE_PAD_SHARE = 0.12
# How far (text heights) from the ink an outline or shadow may reach.
INK_REACH = 0.18
# ... and never more than this (px): shadows and outlines do not scale with loose OCR quads.
MAX_INK_REACH_PX = 14
# ... applied when ink covers at least this share of the quad (opaque text; a semi-transparent
# line matches its "ink" only where the photo under it is flat).
INK_SHARE = 0.08
# Parts of the found pixels wider than this share of the text height (diameter = twice it)
# are blobs of the photo, not strokes.
BLOB_SHARE = 0.15
# Strong / weak thresholds as multiples of the ring's texture level (its median deviation
# from its own blur): texture rarely reaches them, strokes always do.
STRONG_TEXTURE = 3.9
WEAK_TEXTURE = 2.2
# Colour novelty (how much more common a colour is in the quad than in the ring around the
# zone) that strong / weak pixels need: overlay inks are colours the photo around lacks.
STRONG_NOVELTY = 3.0
WEAK_NOVELTY = 1.5


def overlay_pixels(
    image: ImageArray,
    box: Sequence[Point],
    settings: GenerationSettings,
    core: tuple[Roi, MaskArray] | None = None,
) -> tuple[Roi, MaskArray]:
    """Pixels changed by the overlay of ``box`` as (roi, roi-sized mask, 255 = overlay).

    ``core`` is an already known part of the overlay (a badge's backing); the search then
    only adds what lies around it (outline, shadow, glyphs that stick out).
    """
    h, w = image.shape[:2]
    th = text_height(box)
    pad = max(3.0, settings.glyph_search_pad * th)
    if core is not None:
        # A badge's own rim (an outer band past an inner ring line, a border, a shadow) scales
        # with the badge, not with its text.
        pad = max(pad, CORE_PAD_SHARE * float(np.sqrt(np.count_nonzero(core[1]))))
    ring_w = max(4, round(pad))
    margin = int(np.ceil(pad)) + ring_w + 2
    pts = np.asarray(box, np.float64).reshape(-1, 2)
    sy0, sy1 = float(pts[:, 1].min()), float(pts[:, 1].max())
    sx0, sx1 = float(pts[:, 0].min()), float(pts[:, 0].max())
    if core is not None:
        croi = core[0]
        sy0, sy1 = min(sy0, croi.y0), max(sy1, croi.y1)
        sx0, sx1 = min(sx0, croi.x0), max(sx1, croi.x1)
    roi = Roi(
        max(0, int(sy0) - margin), min(h, int(np.ceil(sy1)) + margin + 1),
        max(0, int(sx0) - margin), min(w, int(np.ceil(sx1)) + margin + 1),
    )  # fmt: skip
    seed = fill_quad((h, w), box, roi)
    if core is not None:
        croi, cmask = core
        sub = seed[croi.y0 - roi.y0 : croi.y1 - roi.y0, croi.x0 - roi.x0 : croi.x1 - roi.x0]
        np.maximum(sub, cmask, out=sub)
    if not seed.any():
        return Roi(0, 0, 0, 0), np.zeros((0, 0), np.uint8)
    zone = dilate(seed, round(pad))
    found = _deviating(image[roi.slices], seed, zone, ring_w, th, core is not None, settings)
    if core is not None:
        found[seed > 0] = 255  # the backing is overlay whatever its contrast
    return roi, found


def _deviating(
    crop: ImageArray,
    seed: MaskArray,
    zone: MaskArray,
    ring_w: int,
    th: float,
    has_core: bool,
    settings: GenerationSettings,
) -> MaskArray:
    """Zone pixels that differ from the background estimate (0 / 255)."""
    img = crop.astype(np.float32)
    inside = zone > 0
    known = (~inside).astype(np.float32)
    if not known.any():
        return np.where(inside, 255, 0).astype(np.uint8)
    background = push_pull_fill(img, known)
    dev = colour_distance(img, background)

    ring = (dilate(zone, ring_w) > 0) & ~inside
    level = _texture_level(img, ring, ring_w)
    novelty = colour_novelty(crop, seed > 0, ring)
    strong = (dev > max(settings.glyph_min_contrast, STRONG_TEXTURE * level)) & (
        novelty > STRONG_NOVELTY
    )
    weak = (dev > max(0.5 * settings.glyph_min_contrast, WEAK_TEXTURE * level)) & (
        novelty > WEAK_NOVELTY
    )
    inks = find_inks(crop, seed > 0, ring)
    ink = ink_matches(crop, inks) & inside if inks else np.zeros_like(inside)
    if ink.any():
        # Only ink pixels connected to the quad: the same colour elsewhere is the photo's.
        ink = _hysteresis(ink, ink & (seed > 0)) > 0
    found = _hysteresis(weak & inside | ink, strong & inside | ink)
    if has_core:
        return found
    # Glyph strokes are thin; a blob the deviation test found (a lit product edge, a can's
    # top, a shadow under the quad) is the photo. Opening keeps only such wide parts.
    loose = (found > 0) & ~ink
    blob_radius = max(2, round(BLOB_SHARE * th))
    blobs = np.asarray(
        cv2.morphologyEx(loose.astype(np.uint8), cv2.MORPH_OPEN, disk(blob_radius)), np.uint8
    )
    if blobs.any():
        found[dilate(blobs, 2) > 0] = 0
        found[ink] = 255
    quad_px = max(1, int(np.count_nonzero(seed)))
    if ink.any() and np.count_nonzero(ink & (seed > 0)) >= INK_SHARE * quad_px:
        # Opaque text: what else the overlay changed (anti-aliasing, a thin outline, a drop
        # shadow) hugs the ink. Deviations farther away are the photo (a shadow, an edge)
        # that a loose quad and its search margin took in.
        reach = int(np.clip(round(INK_REACH * th), 3, MAX_INK_REACH_PX))
        near_ink = dilate(ink.astype(np.uint8), reach) > 0
        found[~near_ink] = 0
    return found


def colour_novelty(
    crop: ImageArray, quad: npt.NDArray[np.bool_], ring: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float32]:
    """Per pixel: how much more common its colour is in ``quad`` than in ``ring``.

    Colours are binned 16 levels per channel; the ring's histogram is smoothed over the 27
    neighbouring bins so that a colour next to a photo colour does not count as new.
    """
    bins = _colour_bins(crop)
    n_quad = max(1, int(np.count_nonzero(quad)))
    n_ring = max(1, int(np.count_nonzero(ring)))
    h_quad = _smooth_hist(np.bincount(bins[quad], minlength=4096)) / n_quad
    h_ring = _smooth_hist(np.bincount(bins[ring], minlength=4096)) / n_ring
    ratio = (h_quad + 1.0 / n_quad) / (h_ring + 1.0 / n_ring)
    return ratio.astype(np.float32)[bins]


def _colour_bins(crop: ImageArray) -> npt.NDArray[np.int64]:
    q = (crop >> 4).astype(np.int64)
    bins: npt.NDArray[np.int64] = (q[:, :, 0] << 8) | (q[:, :, 1] << 4) | q[:, :, 2]
    return bins


def _smooth_hist(hist: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Average of each bin's 3 x 3 x 3 neighbourhood in the 16^3 colour cube."""
    cube = np.pad(hist.reshape(16, 16, 16).astype(np.float64), 1)
    out = np.zeros((16, 16, 16), np.float64)
    for dz in range(3):
        for dy in range(3):
            for dx in range(3):
                out += cube[dz : dz + 16, dy : dy + 16, dx : dx + 16]
    return (out / 27.0).reshape(-1)


def _texture_level(img: npt.NDArray[np.float32], ring: npt.NDArray[np.bool_], ring_w: int) -> float:
    """How far the ring's pixels stray from a blur of themselves (median: the ring's edges,
    a product outline running through it, must not raise the level)."""
    if not ring.any():
        return 0.0
    # Normalised convolution: the blur must not mix in the zone's (overlay) pixels, or the
    # ring's edge next to the text would read as strong texture.
    k = max(3, ring_w | 1)  # a box filter: constant time whatever the ring width
    weight = ring.astype(np.float32)
    num = cv2.blur(img * weight[:, :, None], (k, k))
    den = cv2.blur(weight, (k, k))
    blurred = num / np.maximum(den, 1e-6)[:, :, None]
    dev = colour_distance(img, blurred)
    return float(np.median(dev[ring]))


def _hysteresis(weak: npt.NDArray[np.bool_], strong: npt.NDArray[np.bool_]) -> MaskArray:
    """``weak`` pixels connected (8-way) to a ``strong`` one (as a 0 / 255 mask)."""
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(weak.shape, np.uint8)
    strong_labels = np.unique(labels[strong & weak])
    keep = np.zeros(n, bool)
    keep[strong_labels] = True
    keep[0] = False
    return np.where(keep[labels], 255, 0).astype(np.uint8)

"""The backing shape behind a text line: a badge, sticker, banner or price tag.

A backing is a region of smoothly varying colour (flat or a gradient) that holds the text, is
closed (it does not run into the rest of the photo) and differs from the photo around it. We
flood outward from the flat pixels just around the quad and accept the floods only when, put
together, they pass those tests; a plain text line on a photo fails them, because its
"backing" is the photo itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_generation.quads import (
    Point,
    Roi,
    channel_max,
    colour_distance,
    dilate,
    disk,
    fill_quad,
    roi_around,
    text_height,
)
from globalpic_generation.settings import GenerationSettings

# Per-step colour tolerance of the flood (on a median-filtered image): follows the gentle
# gradients of gradient badges, stops at the anti-aliased edge of a shape.
FLOOD_STEP = 4
MAX_SEEDS = 32
# ... and never further than this (per channel) from the seed's own colour.
SEED_RANGE = 32
# Seeds come from the ring between the quad and the quad grown by this share of the text
# height: OCR quads hug the glyphs, so that ring lies on the backing when there is one.
BAND_SHARE = 0.25
# Each flood must cover this share of the quad (pixels between and around the glyphs).
MIN_QUAD_OVERLAP = 0.08
# Rounds of flooding on from the union's edge along smooth ramps (gradient backings).
MAX_CHAIN_ROUNDS = 6
# Seeds per round, taken this far (px) past the union's edge (past a watermark stroke) ...
CHAIN_SEEDS = 12
CHAIN_REACH_PX = 6
# ... where the colour differs from the union's nearby pixels by at most this (per channel).
CHAIN_STEP = 12
# ... started only from a union at least this many times the quad's area.
CHAIN_MIN_AREA = 0.5
# ... or have (per channel, levels) the seed colour of a flood that does.
PIECE_COLOUR_MATCH = 12
# The filled backing must hold this share of the quad: it surrounds the text.
MIN_QUAD_COVER = 0.7
# Area over convex-hull area: a star burst is ~0.85, a flood into a photo much less.
MIN_SOLIDITY = 0.75
# The backing's extent across the text direction, in heights of the text block it holds
# (all its lines): badges hug their text; a product's label holding one overlay line
# (a watermark crossing it) is much thicker than that line.
MAX_THICKNESS = 4.5
MAX_THICKNESS_AT_BORDER = 2.5
# ... for backings with at least this share of their outline on the image's edge.
BORDER_CONTACT = 0.3
# Single floods thicker than this many text heights are dropped before the union is judged.
MAX_FLOOD_THICKNESS = 8.0
# Share of the filled backing that may be holes (not flooded) outside every text quad.
MAX_UNEXPLAINED_HOLES = 0.12
# Opacity of the text's glyphs (the flood's holes in the quad; 75th percentile) over the
# "backing": a badge's text is opaque ink. A semi-transparent watermark crossing a flat
# product face only tints that face toward white or black, and the face is no badge.
MIN_GLYPH_OPACITY = 0.55
# A glyph pixel farther than this (RGB) from every white / black tint of its backing is a
# colour of its own: opaque ink.
TINT_FIT = 24.0
# Share of the photo 16-48 px around the backing that has the backing's colours: a badge's
# colour is its own; a patch of the photo's backdrop, boxed in by the product and other
# overlays, has the backdrop's colour all around it.
MAX_COLOUR_AROUND = 0.3
AROUND_PX = (16, 48)
# The ROI doubles this many times while a flood runs into its border.
MAX_ROI_GROWTHS = 3
# Closing radius (text heights) before filling holes: bridges the strokes of another overlay
# (a tiled watermark) that cross the backing and would open its glyph holes to the outside.
CLOSING_SHARE = 0.12


def find_backing(
    smooth: ImageArray,
    box: Sequence[Point],
    settings: GenerationSettings,
    text_quads: MaskArray | None = None,
) -> tuple[Roi, MaskArray] | None:
    """The filled backing shape around ``box`` as (roi, roi-sized mask), or None.

    ``smooth`` is the whole image after a 3x3 median, which removes JPEG speckle so that the
    flood does not stop at single noisy pixels. ``text_quads`` (image-sized, 255 inside the
    quads of every line being erased) explains the holes a badge's own text leaves in the
    flood; a "backing" with other things in it (a product label with its own print) is not
    an overlay.
    """
    image_shape = (int(smooth.shape[0]), int(smooth.shape[1]))
    th = text_height(box)
    quad_area = int(np.count_nonzero(fill_quad(image_shape, box, roi_around(box, 1, image_shape))))
    if quad_area < 16:
        return None
    max_area = min(
        settings.backing_max_area_ratio * quad_area,
        settings.backing_max_image_share * image_shape[0] * image_shape[1],
    )
    long_side = float(np.ptp(np.asarray(box, np.float64), axis=0).max())
    # Start with room for a badge's padding; a banner that runs further makes a flood leak
    # out of the ROI, which then grows.
    pad = 1.5 * th + 0.25 * long_side
    closing = disk(max(1, round(CLOSING_SHARE * th)))
    normal = _text_normal(box)
    for _ in range(MAX_ROI_GROWTHS + 1):
        roi = roi_around(box, pad, image_shape)
        crop = np.ascontiguousarray(smooth[roi.slices])
        quad = fill_quad(roi.shape, box, roi)
        band = _band_around(quad, max(2, round(BAND_SHARE * th)))
        floods, leaked = _closed_floods(
            crop, band, quad > 0, roi, image_shape, max_area, normal, MAX_FLOOD_THICKNESS * th
        )
        if floods is not None:
            closed = np.asarray(cv2.morphologyEx(floods, cv2.MORPH_CLOSE, closing), np.uint8)
            filled = _fill_holes(closed)
            covered = np.count_nonzero(filled[quad > 0]) >= MIN_QUAD_COVER * np.count_nonzero(quad)
            if covered and np.count_nonzero(filled) <= max_area:
                break
        if not leaked:
            return None
        pad *= 2.0  # a flood ran out of the ROI (a long banner?): look wider
    else:
        return None
    # Badges are convex-ish shapes about as thick as their text; floods that stopped at the
    # edges of things in a photo are ragged and far thicker.
    if _solidity(filled) < MIN_SOLIDITY:
        return None
    explained = fill_quad(roi.shape, box, roi) if text_quads is None else text_quads[roi.slices]
    # The text block: glyph pixels (the flood's holes) in this and the other text quads that
    # lie on the backing. Measured on the glyphs, not the quads, because OCR quads can be
    # loose; quads that only cross the backing's edge (a watermark) are no part of it.
    on_backing = _components_inside(explained, filled) | (fill_quad(roi.shape, box, roi) > 0)
    block = np.where(on_backing & (floods == 0), 255, 0).astype(np.uint8)
    # Backings that run into the image's edge are full-bleed banners and corner ribbons,
    # thin across their text; a thick one there is a patch of the photo's backdrop.
    at_border = _border_contact(filled, roi, image_shape) >= BORDER_CONTACT
    limit = MAX_THICKNESS_AT_BORDER if at_border else MAX_THICKNESS
    if _extent_across(filled, normal) > limit * _extent_across(block, normal):
        return None
    if _edge_contrast(crop, filled, floods) < settings.backing_min_contrast:
        return None
    if _unexplained_holes(filled, floods, explained, th) > MAX_UNEXPLAINED_HOLES:
        return None
    if _glyph_opacity(crop, quad, floods) < MIN_GLYPH_OPACITY:
        return None
    if _colour_found_around(smooth, filled, floods, roi) > MAX_COLOUR_AROUND:
        return None
    return roi, filled


def _closed_floods(
    crop: ImageArray,
    band: npt.NDArray[np.bool_],
    quad: npt.NDArray[np.bool_],
    roi: Roi,
    image_shape: tuple[int, int],
    max_area: float,
    normal: tuple[float, float] = (0.0, 1.0),
    max_thickness: float = float("inf"),
) -> tuple[MaskArray | None, bool]:
    """Union of the floods from flat band pixels that stay small, stay inside the ROI and
    reach into the quad (a backing shows between the glyphs; the photo next to a loose quad
    does not, or only at its corners), then chained on along smooth colour ramps (a
    gradient banner is wider than one flood's colour range).

    Returns (union or None, whether a flood ran into the ROI's open border).
    """
    seeds = _flat_seeds(crop, band)
    if seeds is None:
        return None, False
    flooder = _Flooder(crop, roi, image_shape, max_area, normal, max_thickness)
    min_overlap = MIN_QUAD_OVERLAP * int(np.count_nonzero(quad))
    # Floods that barely reach into the quad: kept only if they have the colour of a flood
    # that does (a piece of the same badge, cut off by a watermark stroke crossing it).
    pieces: list[tuple[npt.NDArray[np.int16], tuple[int, int, int, int], npt.NDArray[np.bool_]]]
    pieces = []
    accepted: list[npt.NDArray[np.int16]] = []
    for y, x in seeds:
        flood = flooder.flood(int(y), int(x))
        if flood is None:
            continue
        colour, (rx, ry, rw, rh), inside = flood
        if np.count_nonzero(inside & quad[ry : ry + rh, rx : rx + rw]) < min_overlap:
            pieces.append(flood)
            flooder.remember(flood)
            continue
        accepted.append(colour)
        flooder.add(flood)
    if not accepted:
        return None, flooder.leaked
    for piece in pieces:
        if any(int(np.abs(piece[0] - c).max()) <= PIECE_COLOUR_MATCH for c in accepted):
            flooder.add(piece)
    # Only a union as large as a backing around the quad is worth chaining on (glyph-sized
    # floods of plain text would only walk out into the photo).
    if np.count_nonzero(flooder.union) >= CHAIN_MIN_AREA * np.count_nonzero(quad):
        for _ in range(MAX_CHAIN_ROUNDS):
            if not flooder.chain():
                break
    union = flooder.union
    if np.count_nonzero(union) > max_area:
        return None, flooder.leaked
    return union, flooder.leaked


class _Flooder:
    """Floods of one ROI: floating range, walled at SEED_RANGE from the seed's colour."""

    def __init__(
        self,
        crop: ImageArray,
        roi: Roi,
        image_shape: tuple[int, int],
        max_area: float,
        normal: tuple[float, float],
        max_thickness: float,
    ) -> None:
        self.crop = crop
        self.roi = roi
        self.image_shape = image_shape
        self.max_area = max_area
        self.normal = normal
        self.max_thickness = max_thickness
        h, w = crop.shape[:2]
        self.union = np.zeros((h, w), np.uint8)
        self.seen = np.zeros((h, w), bool)
        self.leaked = False
        self._ff = np.empty((h + 2, w + 2), np.uint8)
        # Floods set aside (pieces that barely reach the quad), by 1-based index.
        self._kept: list[tuple[int, int, int, int, npt.NDArray[np.bool_]]] = []
        self._kept_id = np.zeros((h, w), np.int32)

    def remember(
        self,
        flood: tuple[npt.NDArray[np.int16], tuple[int, int, int, int], npt.NDArray[np.bool_]],
    ) -> None:
        """Set a flood aside: chaining adds it if the union grows smoothly into it."""
        _, (rx, ry, rw, rh), inside = flood
        self._kept.append((rx, ry, rw, rh, inside))
        self._kept_id[ry : ry + rh, rx : rx + rw][inside] = len(self._kept)

    def flood(
        self, y: int, x: int
    ) -> tuple[npt.NDArray[np.int16], tuple[int, int, int, int], npt.NDArray[np.bool_]] | None:
        """The flood from (y, x) as (seed colour, rect, mask in rect), or None if it leaked,
        is too large or too thick, or was flooded before."""
        if self.seen[y, x]:
            return None  # a floating-range flood is the same region from any of its pixels
        crop, ff = self.crop, self._ff
        h, w = crop.shape[:2]
        # Pixels far from the seed's colour are walls: along a slanted anti-aliased edge the
        # colour ramps slowly from the backing to the photo, and a purely floating flood
        # would walk along that ramp out into the photo.
        colour = crop[y, x].astype(np.int16)
        lo = np.clip(colour - SEED_RANGE, 0, 255).astype(np.uint8)
        hi = np.clip(colour + SEED_RANGE, 0, 255).astype(np.uint8)
        ff.fill(1)  # walls are 1, the flood writes 255
        ff[1:-1, 1:-1] = cv2.threshold(cv2.inRange(crop, lo, hi), 0, 1, cv2.THRESH_BINARY_INV)[1]
        step = (FLOOD_STEP,) * 3
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
        area, _, _, (rx, ry, rw, rh) = cv2.floodFill(crop, ff, (x, y), (0, 0, 0), step, step, flags)
        # Everything below works on the flood's bounding rectangle only.
        inside = ff[ry + 1 : ry + rh + 1, rx + 1 : rx + rw + 1] == 255
        self.seen[ry : ry + rh, rx : rx + rw] |= inside
        if area > self.max_area:
            return None  # leaked into the photo
        roi, (ih, iw) = self.roi, self.image_shape
        if (
            (ry == 0 and roi.y0 > 0)
            or (rx == 0 and roi.x0 > 0)
            or (ry + rh == h and roi.y1 < ih)
            or (rx + rw == w and roi.x1 < iw)
        ):
            self.leaked = True  # ran into a side of the ROI that is not a side of the image
            return None
        ys, xs = np.nonzero(inside)
        proj = xs * self.normal[0] + ys * self.normal[1]
        if float(proj.max() - proj.min()) > self.max_thickness:
            return None  # a photo region next to the text, far thicker than any badge
        return colour, (int(rx), int(ry), int(rw), int(rh)), inside

    def add(
        self,
        flood: tuple[npt.NDArray[np.int16], tuple[int, int, int, int], npt.NDArray[np.bool_]],
    ) -> None:
        _, (rx, ry, rw, rh), inside = flood
        self.union[ry : ry + rh, rx : rx + rw][inside] = 255

    def chain(self) -> bool:
        """Flood on from just past the union's edge where the colour goes on: a gradient that
        outran the walls, or the same backing beyond a thin stroke crossing it (a tiled
        watermark). True if anything was added."""
        ys, xs = np.nonzero(self.union)
        if ys.size == 0:
            return False
        h, w = self.union.shape
        reach = CHAIN_REACH_PX
        # Work in the union's bounding box (plus the reach around it) only.
        y0, y1 = max(0, int(ys.min()) - reach - 1), min(h, int(ys.max()) + reach + 2)
        x0, x1 = max(0, int(xs.min()) - reach - 1), min(w, int(xs.max()) + reach + 2)
        union = self.union[y0:y1, x0:x1]
        kept_id = self._kept_id[y0:y1, x0:x1]
        size = 2 * reach + 1
        grown = cv2.dilate(union, np.ones((size, size), np.uint8))
        edge = (grown > 0) & (union == 0) & (~self.seen[y0:y1, x0:x1] | (kept_id > 0))
        if not edge.any():
            return False
        # Colour step from the union's pixels within reach of each edge pixel.
        sub = self.crop[y0:y1, x0:x1].astype(np.float32)
        weight = (union > 0).astype(np.float32)
        num = cv2.blur(sub * weight[:, :, None], (size, size))
        den = np.maximum(cv2.blur(weight, (size, size)), 1e-6)
        step = channel_max(np.abs(sub - num / den[:, :, None]))
        # Only flat pixels go on: an anti-aliased rim also steps smoothly, but it is steep.
        spread = channel_max(
            cv2.morphologyEx(self.crop[y0:y1, x0:x1], cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        )
        go_on = edge & (step <= CHAIN_STEP) & (spread <= 2 * FLOOD_STEP)
        added = False
        for index in np.unique(kept_id[go_on]):
            if index > 0:  # a piece set aside that the union runs into
                rx, ry, rw, rh, inside = self._kept[int(index) - 1]
                self.union[ry : ry + rh, rx : rx + rw][inside] = 255
                self._kept_id[ry : ry + rh, rx : rx + rw][inside] = 0
                added = True
        ey, ex = np.nonzero(go_on & ~self.seen[y0:y1, x0:x1])
        if ey.size == 0:
            return added
        pick = np.linspace(0, ey.size - 1, min(CHAIN_SEEDS, ey.size)).astype(np.int64)
        for y, x in zip(ey[pick] + y0, ex[pick] + x0, strict=True):
            flood = self.flood(int(y), int(x))
            if flood is not None:
                self.add(flood)
                added = True
        return added


def _flat_seeds(crop: ImageArray, band: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64] | None:
    """Up to MAX_SEEDS (y, x) band pixels whose 3x3 neighbourhood is flat, spread evenly."""
    bys, bxs = np.nonzero(band)
    if bys.size == 0:
        return None
    y0, x0 = max(0, int(bys.min()) - 1), max(0, int(bxs.min()) - 1)
    y1, x1 = int(bys.max()) + 2, int(bxs.max()) + 2
    sub = crop[y0:y1, x0:x1]
    spread = channel_max(cv2.morphologyEx(sub, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)))
    flat = band[y0:y1, x0:x1] & (spread <= 2 * FLOOD_STEP)
    # Between the glyphs of a badge the backing fills most of the band.
    if np.count_nonzero(flat) < 0.1 * bys.size:
        return None
    ys, xs = np.nonzero(flat)
    ys, xs = ys + y0, xs + x0
    pick = np.linspace(0, ys.size - 1, min(MAX_SEEDS, ys.size)).astype(np.int64)
    return np.stack([ys[pick], xs[pick]], axis=1)


def _fill_holes(region: MaskArray) -> MaskArray:
    """The region with every enclosed hole (the glyphs) filled."""
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


def _edge_contrast(crop: ImageArray, filled: MaskArray, floods: MaskArray) -> float:
    """Median colour distance across the backing's edge (its rim vs the band outside)."""
    ys, xs = np.nonzero(filled)
    y0, x0 = max(0, int(ys.min()) - 6), max(0, int(xs.min()) - 6)
    y1, x1 = int(ys.max()) + 7, int(xs.max()) + 7
    crop, filled, floods = crop[y0:y1, x0:x1], filled[y0:y1, x0:x1], floods[y0:y1, x0:x1]
    outside_band = (dilate(filled, 4) > 0) & (dilate(filled, 1) == 0)
    rim = (floods > 0) & (cv2.erode(filled, disk(3)) == 0)
    if not outside_band.any() or not rim.any():
        return 0.0  # the backing fills the whole ROI: nothing outside to compare with
    # Compare each outside pixel with the nearest rim colour: gradient backings change colour
    # along their edge, so one backing colour would not do.
    rim_mean = _nearest_fill(crop, rim)
    diff = crop.astype(np.float32)[outside_band] - rim_mean[outside_band]
    return float(np.median(colour_distance(diff, 0.0)))


def _nearest_fill(crop: ImageArray, known: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Each pixel takes the colour of the nearest ``known`` pixel."""
    src = np.where(known, 0, 255).astype(np.uint8)
    _, labels = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(known)
    # Labels number the zero pixels of ``src`` in row-major order, starting at 1.
    colours = crop[ys, xs].astype(np.float32)
    out: npt.NDArray[np.float32] = colours[np.clip(labels - 1, 0, len(colours) - 1)]
    return out


def _solidity(filled: MaskArray) -> float:
    contours, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0
    points = np.concatenate(contours)
    hull_area = float(cv2.contourArea(cv2.convexHull(points)))
    return float(np.count_nonzero(filled)) / max(hull_area, 1.0)


def _text_normal(box: Sequence[Point]) -> tuple[float, float]:
    """Unit normal (x, y) of the quad's long side: the direction across the text."""
    pts = np.asarray(box, np.float64).reshape(-1, 2)
    sides = np.roll(pts, -1, axis=0) - pts
    along = sides[int(np.argmax(np.linalg.norm(sides, axis=1)))]
    norm = max(float(np.linalg.norm(along)), 1e-6)
    return float(-along[1] / norm), float(along[0] / norm)


def _extent_across(region: MaskArray, normal: tuple[float, float]) -> float:
    """Extent of ``region`` along ``normal`` (1st to 99th percentile, px)."""
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return 0.0
    lo, hi = np.percentile(xs * normal[0] + ys * normal[1], [1, 99])
    return float(hi - lo) + 1.0


def _unexplained_holes(
    filled: MaskArray, floods: MaskArray, explained: MaskArray, th: float
) -> float:
    """Share of ``filled`` that the flood missed away from the text quads (and their rims)
    and away from the backing's outline (strokes of another overlay crossing the backing
    run out over its edge; a product's own print sits inside its label)."""
    holes = ((filled > 0) & (floods == 0)).astype(np.uint8)
    near_text = dilate(explained, max(2, round(0.15 * th))) > 0
    n, labels = cv2.connectedComponents(holes, connectivity=8)
    if n <= 1:
        return 0.0
    rim = (filled > 0) & (cv2.erode(filled, np.ones((5, 5), np.uint8)) == 0)
    crossing = np.unique(labels[rim & (holes > 0)])
    inner = (holes > 0) & ~np.isin(labels, crossing)
    return float(np.count_nonzero(inner & ~near_text)) / max(1, int(np.count_nonzero(filled)))


def _glyph_opacity(crop: ImageArray, quad: MaskArray, floods: MaskArray) -> float:
    """75th percentile over the quad's glyph pixels of their opacity over the backing."""
    ys, xs = np.nonzero(quad)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    sub, flood = crop[y0:y1, x0:x1], floods[y0:y1, x0:x1] > 0
    glyphs = (quad[y0:y1, x0:x1] > 0) & ~flood
    if not glyphs.any() or not flood.any():
        return 0.0
    under = _nearest_fill(sub, flood)[glyphs]  # the backing colour next to each glyph pixel
    seen = sub.astype(np.float32)[glyphs]
    opacity = np.ones(len(seen), np.float32)
    best_fit = np.full(len(seen), np.inf, np.float32)
    for ink in (255.0, 0.0):  # tints toward white, and toward black
        span = ink - under
        alpha = np.clip(
            (span * (seen - under)).sum(axis=1) / np.maximum((span**2).sum(axis=1), 1.0), 0, 1
        )
        fit = colour_distance(seen, under + alpha[:, None] * span)
        better = fit < best_fit
        best_fit[better] = fit[better]
        opacity[better] = alpha[better]
    opacity[best_fit > TINT_FIT] = 1.0
    return float(np.percentile(opacity, 75))


def _components_inside(quads: MaskArray, filled: MaskArray) -> npt.NDArray[np.bool_]:
    """The connected parts of ``quads`` that lie (90 %) inside ``filled``."""
    n, labels = cv2.connectedComponents(np.where(quads > 0, 255, 0).astype(np.uint8))
    if n <= 1:
        return np.zeros(quads.shape, bool)
    total = np.bincount(labels.ravel(), minlength=n)
    inside = np.bincount(labels[filled > 0], minlength=n)
    keep = inside >= 0.9 * total
    keep[0] = False
    return np.asarray(keep[labels], bool)


def _colour_found_around(
    smooth: ImageArray, filled: MaskArray, floods: MaskArray, roi: Roi
) -> float:
    """Share of the pixels 16-48 px outside the backing whose colour the backing has."""
    inner, outer = AROUND_PX
    h, w = smooth.shape[:2]
    ys, xs = np.nonzero(filled)
    frame = Roi(
        max(0, roi.y0 + int(ys.min()) - outer), min(h, roi.y0 + int(ys.max()) + outer + 1),
        max(0, roi.x0 + int(xs.min()) - outer), min(w, roi.x0 + int(xs.max()) + outer + 1),
    )  # fmt: skip
    region = np.zeros(frame.shape, np.uint8)
    region[ys + roi.y0 - frame.y0, xs + roi.x0 - frame.x0] = 255
    dist = cv2.distanceTransform(np.where(region > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 3)
    around = (dist > inner) & (dist <= outer)
    if not around.any():
        return 0.0
    crop = smooth[frame.slices]
    fy, fx = np.nonzero(floods)
    backing_hist = _colour_hist(smooth[fy + roi.y0, fx + roi.x0]) > 0
    backing_hist = _grow_bins(backing_hist)
    return float(backing_hist[_colour_index(crop[around])].mean())


def _colour_index(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    q = (pixels >> 3).astype(np.int64)
    idx: npt.NDArray[np.int64] = (q[:, 0] * 32 + q[:, 1]) * 32 + q[:, 2]
    return idx


def _colour_hist(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    return np.bincount(_colour_index(pixels), minlength=32**3)


def _grow_bins(present: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Mark each 8-level colour bin next to a marked one (JPEG and noise jitter colours)."""
    cube = present.reshape(32, 32, 32)
    out = cube.copy()
    for axis in range(3):
        shifted = out.copy()
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, 31), slice(1, 32)
        shifted[tuple(lo)] |= out[tuple(hi)]
        shifted[tuple(hi)] |= out[tuple(lo)]
        out = shifted
    return out.reshape(-1)


def _border_contact(filled: MaskArray, roi: Roi, image_shape: tuple[int, int]) -> float:
    """Share of the region's outline that lies on the image's edge."""
    h, w = image_shape
    on_edge = 0
    if roi.y0 == 0:
        on_edge += int(np.count_nonzero(filled[0]))
    if roi.x0 == 0:
        on_edge += int(np.count_nonzero(filled[:, 0]))
    if roi.y1 == h:
        on_edge += int(np.count_nonzero(filled[-1]))
    if roi.x1 == w:
        on_edge += int(np.count_nonzero(filled[:, -1]))
    if on_edge == 0:
        return 0.0
    contours, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(len(c) for c in contours)
    return on_edge / max(1, perimeter)


def _band_around(quad: MaskArray, width: int) -> npt.NDArray[np.bool_]:
    """The ``width``-px band just outside ``quad`` (computed on the quad's box only)."""
    ys, xs = np.nonzero(quad)
    band = np.zeros(quad.shape, bool)
    if ys.size == 0:
        return band
    h, w = quad.shape
    y0, y1 = max(0, int(ys.min()) - width - 1), min(h, int(ys.max()) + width + 2)
    x0, x1 = max(0, int(xs.min()) - width - 1), min(w, int(xs.max()) + width + 2)
    sub = quad[y0:y1, x0:x1]
    band[y0:y1, x0:x1] = (dilate(sub, width) > 0) & (sub == 0)
    return band

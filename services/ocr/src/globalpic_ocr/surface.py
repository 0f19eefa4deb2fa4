"""Product-print evidence: cues that a text line belongs to the product's own print.

An overlay is drawn on the finished picture: flat, level or turned as one, indifferent to what
lies under it. Print was on the object before the shot, so it carries the object's structure:

* **label layout** (``label_block``): a printed label is a block of several lines of one
  orientation, stacked or side by side, all on the same product blob (a hang tag's headings
  and fields, a bottle's brand / name / volume lines);
* **units of one product** (``unit_repeat``): the same text on several places of the product
  mask at any size (three bottles of a range, four baijiu bottles with one label), unlike a
  tiled watermark, whose copies share one size and angle and run off the product onto the
  background too;
* **the product's pose** (``follows_product``): a tilted line whose angle is the tilt of the
  product blob it lies on (a bottle photographed at an angle tilts its label with it);
* **inside the outline** (``inside_product``): the line with a glyph height of margin all
  round lies on its product blob (print sits inside the outline; a sticker on the product
  often reaches its edge);
* **the surface's shape** (``warped``): glyphs whose baseline bends along the line (a
  cylinder's curve), measured on the glyph pixels, since detectors fit rotated rectangles
  around curved text (the height taper is reported, not used: CJK glyph heights vary too much).

Each cue is in [0, 1] and scaled by the mask's trust (0 without a usable mask), so an
all-graphics poster, where the mask is salient everywhere, gets no product evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
Quad = npt.NDArray[np.float64]

# A line counts as on the product when this share of its quad is on the mask.
ON_PRODUCT = 0.6
# ... and as off it (a watermark tile on the background) below this share.
OFF_PRODUCT = 0.4
# Lines of one label: angles within this many degrees, centres at most this many glyph heights
# apart across the text, and along the text overlapping or at most this many heights apart.
LAYOUT_ANGLE_DEG = 4.0
LAYOUT_ACROSS = 3.5
LAYOUT_ALONG_GAP = 1.5
# Lines of one label differ in size, but not like a headline and a footnote on the backing.
LAYOUT_HEIGHT_RATIO = 4.0
# Other lines in the block that make a full label block (one: half of it).
LAYOUT_NEIGHBOURS = 2
# A line follows the product's pose when it is tilted at least this much and within
# POSE_AGREE_DEG of its blob's axis.
POSE_MIN_TILT_DEG = 2.0
POSE_AGREE_DEG = 2.5
POSE_MAX_TILT_DEG = 30.0
# A blob this close to square has no axis to follow.
POSE_MIN_ELONGATION = 1.3
# ``inside_product`` rises from 0 at this share of the grown quad on the blob to 1 at all of it.
INSIDE_FROM = 0.85
_PRINT_CUE_NAMES = ("label_block", "unit_repeat", "follows_product", "inside_product")
# Blob axes are measured at this long side (a few ms).
_BLOB_SIDE = 400
# Warp: the glyph band is cut into segments about one glyph height long; a segment needs this
# many glyph pixels to give an extent.
_MIN_SEGMENT_PX = 12
_MIN_SEGMENTS = 4
# Bend (quadratic sag over the line), as a share of the glyph height, where ``warped`` starts
# and where it is full: a straight line's per-character extents jitter by a few % (glyph
# shapes), a label on a can seen from above or below bends by 20 %+.
_WARP_FROM = 0.12
_WARP_FULL = 0.3


@dataclass(frozen=True)
class LineGeometry:
    """What the surface cues need of one line."""

    quad: Quad
    text_key: str  # normalised text (``overlay._NORMALISE_RE``, lower case)
    on_product: float  # share of the quad on the product mask
    blob: int  # the product blob under the line's centre (0: none)


@dataclass(frozen=True)
class Blobs:
    """The product mask's blobs: label image at full size and each blob's axis angle."""

    labels: npt.NDArray[np.int32]
    axis_deg: dict[int, float]  # folded into [-45, 45), like a line's signed tilt

    @classmethod
    def of(cls, product: BoolArray) -> Blobs:
        h, w = product.shape
        scale = min(1.0, _BLOB_SIDE / max(h, w))
        small = cv2.resize(
            product.astype(np.uint8),
            (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_NEAREST,
        )
        count, labels = cv2.connectedComponents(small, connectivity=8)
        axis: dict[int, float] = {}
        for k in range(1, count):
            ys, xs = np.nonzero(labels == k)
            if xs.size < 20:
                continue
            points = np.stack([xs, ys], axis=1).astype(np.float32)
            (_, _), (side_a, side_b), angle = cv2.minAreaRect(points)
            if max(side_a, side_b) >= POSE_MIN_ELONGATION * max(1.0, min(side_a, side_b)):
                axis[k] = fold_deg(float(angle))
        full = cv2.resize(labels.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
        return cls(np.asarray(full, np.int32), axis)

    def at(self, q: Quad) -> int:
        h, w = self.labels.shape
        x, y = q.mean(axis=0)
        return int(self.labels[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))])


def fold_deg(angle: float) -> float:
    """An angle folded into [-45, 45): the tilt off the nearest image axis, sign kept."""
    return (angle + 45.0) % 90.0 - 45.0


def _angle(q: Quad) -> float:
    top = q[1] - q[0]
    return math.degrees(math.atan2(float(top[1]), float(top[0])))


def _frame(q: Quad) -> tuple[npt.NDArray[np.float64], float, float]:
    """(unit vector along the text, length along it, glyph height) of a clockwise quad."""
    top, left = q[1] - q[0], q[3] - q[0]
    along_len = float(np.linalg.norm(top) + np.linalg.norm(q[2] - q[3])) / 2
    across_len = float(np.linalg.norm(left) + np.linalg.norm(q[2] - q[1])) / 2
    if across_len > along_len:  # vertical text: the long side runs along it
        top, along_len, across_len = left, across_len, along_len
    unit = top / max(float(np.linalg.norm(top)), 1e-6)
    return unit, along_len, across_len


def _laid_out_together(a: LineGeometry, b: LineGeometry) -> bool:
    """Two lines of one label: same blob, one orientation, comparable size, close."""
    if a.blob != b.blob or (a.text_key and a.text_key == b.text_key):
        return False  # a copy is a unit (or a tile), not a layout partner
    unit, length, height = _frame(a.quad)
    _, o_length, o_height = _frame(b.quad)
    turn = abs(fold_deg(_angle(b.quad) - _angle(a.quad)))
    ratio = max(height, o_height) / max(1e-6, min(height, o_height))
    if turn > LAYOUT_ANGLE_DEG or ratio > LAYOUT_HEIGHT_RATIO:
        return False
    offset = b.quad.mean(axis=0) - a.quad.mean(axis=0)
    across = abs(float(offset @ np.array([-unit[1], unit[0]])))
    gap_along = abs(float(offset @ unit)) - (length + o_length) / 2
    scale = max(height, o_height)
    return across <= LAYOUT_ACROSS * scale and gap_along <= LAYOUT_ALONG_GAP * scale


def _label_blocks(lines: Sequence[LineGeometry]) -> list[int]:
    """For every line, how many other on-product lines share its label block: the connected
    group of lines laid out together (a tag's heading, fields and footer chain up)."""
    parent = list(range(len(lines)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    on = [i for i, g in enumerate(lines) if g.on_product >= ON_PRODUCT and g.blob != 0]
    for n, i in enumerate(on):
        for j in on[n + 1 :]:
            if _laid_out_together(lines[i], lines[j]):
                parent[root(i)] = root(j)
    sizes: dict[int, int] = {}
    for i in on:
        sizes[root(i)] = sizes.get(root(i), 0) + 1
    return [sizes.get(root(i), 1) - 1 if i in on else 0 for i in range(len(lines))]


def _unit_copies(
    i: int, lines: Sequence[LineGeometry], same: Sequence[int], tiles: Sequence[int]
) -> float:
    """1 when the same text (``same``: at any size or angle) lies elsewhere on the product and
    no copy at the line's size and angle (``tiles``) lies off it (a watermark's grid does)."""
    if any(lines[j].on_product < OFF_PRODUCT for j in tiles):
        return 0.0
    return 1.0 if any(lines[j].on_product >= ON_PRODUCT for j in same if j != i) else 0.0


def _follows_product(me: LineGeometry, blobs: Blobs) -> float:
    axis = blobs.axis_deg.get(me.blob)
    if axis is None:
        return 0.0
    tilt = fold_deg(_angle(me.quad))
    # Near 45 degrees "tilted" and "turned the other way" are one angle: no evidence there.
    if not POSE_MIN_TILT_DEG <= abs(tilt) <= POSE_MAX_TILT_DEG:
        return 0.0
    if not POSE_MIN_TILT_DEG <= abs(axis) <= POSE_MAX_TILT_DEG:
        return 0.0
    return 1.0 if abs(fold_deg(tilt - axis)) <= POSE_AGREE_DEG else 0.0


def _inside_share(me: LineGeometry, blobs: Blobs) -> float:
    """Share of the line's quad, grown by one glyph height all round, on its own blob: print
    sits well inside the product's outline, a sticker placed on the product often reaches
    its edge."""
    unit, length, height = _frame(me.quad)
    normal = np.array([-unit[1], unit[0]])
    centre = me.quad.mean(axis=0)
    half_l, half_h = length / 2 + height, height * 1.5
    corners = [centre + sa * half_l * unit + sb * half_h * normal for sa, sb in
               ((-1, -1), (1, -1), (1, 1), (-1, 1))]  # fmt: skip
    h, w = blobs.labels.shape
    pts = np.round(np.asarray(corners)).astype(np.int32)
    x0, y0 = np.clip(pts.min(axis=0), 0, [w - 1, h - 1])
    x1, y1 = np.clip(pts.max(axis=0) + 1, 1, [w, h])
    mask = np.zeros((int(y1 - y0), int(x1 - x0)), np.uint8)
    cv2.fillPoly(mask, [pts - [x0, y0]], 1)
    # Over the whole grown quad: parts outside the image count as off the product.
    full = max(1.0, abs(float(cv2.contourArea(pts.astype(np.float32)))))
    on = float((blobs.labels[y0:y1, x0:x1][mask > 0] == me.blob).sum())
    return min(1.0, on / full)


def surface_cues(
    lines: Sequence[LineGeometry],
    same: Sequence[Sequence[int]],
    tiles: Sequence[Sequence[int]],
    blobs: Blobs | None,
    trust: float,
) -> list[dict[str, float]]:
    """``label_block``, ``unit_repeat``, ``follows_product`` and ``inside_product`` of every
    line (empty dicts without a product mask). ``same[i]``: the lines that read like line i
    (its words or a fragment of them) at any size and angle; ``tiles[i]``: those at its size
    and angle."""
    if blobs is None:
        return [{} for _ in lines]
    blocks = _label_blocks(lines)
    out = []
    for i, me in enumerate(lines):
        if me.on_product < ON_PRODUCT or me.blob == 0:
            out.append(dict.fromkeys(_PRINT_CUE_NAMES, 0.0))
            continue
        neighbours = blocks[i]
        inside = (_inside_share(me, blobs) - INSIDE_FROM) / (1 - INSIDE_FROM)
        out.append(
            {
                "layout_neighbours": float(neighbours),
                "label_block": trust * min(1.0, neighbours / LAYOUT_NEIGHBOURS),
                "unit_repeat": trust * _unit_copies(i, lines, same[i], tiles[i]),
                "follows_product": trust * _follows_product(me, blobs),
                "inside_product": trust * float(np.clip(inside, 0.0, 1.0)),
            }
        )
    return out


def warp_cue(glyph: BoolArray, inside: BoolArray, glyph_px: float) -> dict[str, float]:
    """Bend and taper of the glyph band of an upright line crop (``glyph``: the glyph
    mask, ``inside``: the line's box). Empty when the line is too short to tell."""
    rows = np.nonzero(inside.any(axis=1))[0]
    cols = np.nonzero(inside.any(axis=0))[0]
    if rows.size == 0 or cols.size == 0:
        return {}
    box = glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    width = box.shape[1]
    step = max(4, round(glyph_px))
    centres, heights, xs = [], [], []
    for x0 in range(0, width - step // 2, step):
        ys = np.nonzero(box[:, x0 : x0 + step])[0]
        if ys.size < _MIN_SEGMENT_PX:
            continue
        top, bottom = np.percentile(ys, [3.0, 97.0])
        centres.append((top + bottom) / 2)
        heights.append(bottom - top + 1)
        xs.append(x0 + step / 2)
    if len(xs) < _MIN_SEGMENTS:
        return {}
    x = (np.asarray(xs) - xs[0]) / max(1.0, xs[-1] - xs[0])  # 0..1 along the line
    c, hgt = np.asarray(centres), np.asarray(heights)
    mean_h = float(np.median(hgt))
    if mean_h < 4:
        return {}
    quad = np.polyfit(x, c, 2)
    lin = np.polyfit(x, c, 1)
    # Sag of the quadratic against the straight fit, over the line: the curve's depth.
    grid = np.linspace(0, 1, 9)
    bend = float(np.ptp(np.polyval(quad, grid) - np.polyval(lin, grid))) / mean_h
    # Robust taper: the height trend end to end (a fit, not the two end glyphs).
    slope = float(np.polyfit(x, hgt, 1)[0])
    taper = abs(slope) / mean_h
    # Only the bend is weighted: per-character heights of CJK glyphs (一 vs 量) make the
    # taper of a flat line as large as a real perspective's on the tune photos.
    return {
        "bend": bend,
        "taper": taper,
        "warped": float(np.clip((bend - _WARP_FROM) / (_WARP_FULL - _WARP_FROM), 0.0, 1.0)),
    }

"""Silhouette completion: where the product's outline runs under an erased overlay.

The segmenter's mask cannot be trusted under an overlay: it takes a badge on the product's
edge as product (a bump) or as background (a bite). So inside the hole we ignore it and
continue the outline from outside: every place where the outline enters the hole is an
*arm* (product / background boundary pixels within ``ARM_REACH_PX`` of the hole), with an
entry point and a direction (a line fitted to the arm). Two arms are joined by a cubic
Bézier tangent to both: a straight line when they are collinear, a quarter ellipse when
they turn along an arc (a can's top, a bottle's shoulder), a corner when two straight arms
meet (a box). Other counts of arms get a ray each. The curves cut the hole into pieces;
each piece goes to the side (product or background) it touches most along the hole's rim.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

BoolMask = npt.NDArray[np.bool_]
Vec = npt.NDArray[np.float64]

# Boundary pixels this far (px) from the hole give an arm's direction: long enough to fit
# it, short enough for a curved outline to be locally straight. Those up to twice as far
# tell whether the outline turns (an arc) or runs straight.
ARM_REACH_PX = 20
# Gaps between glyphs narrower than this (px) are closed before the outline is completed.
SOLID_GAP_PX = 12
# Arms entering closer than this (px) are one.
ARM_MERGE_PX = 16.0
# An arm must come this close (px) to the hole to enter it.
ARM_TOUCH_PX = 3.0
# Arms turning by more than this (degrees) go round a corner of the outline.
CORNER_DEG = 35.0
# An arm whose halves differ by more than this (degrees) is an arc, not a straight edge.
STRAIGHT_DEG = 2.5
# Bézier control points of a quarter ellipse: this share of the way to the tangents' meeting
# point (4 / 3 * (sqrt(2) - 1)).
ARC_K = 0.5523
# A corner farther than this multiple of the gap between the entries is not the shape's.
CORNER_REACH = 1.5


@dataclass(frozen=True)
class Arm:
    """Where the outline enters the hole: ``entry`` (x, y) and unit ``direction`` into it."""

    entry: Vec
    direction: Vec
    # Its near and far halves run the same way: a straight edge, not an arc.
    straight: bool = True
    # Boundary pixels it was fitted to.
    size: int = 0


def _disk(radius: int) -> npt.NDArray[np.uint8]:
    return np.asarray(
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)), np.uint8
    )


def _grow(mask: BoolMask, radius: int) -> BoolMask:
    return np.asarray(cv2.dilate(mask.astype(np.uint8), _disk(radius)), bool)


def find_arms(product: BoolMask, background: BoolMask, hole: BoolMask) -> list[Arm]:
    """The outline's arms around ``hole``: product pixels next to background pixels (both
    known) up to twice ``ARM_REACH_PX`` from the hole, grouped by 8-connectivity, that
    reach within ``ARM_TOUCH_PX`` of it."""
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    edge = product & _grow(background, 1) & (dist <= 2 * ARM_REACH_PX)
    n, labels = cv2.connectedComponents(edge.astype(np.uint8), connectivity=8)
    arms: list[Arm] = []
    for i in range(1, n):
        ys, xs = np.nonzero(labels == i)
        d = dist[ys, xs]
        if float(d.min()) > ARM_TOUCH_PX or len(xs) < 3:
            continue
        every = np.stack([xs, ys], axis=1).astype(np.float64)
        # Its direction from the part within ARM_REACH_PX; the part beyond tells an arc
        # (it turns) from a straight edge.
        close = d <= ARM_REACH_PX
        pts, d = every[close], d[close]
        near = d <= float(d.min()) + 1.5
        entry = pts[near].mean(axis=0)
        far = every[~close]
        far = far[np.hypot(*(far - entry).T) <= 2 * ARM_REACH_PX]
        centre = pts.mean(axis=0)
        # The arm's direction: its principal axis, pointed from its far end to the hole.
        cov = np.cov((pts - centre).T) if len(pts) > 2 else np.eye(2)
        _, vecs = np.linalg.eigh(cov)
        axis = vecs[:, -1]
        inward = entry - centre
        if float(np.linalg.norm(inward)) < 1.0:
            continue  # a blob, not a line: no direction to continue
        if float(axis @ inward) < 0:
            axis = -axis
        straight = len(far) < ARM_REACH_PX // 2 or _turn(pts, far) <= STRAIGHT_DEG
        arms.append(Arm(entry, axis / float(np.linalg.norm(axis)), straight, len(every)))
    return _merge(arms)


def _merge(arms: list[Arm]) -> list[Arm]:
    """One arm per place the outline enters: of arms entering within ``ARM_MERGE_PX`` of
    each other (a ragged segmenter edge splits one into several), the longest."""
    kept: list[Arm] = []
    for arm in sorted(arms, key=lambda a: -a.size):
        if all(float(np.linalg.norm(arm.entry - k.entry)) > ARM_MERGE_PX for k in kept):
            kept.append(arm)
    return kept


def _axis_deg(pts: Vec) -> float | None:
    """The direction (degrees, modulo 180) of a point set's principal axis."""
    if len(pts) < 3:
        return None
    _, vecs = np.linalg.eigh(np.cov((pts - pts.mean(axis=0)).T))
    return float(np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))) % 180.0


def _turn(near: Vec, far: Vec) -> float:
    """How much (degrees) an arm turns between its far half and its near half."""
    a, b = _axis_deg(near), _axis_deg(far)
    if a is None or b is None:
        return 0.0
    diff = abs(a - b) % 180.0
    return min(diff, 180.0 - diff)


def _corner(a: Arm, b: Arm) -> Vec | None:
    """Where the two arms' lines meet, when they turn into a corner ahead of both."""
    cos = float(-a.direction @ b.direction)  # 1 when the arms are collinear
    if cos > np.cos(np.radians(CORNER_DEG)):
        return None
    m = np.stack([a.direction, -b.direction], axis=1)
    if abs(float(np.linalg.det(m))) < 1e-6:
        return None
    ta, tb = np.linalg.solve(m, b.entry - a.entry)
    gap = float(np.linalg.norm(b.entry - a.entry))
    if ta <= 0 or tb <= 0 or max(ta, tb) > CORNER_REACH * max(gap, 1.0):
        return None
    return np.asarray(a.entry + ta * a.direction, np.float64)


def join(a: Arm, b: Arm, steps: int = 64) -> Vec:
    """The outline between two arms. When their lines meet ahead of both (the outline
    turns): a corner if both arms are straight (a box), else a cubic Bézier tangent to
    both with its control points ``ARC_K`` of the way to the meeting point (a quarter
    ellipse: a can's top, a bottle's shoulder). Otherwise a Bézier with control points a
    third of the gap along each direction (a straight line for collinear arms)."""
    corner = _corner(a, b)
    gap = float(np.linalg.norm(b.entry - a.entry))
    if corner is not None and a.straight and b.straight:
        return np.stack([a.entry, corner, b.entry])
    if corner is not None:
        p1 = a.entry + ARC_K * (corner - a.entry)
        p2 = b.entry + ARC_K * (corner - b.entry)
    else:
        p1 = a.entry + a.direction * gap / 3.0
        p2 = b.entry + b.direction * gap / 3.0
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return np.asarray(
        (1 - t) ** 3 * a.entry + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2
        + t**3 * b.entry,
        np.float64,
    )  # fmt: skip


def _draw(barrier: npt.NDArray[np.uint8], points: Vec) -> None:
    pts = np.round(points).astype(np.int32).reshape(-1, 1, 2)
    # LINE_8 curves leave no 4-connected gap: pieces are labelled with 4-connectivity.
    cv2.polylines(barrier, [pts], False, 1, thickness=1, lineType=cv2.LINE_8)


def solidify(hole: BoolMask, gap: int = SOLID_GAP_PX) -> BoolMask:
    """``hole`` with the gaps between its parts (narrower than ``gap`` px) and its enclosed
    pockets filled: a line of glyphs becomes one blob. The segmenter's word on the pixels
    between and inside glyphs is no better than on the glyphs, and arms found there would
    cut the outline into pieces."""
    closed = cv2.morphologyEx(hole.astype(np.uint8), cv2.MORPH_CLOSE, _disk(gap // 2))
    # Pockets: what the outside cannot reach.
    outside = np.pad(closed == 0, 1, constant_values=True).astype(np.uint8)
    flood = outside.copy()
    mask = np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8)
    cv2.floodFill(flood, mask, (0, 0), 2)
    reached = flood[1:-1, 1:-1] == 2
    return np.asarray(hole | (closed > 0) | ~reached, bool)


def complete(product: BoolMask, known: BoolMask, hole: BoolMask) -> BoolMask:
    """The product side of ``hole`` (one connected hole, crop coordinates).

    ``product`` is the segmenter's product mask (trusted on ``known`` pixels only); ``known``
    the pixels that are not masked at all. Returns a subset of ``hole``.
    """
    p_known = product & known
    b_known = ~product & known
    rim = _grow(hole, 2) & ~hole & known
    if not (p_known & rim).any():
        return np.zeros_like(hole)
    if not (b_known & rim).any():
        return hole.copy()
    arms = find_arms(p_known, b_known, hole)
    barrier = np.zeros(hole.shape, np.uint8)
    if len(arms) == 2:
        _draw(barrier, join(arms[0], arms[1]))
    else:
        reach = float(np.hypot(*hole.shape))
        for arm in arms:
            _draw(barrier, np.stack([arm.entry, arm.entry + reach * arm.direction]))
    cut = barrier > 0
    n, labels = cv2.connectedComponents((hole & ~cut).astype(np.uint8), connectivity=4)
    side = np.zeros_like(hole)
    for i in range(1, n):
        piece = labels == i
        touch = _grow(piece, 2) & ~hole
        votes_p = int((touch & p_known).sum())
        votes_b = int((touch & b_known).sum())
        if votes_p == votes_b:
            # Closed off by the curves: the segmenter's own word is all there is.
            votes_p, votes_b = int((piece & product).sum()), int((piece & ~product).sum())
        if votes_p > votes_b:
            side |= piece
    # The curve itself belongs to the product (the outline's own pixels).
    side |= hole & cut & _grow(side, 1)
    return side

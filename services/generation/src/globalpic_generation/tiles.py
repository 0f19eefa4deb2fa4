"""Tiled watermarks: many copies of one faint mark, found together rather than one by one.

A tiled watermark repeats one store name, at one size and angle, all over the photo. Each
copy alone is faint (20-45 % opacity) and on a textured photo its strokes hide in the
texture, so the per-line deviation test (``glyphs.py``) finds only parts of them. The copies
are identical, though: warped onto one canonical rectangle, and their per-pixel median
taken, the photo's texture and edges (different under each copy) drop out while the strokes
(the same in each) stay. That median high-pass is a clean template of the glyph shape; each
copy whose own high-pass agrees with it gets the template's strokes, warped back into place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_generation.quads import Point, quad_points

FloatImage = npt.NDArray[np.float32]

# Copies needed before lines count as a tiled watermark.
MIN_COPIES = 3
# Lines are copies when their sides agree within these shares and their angles within
# MAX_ANGLE_DIFF degrees (OCR quads of one copy jitter by a few pixels).
MAX_LENGTH_DIFF = 0.1
MAX_HEIGHT_DIFF = 0.2
MAX_ANGLE_DIFF = 3.0
# ... and they read alike: this share of the shorter text's characters in common.
MIN_SHARED_CHARS = 0.5
# Margin of the canonical rectangle around the quad, in text heights (strokes stick out of
# loose quads; the high-pass needs context).
PAD_SHARE = 0.3
# High-pass: image minus its Gaussian blur of this sigma (text heights): strokes are ~0.1.
BLUR_SHARE = 0.15
# A template pixel is a stroke when its averaged high-pass exceeds this many times the
# template's noise level (median absolute value) and MIN_STROKE_LEVEL levels.
STROKE_TIMES_NOISE = 3.0
MIN_STROKE_LEVEL = 3.0
# A copy gets the template's strokes when on this share of them its own high-pass points
# the template's way with at least AGREE_SHARE of its strength (a copy matches on ~all, an
# unrelated line on few).
MIN_AGREEMENT = 0.45
AGREE_SHARE = 0.25
# Template components smaller than this share of the squared text height are noise.
MIN_SPECK_SHARE = 0.004
# Search (px) for each copy's offset against the template: OCR quads of copies are placed
# independently and shift by a few pixels.
ALIGN_SEARCH_PX = 3
# ... taken only when it raises the agreement by this much over no shift.
ALIGN_MIN_GAIN = 0.05


@dataclass(frozen=True)
class _Copy:
    pts: npt.NDArray[np.float64]  # TL, TR, BR, BL
    length: float
    height: float
    angle: float  # degrees, of the top edge
    chars: frozenset[str]


def _describe(box: Sequence[Point], text: str) -> _Copy | None:
    pts = quad_points(box)
    if len(pts) != 4:
        return None
    top = pts[1] - pts[0]
    length = float((np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])) / 2)
    height = float((np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2)
    if length < 8 or height < 6:
        return None
    angle = float(np.degrees(np.arctan2(top[1], top[0])))
    chars = frozenset(ch for ch in text if ch.isalnum())
    return _Copy(pts, length, height, angle, chars)


def _alike(a: _Copy, b: _Copy) -> bool:
    if abs(a.length - b.length) > MAX_LENGTH_DIFF * max(a.length, b.length):
        return False
    if abs(a.height - b.height) > MAX_HEIGHT_DIFF * max(a.height, b.height):
        return False
    if abs((a.angle - b.angle + 180.0) % 360.0 - 180.0) > MAX_ANGLE_DIFF:
        return False
    shorter = min(len(a.chars), len(b.chars))
    return shorter > 0 and len(a.chars & b.chars) >= MIN_SHARED_CHARS * shorter


def copy_groups(boxes: Sequence[Sequence[Point]], texts: Sequence[str]) -> list[list[int]]:
    """Indices of lines that are copies of one mark (groups of at least MIN_COPIES)."""
    copies = [_describe(b, t) for b, t in zip(boxes, texts, strict=True)]
    groups: list[list[int]] = []
    used: set[int] = set()
    for i, ci in enumerate(copies):
        if ci is None or i in used:
            continue
        group = [i]
        for j in range(i + 1, len(copies)):
            cj = copies[j]
            if cj is not None and j not in used and _alike(ci, cj):
                group.append(j)
        if len(group) >= MIN_COPIES:
            groups.append(group)
            used.update(group)
    return groups


def tiled_watermark_mask(
    image: ImageArray, boxes: Sequence[Sequence[Point]], texts: Sequence[str]
) -> MaskArray:
    """Strokes (255) of the copies of every tiled watermark among the lines."""
    h, w = image.shape[:2]
    out = np.zeros((h, w), np.uint8)
    for group in copy_groups(boxes, texts):
        copies = [c for c in (_describe(boxes[i], texts[i]) for i in group) if c is not None]
        _add_group(image, copies, out)
    return out


def _add_group(image: ImageArray, copies: list[_Copy], out: MaskArray) -> None:
    length = float(np.median([c.length for c in copies]))
    height = float(np.median([c.height for c in copies]))
    pad = max(3.0, PAD_SHARE * height)
    cw, ch = int(np.ceil(length + 2 * pad)), int(np.ceil(height + 2 * pad))
    dst = np.array([[pad, pad], [pad + length, pad], [pad, pad + height]], np.float32)
    sigma = max(1.0, BLUR_SHARE * height)
    mats: list[npt.NDArray[np.float64]] = []
    highs: list[FloatImage] = []
    for c in copies:
        src = np.array([c.pts[0], c.pts[1], c.pts[3]], np.float32)
        mat = np.asarray(cv2.getAffineTransform(src, dst), np.float64)
        warped = cv2.warpAffine(
            image, mat, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        ).astype(np.float32)
        highs.append(warped - np.asarray(cv2.GaussianBlur(warped, (0, 0), sigma), np.float32))
        mats.append(mat)
    template = np.median(np.stack(highs), axis=0).astype(np.float32)
    on = _strokes(template, height)
    if not on.any():
        return
    # Align each copy to the first template (OCR quads of copies jitter by a few pixels):
    # the whole-pixel shift on which most template strokes agree, then take the median again.
    ys, xs = np.nonzero(on)
    t_px = template[on]
    t_sq = np.einsum("ij,ij->i", t_px, t_px)
    r = ALIGN_SEARCH_PX
    for k, hp in enumerate(highs):
        best, best_agree = (0, 0), _agreement(hp, ys, xs, t_px, t_sq) + ALIGN_MIN_GAIN
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                a = _agreement(hp, ys + dy, xs + dx, t_px, t_sq)
                if a > best_agree:
                    best, best_agree = (dx, dy), a
        if best != (0, 0):
            shift = np.array([[1, 0, -best[0]], [0, 1, -best[1]]], np.float64)
            highs[k] = np.asarray(
                cv2.warpAffine(hp, shift, (cw, ch), borderMode=cv2.BORDER_REFLECT), np.float32
            )
            mats[k] = shift @ np.vstack([mats[k], [0, 0, 1]])
    template = np.median(np.stack(highs), axis=0).astype(np.float32)
    on = _strokes(template, height)
    if not on.any():
        return
    stroke_mask = np.where(on, 255, 0).astype(np.uint8)
    ys, xs = np.nonzero(on)
    t_px = template[on]
    t_sq = np.einsum("ij,ij->i", t_px, t_px)
    h, w = out.shape
    for hp, mat in zip(highs, mats, strict=True):
        # A copy agrees where its high-pass points the template's way with a good part of
        # its strength; the photo's own edges under it only spoil some of the pixels.
        if _agreement(hp, ys, xs, t_px, t_sq) < MIN_AGREEMENT:
            continue
        # Back into the image, only over the copy's own box (not a full-frame warp each).
        inv = cv2.invertAffineTransform(mat)
        corners = np.array([[0, 0, 1], [cw, 0, 1], [cw, ch, 1], [0, ch, 1]], np.float64) @ inv.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        local = mat @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)
        back = cv2.warpAffine(
            stroke_mask, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        )
        sub = out[y0:y1, x0:x1]
        np.maximum(sub, np.where(back > 64, 255, 0).astype(np.uint8), out=sub)


def _strokes(template: FloatImage, height: float) -> npt.NDArray[np.bool_]:
    """The template's stroke pixels: strong enough against its noise, in sizeable pieces."""
    strength = np.sqrt(np.einsum("...k,...k->...", template, template))
    noise = float(np.median(strength))
    strong = strength > max(MIN_STROKE_LEVEL, STROKE_TIMES_NOISE * noise)
    # A mark is one colour, lighter or darker than the photo: its strokes have one polarity,
    # and the opposite one around them is the high-pass's halo, not ink.
    lum = template.mean(axis=2)
    polarity = 1.0 if float(lum[strong].sum()) >= 0 else -1.0
    strokes = np.where(strong & (lum * polarity > 0), 255, 0)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8), connectivity=8)
    keep = np.asarray(stats)[:, cv2.CC_STAT_AREA] >= max(4.0, MIN_SPECK_SHARE * height * height)
    keep[0] = False
    out: npt.NDArray[np.bool_] = keep[np.asarray(labels)]
    return out


def _agreement(
    hp: FloatImage,
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    t_px: FloatImage,
    t_sq: FloatImage,
) -> float:
    """Share of the template's stroke pixels (at ``ys``, ``xs`` in ``hp``) where ``hp``
    points the template's way with at least AGREE_SHARE of its strength."""
    yy = np.clip(ys, 0, hp.shape[0] - 1)
    xx = np.clip(xs, 0, hp.shape[1] - 1)
    dots = np.einsum("ij,ij->i", hp[yy, xx], t_px)
    return float(np.mean(dots > AGREE_SHARE * t_sq))

"""Merging the lines of several OCR passes over one photo into one list.

The colour pass runs first and its lines stand. A line another pass (a contrast view, the
tile search) finds is new when it overlaps no line already held; where it lies on one, the
pass saw the same text, and it replaces that line only when it reads it better (more
characters, with more confidence) over about the same box. Lines from the extra passes must
read as text (``credible``): their views also stretch wood grain and fabric into stroke-like
shapes, and a lone glyph read with little confidence there is the photo's texture.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.schemas import TextLine

Point = tuple[float, float]

# A new line on an old one's box (intersection over the smaller convex hull) is the same text.
SAME_TEXT_OVERLAP = 0.5
# ... and replaces it only over about the same box: the smaller covers this much of the larger.
REPLACE_AREA_SHARE = 0.7


def hull(box: Sequence[Point]) -> npt.NDArray[np.float32]:
    pts = np.asarray(box, np.float32).reshape(-1, 1, 2)
    return np.asarray(cv2.convexHull(pts), np.float32)


def overlap(a: Sequence[Point], b: Sequence[Point]) -> tuple[float, float]:
    """(intersection over the smaller area, smaller area over larger area), hulls."""
    ha, hb = hull(a), hull(b)
    area_a, area_b = float(cv2.contourArea(ha)), float(cv2.contourArea(hb))
    small, large = min(area_a, area_b), max(area_a, area_b)
    if small <= 0:
        return 0.0, 0.0
    inter, _ = cv2.intersectConvexConvex(ha, hb)
    return min(1.0, float(inter) / small), small / large


def readable(text: str) -> int:
    """Letters, digits and CJK characters in ``text``."""
    return sum(ch.isalnum() for ch in text)


def credible(line: TextLine, min_confidence: float, min_chars: int) -> bool:
    return line.confidence >= min_confidence and readable(line.text) >= min_chars


def merge_lines(base: Sequence[TextLine], extra: Sequence[TextLine]) -> list[TextLine]:
    """``base`` plus the lines of ``extra`` that are new, with better readings swapped in."""
    out = list(base)
    for line in extra:
        same = [(i, overlap(line.box, held.box)) for i, held in enumerate(out)]
        same = [(i, ov) for i, ov in same if ov[0] >= SAME_TEXT_OVERLAP]
        if not same:
            out.append(line)
            continue
        i, (_, area_share) = max(same, key=lambda item: item[1][0])
        held = out[i]
        better = readable(line.text) > readable(held.text) and line.confidence >= held.confidence
        if len(same) == 1 and area_share >= REPLACE_AREA_SHARE and better:
            out[i] = line
    return out

"""Finding the copies of a tiled watermark that OCR missed, from the copies it read.

A tiled watermark repeats one text, at one size and angle, across the photo. Where a copy
crosses a busy texture or the product's print, OCR reads nothing, though the copy is as much
there as the ones it read. Two read copies are enough to know what to look for: their glyph
residual (``faint.text_residual``: the photo's large-scale shading removed, in units of the
local spread, so a copy on a dark label and one on a light wall look alike), warped upright
and averaged, is a template of the mark. The residual of the whole photo, turned so the
copies run level, is searched for it by normalised cross-correlation; every strong peak that
no line holds is a candidate copy. A candidate is taken only when the recogniser reads the
mark's text in it: on real photos the match alone also fires on the product's own repeated
print and on busy texture (tried: dozens of false copies on a cosmetics poster at NCC 0.55-0.7).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.schemas import TextLine
from globalpic_ocr.combine import overlap, readable

FloatImage = npt.NDArray[np.float32]
Point = tuple[float, float]
# Reads level, upright crops of the grey view: (text, confidence) each.
Reader = Callable[[list[npt.NDArray[np.uint8]]], list[tuple[str, float]]]

# Lines are copies of one mark when their sides agree within these shares, their angles
# within MAX_ANGLE_DIFF degrees, and they share this much of the shorter reading.
MAX_LENGTH_DIFF = 0.15
MAX_HEIGHT_DIFF = 0.35
MAX_ANGLE_DIFF = 4.0
MIN_SHARED_CHARS = 0.6
MIN_COPIES = 2
# Whole copies (read in full) the template is the median of.
MIN_TEMPLATE_COPIES = 2
MIN_TEXT_CHARS = 2
# The search runs at this many px of text height (the template and the photo scaled alike).
SEARCH_TEXT_PX = 28.0
# The residual (units of local spread) is clipped to this before matching.
RESIDUAL_CLIP = 1.5
# Blur (px at the search scale) against pixel noise.
SMOOTH_SIGMA = 1.2
# Template margin around the copy's quad, in text heights.
PAD_SHARE = 0.15
# Copies (read, widened or found) that must agree on a grid before its nodes are searched,
# how far a copy may lie from its node (text heights), and how far around a node the
# match is looked for.
MIN_GRID_COPIES = 4
GRID_FIT = 0.35
GRID_SEARCH = 0.3
# ... and how well the template must match there: the grid is the main evidence; the match
# only has to show some of the mark's strokes (a copy across a label's print matches ~0.15).
GRID_NCC = 0.12
GRID_MIN_INSIDE = 0.5
# A candidate is read when it correlates this well.
CANDIDATE_NCC = 0.35
# A copy read in part is widened to the whole copy where the template matches this well
# along it (a search of a few pixels around text already read: a weaker match suffices).
WIDEN_NCC = 0.2
# A candidate's reading must be this much made of the mark's characters, and hold this
# share of them.
READ_SHARE = 0.6
# A candidate that overlaps a held line this much is that line.
HELD_OVERLAP = 0.3
# At most this many candidates per mark are read (cost bound).
MAX_READS = 16
MAX_CANDIDATES = 200
# Share of a candidate's quad that must lie inside the photo.
MIN_INSIDE = 0.9


@dataclass(frozen=True)
class Mark:
    """A tiled watermark: its text and the size and angle of its copies."""

    text: str
    length: float
    height: float
    angle: float  # degrees, of the top edge (image coordinates, y down)
    members: tuple[int, ...]  # copies read whole
    parts: tuple[int, ...] = ()  # copies read in part


@dataclass(frozen=True)
class Copies:
    """What the search gives: the input lines, each copy that was read in part widened to
    the whole copy (its box only: the text stays as read), and the copies no line held."""

    lines: list[TextLine]
    found: list[TextLine]


def _geometry(box: Sequence[Point]) -> tuple[float, float, float]:
    q = np.asarray(box, np.float64).reshape(4, 2)
    length = float((np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2)
    height = float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2)
    top = q[1] - q[0]
    return length, height, float(np.degrees(np.arctan2(top[1], top[0])))


def _chars(text: str) -> set[str]:
    return {ch for ch in text.lower() if ch.isalnum()}


def _copies(a: TextLine, b: TextLine) -> bool:
    """Copies of one mark: one glyph height and angle, readings that share most characters
    (lengths may differ: OCR often reads a copy in part)."""
    _, ha, aa = _geometry(a.box)
    _, hb, ab = _geometry(b.box)
    if abs(ha - hb) > MAX_HEIGHT_DIFF * max(ha, hb):
        return False
    if abs((aa - ab + 180.0) % 360.0 - 180.0) > MAX_ANGLE_DIFF:
        return False
    ca, cb = _chars(a.text), _chars(b.text)
    shorter = min(len(ca), len(cb))
    return shorter >= MIN_TEXT_CHARS and len(ca & cb) >= MIN_SHARED_CHARS * shorter


def find_marks(lines: Sequence[TextLine]) -> list[Mark]:
    """Groups of MIN_COPIES or more lines that are copies of one text (each line in one).

    The mark's length is that of its whole copies (read in full: the longest quads); only
    those are its ``members`` (the template is cut from them).
    """
    marks: list[Mark] = []
    used: set[int] = set()
    # Longest readings first: a group grows around a whole copy, and the copies read in part
    # join it (around a part, two parts of other copies can share too few characters).
    order = sorted(range(len(lines)), key=lambda k: -readable(lines[k].text))
    for n, i in enumerate(order):
        line = lines[i]
        if i in used or len(line.box) != 4:
            continue
        group = [i]
        for j in order[n + 1 :]:
            if j not in used and len(lines[j].box) == 4 and _copies(line, lines[j]):
                group.append(j)
        if len(group) < MIN_COPIES:
            continue
        used.update(group)
        geo = {k: _geometry(lines[k].box) for k in group}
        longest = max(g[0] for g in geo.values())
        whole = [k for k in group if geo[k][0] >= (1.0 - MAX_LENGTH_DIFF) * longest]
        if len(whole) < MIN_TEMPLATE_COPIES:
            continue  # one copy's template holds as much of its photo as of the mark
        # The reading with most characters names the mark (copies are often read in part).
        text = max((lines[k].text for k in whole), key=readable)
        marks.append(
            Mark(
                text,
                float(np.median([geo[k][0] for k in whole])),
                float(np.median([geo[k][1] for k in whole])),
                float(np.median([geo[k][2] for k in group])),
                tuple(whole),
                tuple(k for k in group if k not in whole),
            )
        )
    return marks


def search_copies(
    residual: FloatImage,
    lines: Sequence[TextLine],
    read: Reader | None = None,
    view: npt.NDArray[np.uint8] | None = None,
    min_confidence: float = 0.75,
) -> Copies:
    """The copies of every tiled mark among ``lines``: those read in part, widened to the
    whole copy (so that erasing takes all of it), and those no line holds.

    ``residual`` is ``faint.text_residual`` of the photo; ``view`` (grey uint8, same size) is
    what ``read`` is shown, cropped level around each candidate.
    """
    out = list(lines)
    found: list[TextLine] = []
    for mark in find_marks(lines):
        members = [lines[k] for k in mark.members]
        parts = {k: lines[k] for k in mark.parts}
        new, widened = _search_mark(
            residual, mark, members, parts, [*lines, *found], read, view, min_confidence
        )
        found.extend(new)
        for k, box in widened.items():
            out[k] = TextLine(box=box, text=lines[k].text, confidence=lines[k].confidence)
    return Copies(out, found)


def _level_transform(
    shape: tuple[int, int], angle: float, scale: float
) -> tuple[npt.NDArray[np.float64], tuple[int, int]]:
    """Affine (2 x 3) that scales the photo and turns text at ``angle`` level, on a canvas
    (width, height) that holds the whole turned photo."""
    h, w = shape
    rot = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64) @ rot.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    rot[:, 2] -= lo
    size = (int(np.ceil(hi[0] - lo[0])) + 1, int(np.ceil(hi[1] - lo[1])) + 1)
    return np.asarray(rot, np.float64), size


def _apply(mat: npt.NDArray[np.float64], pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = pts @ mat[:, :2].T + mat[:, 2]
    return out


def _search_mark(
    residual: FloatImage,
    mark: Mark,
    members: Sequence[TextLine],
    parts: dict[int, TextLine],
    held: Sequence[TextLine],
    read: Reader | None,
    view: npt.NDArray[np.uint8] | None,
    min_confidence: float,
) -> tuple[list[TextLine], dict[int, list[Point]]]:
    h, w = residual.shape
    scale = min(1.0, SEARCH_TEXT_PX / max(mark.height, 1.0))
    mat, size = _level_transform((h, w), mark.angle, scale)
    # Clipped: a dark vein or the product's edge would outweigh a faint mark's strokes.
    clipped = np.clip(residual, -RESIDUAL_CLIP, RESIDUAL_CLIP)
    level = cv2.warpAffine(clipped, mat, size, flags=cv2.INTER_AREA, borderValue=0.0)
    # Pixel noise (stretched with the faint strokes) would cap the match of a true copy.
    level = np.asarray(cv2.GaussianBlur(level, (0, 0), SMOOTH_SIGMA), np.float32)
    # The members' quads, level: their centres give each copy's template window.
    t_len, t_h = mark.length * scale, mark.height * scale
    pad = max(1.0, PAD_SHARE * t_h)
    tw, th = round(t_len + 2 * pad), round(t_h + 2 * pad)
    if tw < 6 or th < 4:
        return [], {}
    crops = []
    for line in members:
        centre = _apply(mat, np.asarray(line.box, np.float64).reshape(4, 2)).mean(axis=0)
        crop = cv2.getRectSubPix(level, (tw, th), (float(centre[0]), float(centre[1])))
        crops.append(np.asarray(crop, np.float32))
    template = np.asarray(np.median(np.stack(crops), axis=0), np.float32)
    if float(template.std()) < 1e-3:
        return [], {}
    # Either sign: a grey mark is darker than a light wall and lighter than a dark label.
    ncc = np.abs(np.asarray(cv2.matchTemplate(level, template, cv2.TM_CCOEFF_NORMED), np.float32))
    inv64 = np.asarray(cv2.invertAffineTransform(mat), np.float64)

    def whole_box(x: float, y: float) -> list[Point]:
        """The copy whose template window has its top-left at (x, y), in the photo."""
        corners = np.array(
            [[x + pad, y + pad], [x + pad + t_len, y + pad],
             [x + pad + t_len, y + pad + t_h], [x + pad, y + pad + t_h]], np.float64,
        )  # fmt: skip
        return [(round(float(px), 1), round(float(py), 1)) for px, py in _apply(inv64, corners)]

    widened: dict[int, list[Point]] = {}
    for k, line in parts.items():
        # The whole copy lies along the part, up to the unread length to either side.
        q = _apply(mat, np.asarray(line.box, np.float64).reshape(4, 2))
        cx, cy = q.mean(axis=0) - (tw / 2.0, th / 2.0)
        reach_x = max(0.0, t_len - float(np.linalg.norm(q[1] - q[0]))) / 2.0 + pad
        reach_y = 0.25 * t_h
        x0, x1 = max(0, int(cx - reach_x)), min(ncc.shape[1], int(cx + reach_x) + 1)
        y0, y1 = max(0, int(cy - reach_y)), min(ncc.shape[0], int(cy + reach_y) + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        _, best, _, (bx, by) = cv2.minMaxLoc(ncc[y0:y1, x0:x1])
        if best >= WIDEN_NCC:
            box = whole_box(x0 + bx, y0 + by)
            if _inside_share(box, (h, w)) >= MIN_INSIDE:
                widened[k] = box
    view_level = (
        cv2.warpAffine(view, mat, size, flags=cv2.INTER_LINEAR, borderValue=128)
        if view is not None and read is not None
        else None
    )
    candidates: list[tuple[list[Point], float, npt.NDArray[np.uint8] | None]] = []
    for x, y, score in _peaks(ncc, tw, th):
        box = whole_box(x, y)
        if _inside_share(box, (h, w)) < MIN_INSIDE:
            continue
        if any(overlap(box, other.box)[0] >= HELD_OVERLAP for other in held):
            continue
        sub: npt.NDArray[np.uint8] | None = None
        if view_level is not None and len(candidates) < MAX_READS:
            part = np.ascontiguousarray(view_level[max(0, y) : y + th, max(0, x) : x + tw])
            if part.size:
                sub = np.asarray(cv2.resize(part, None, fx=1.0 / scale, fy=1.0 / scale), np.uint8)
        candidates.append((box, score, sub))
    shown = [sub for _, _, sub in candidates if sub is not None]
    readings = iter(read(shown) if read is not None and shown else [])
    want = _chars(mark.text)
    out: list[TextLine] = []
    for box, _, sub in candidates:
        if sub is None:
            continue
        text, conf = next(readings, ("", 0.0))
        got = _chars(text)
        shared = len(got & want)
        if (
            conf >= min_confidence
            and readable(text) >= MIN_TEXT_CHARS
            and shared >= READ_SHARE * len(got)
            and shared >= READ_SHARE * min(len(want), len(got) + 1)
            and all(overlap(box, other.box)[0] < HELD_OVERLAP for other in out)
        ):
            out.append(TextLine(box=box, text=text, confidence=float(conf)))

    # The copies lie on a grid: where the read copies fix one, its other nodes are copies
    # too, also where the product's print under them keeps both OCR and the plain match
    # from seeing them; a weak, local match at the node confirms each.
    known = [*members, *(TextLine(box=b, text="", confidence=0.0) for b in widened.values()), *out]
    corners = [_apply(mat, np.asarray(line.box, np.float64).reshape(4, 2)) for line in known]
    centres = np.array([c.mean(axis=0) for c in corners])
    # Only the copies bar a node: a copy on the grid crossing the product's print overlaps
    # that print's line, and is no less a copy.
    copies = [*members, *parts.values(), *out]
    taken = [*copies, *(TextLine(box=b, text="", confidence=0.0) for b in widened.values())]
    for cx, cy in _grid_nodes(centres, t_len, t_h, (size[1], size[0])):
        x0, y0 = int(cx - tw / 2 - GRID_SEARCH * t_h), int(cy - th / 2 - GRID_SEARCH * t_h)
        x1, y1 = x0 + int(2 * GRID_SEARCH * t_h) + 1, y0 + int(2 * GRID_SEARCH * t_h) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(ncc.shape[1], x1), min(ncc.shape[0], y1)
        if x1 <= x0 or y1 <= y0:
            continue
        _, best, _, (bx, by) = cv2.minMaxLoc(ncc[y0:y1, x0:x1])
        if best < GRID_NCC:
            continue
        box = whole_box(x0 + bx, y0 + by)
        # A copy cut by the photo's edge is still seen: half of it inside is enough.
        if _inside_share(box, (h, w)) < GRID_MIN_INSIDE:
            continue
        if any(overlap(box, other.box)[0] >= HELD_OVERLAP for other in taken):
            continue
        line = TextLine(box=box, text=mark.text, confidence=round(float(best), 3))
        out.append(line)
        taken.append(line)
    return out, widened


def _grid_nodes(
    centres: npt.NDArray[np.float64], t_len: float, t_h: float, shape: tuple[int, int]
) -> list[tuple[float, float]]:
    """The nodes (level coordinates, inside ``shape``) of the grid the copies' ``centres``
    lie on, or none when they lie on no grid (too few, one row, or off the fitted nodes)."""
    if len(centres) < MIN_GRID_COPIES:
        return []
    diffs = (centres[None, :, :] - centres[:, None, :]).reshape(-1, 2)
    diffs = diffs[np.linalg.norm(diffs, axis=1) > 0.5 * t_h]
    if not len(diffs):
        return []
    # The shortest step between copies, then the shortest one off its line (copies do not
    # overlap, so the two span at least a copy's area), reduced against the first.
    norms = np.linalg.norm(diffs, axis=1)
    v1 = diffs[np.argmin(norms)]
    off = np.abs(diffs[:, 0] * v1[1] - diffs[:, 1] * v1[0]) >= 0.5 * t_h * float(norms.min())
    if not off.any():
        return []
    v2 = diffs[off][np.argmin(norms[off])]
    v2 = v2 - np.round(float(v2 @ v1) / float(v1 @ v1)) * v1
    basis = np.stack([v1, v2], axis=1)
    if abs(float(np.linalg.det(basis))) < t_len * t_h:
        return []
    origin = centres[0]
    coords = np.linalg.solve(basis, (centres - origin).T).T
    fitted = np.round(coords) @ basis.T + origin
    if np.mean(np.linalg.norm(fitted - centres, axis=1) <= GRID_FIT * t_h) < 0.8:
        return []
    hgt, wid = shape
    span = int(np.ceil((hgt + wid) / min(np.linalg.norm(v1), np.linalg.norm(v2)))) + 1
    nodes = []
    for a in range(-span, span + 1):
        for b in range(-span, span + 1):
            x, y = origin + a * v1 + b * v2
            if 0 <= x < wid and 0 <= y < hgt:
                nodes.append((float(x), float(y)))
    return nodes


def _peaks(ncc: FloatImage, tw: int, th: int) -> list[tuple[int, int, float]]:
    """Local maxima of ``ncc`` at or above CANDIDATE_NCC, strongest first, no two closer
    than most of a template (copies never overlap)."""
    work = ncc.copy()
    out: list[tuple[int, int, float]] = []
    rx, ry = max(1, int(0.8 * tw)), max(1, int(0.8 * th))
    for _ in range(MAX_CANDIDATES):
        _, best, _, (x, y) = cv2.minMaxLoc(work)
        if best < CANDIDATE_NCC:
            break
        out.append((int(x), int(y), float(best)))
        work[max(0, y - ry) : y + ry + 1, max(0, x - rx) : x + rx + 1] = -1.0
    return out


def _inside_share(box: Sequence[Point], shape: tuple[int, int]) -> float:
    h, w = shape
    frame = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    q = np.asarray(box, np.float32).reshape(-1, 1, 2)
    area = float(cv2.contourArea(q))
    if area <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(q, np.asarray(frame, np.float32).reshape(-1, 1, 2))
    return float(inter) / area

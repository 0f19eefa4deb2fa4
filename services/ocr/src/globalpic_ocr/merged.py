"""Split OCR lines that merged a watermark tile with other text.

PP-OCR's detector joins glyphs that touch along one direction into one line. A tiled shop
watermark (``@良品优选官方店`` every 300 px, at an angle) that crosses the product's own print
then comes back as one line reading ``@良统``: two characters of the watermark and one of the
brand. Classified whole, the line is an overlay (its ``@``) and erasing it takes the brand's
glyph with it; kept whole, the watermark stays. Split at the character boxes the recogniser
gives, each part is decided on its own cues.

A line is split only when the image holds the watermark elsewhere: at least ``MIN_TILES``
other lines that are copies of one text (same words or fragments, one glyph height, one
angle: ``overlay.tile_copies``), so a product that merely shares characters with its shop's
name is never cut up. The line must be taller than the tiles (it holds their glyphs and
larger ones; a line of tile height is one more tile, read in other words). The part taken
for the watermark is a run of ``MIN_RUN`` or more characters at the start or end of the line
that reads as a piece of a tile's text; the rest must hold a character no tile shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from globalpic_common.schemas import TextLine
from globalpic_ocr.overlay import (
    TILE_SIZE_TOL,
    angle_degrees,
    side_lengths,
    tile_copies,
)

Point = tuple[float, float]

# A watermark is known from this many tiles (copies of one text) on the image.
MIN_TILES = 2
# Characters a split-off watermark piece must have: one shared glyph is chance.
MIN_RUN = 2
# The split-off watermark part's quad is this many tile heights tall.
TILE_QUAD_MARGIN = 1.5


@dataclass(frozen=True)
class CharBox:
    """One recognised character (or Latin word) of a line and its box in the image."""

    text: str
    box: Sequence[Point]


def split_merged_lines(
    lines: Sequence[TextLine], chars: Sequence[Sequence[CharBox] | None]
) -> list[TextLine]:
    """``lines`` with each watermark-merged line replaced by its two parts (same order
    otherwise). ``chars[i]`` holds the character boxes of ``lines[i]`` (None: unknown, kept)."""
    tiles = _tiles(lines)
    if not tiles:
        return list(lines)
    out: list[TextLine] = []
    for line, boxes in zip(lines, chars, strict=True):
        found = _cut(line, boxes, tiles) if boxes else None
        if found is None or boxes is None:
            out.append(line)
            continue
        cut, tile, tile_first = found
        for start, stop in ((0, cut), (cut, len(boxes))):
            part = boxes[start:stop]
            is_tile = (start == 0) == tile_first
            box = _tile_quad(part, tile) if is_tile else _sub_quad(line.box, part)
            text = "".join(c.text for c in part)
            out.append(TextLine(box=box, text=text, confidence=line.confidence))
    return out


@dataclass(frozen=True)
class _Tile:
    text: str
    height: float
    angle: float  # degrees, of the top edge
    pitch: float  # px per character along the text


def _tiles(lines: Sequence[TextLine]) -> list[_Tile]:
    """The lines that are watermark tiles (MIN_TILES copies or more)."""
    tiles = []
    for i, line in enumerate(lines):
        if len(tile_copies(lines, i)) >= MIN_TILES:
            q = np.asarray(line.box, np.float64).reshape(4, 2)
            length, height = side_lengths(q)
            text = _plain(line.text)
            tiles.append(_Tile(text, height, angle_degrees(q), length / max(1, len(text))))
    return tiles


def _height(line: TextLine) -> float:
    """Glyph height (px) of the line's quad."""
    return side_lengths(np.asarray(line.box, np.float64).reshape(4, 2))[1]


def _cut(
    line: TextLine, boxes: Sequence[CharBox], tiles: Sequence[_Tile]
) -> tuple[int, _Tile, bool] | None:
    """(index of the character box that starts the second part, the tile whose text the
    watermark part reads, whether that part comes first), or None (no split)."""
    if "".join(c.text for c in boxes) != line.text or len(boxes) < MIN_RUN + 1:
        return None  # the boxes do not spell the line: nothing safe to cut at
    height = _height(line)

    # The merged box holds the tile's glyphs and taller ones; its angle is no guide (the box
    # is fitted to both, at neither's angle).
    smaller = [t for t in tiles if height > (1.0 + TILE_SIZE_TOL) * t.height]
    if not smaller:
        return None
    seen = set("".join(t.text for t in tiles))
    n = len(boxes)
    # The longest watermark run at the start, else at the end; the rest must show a
    # character no tile has (else it is just another fragment of the watermark).
    for run in range(n - 1, MIN_RUN - 1, -1):
        for start, stop, rest in ((0, run, boxes[run:]), (n - run, n, boxes[: n - run])):
            piece = _plain("".join(c.text for c in boxes[start:stop]))
            other = _plain("".join(c.text for c in rest))
            tile = next((t for t in smaller if piece in t.text), None)
            if (
                tile is not None
                and len(piece) >= MIN_RUN
                and other
                and any(ch not in seen for ch in other)
            ):
                return (stop, tile, True) if start == 0 else (start, tile, False)
    return None


def _plain(text: str) -> str:
    """Text compared as read: spaces out, case folded; marks kept (the ``@`` of a handle
    is as much the watermark's as its letters)."""
    return "".join(text.split()).lower()


def _tile_quad(part: Sequence[CharBox], tile: _Tile) -> list[Point]:
    """The watermark part's own quad: the tiles' angle, character pitch and height (grown by
    TILE_QUAD_MARGIN: where across the merged line the tile runs is known only roughly),
    centred on the part's character boxes. The merged line's quad is far taller than the
    watermark's glyphs, and erasing that much would take the product under it."""
    pts = np.concatenate([np.asarray(c.box, np.float64).reshape(-1, 2) for c in part])
    centre = pts.mean(axis=0)
    a = np.radians(tile.angle)
    along = np.array([np.cos(a), np.sin(a)])
    across = np.array([-along[1], along[0]])
    half_len = 0.5 * tile.pitch * len(_plain("".join(c.text for c in part)))
    half_h = 0.5 * tile.height * TILE_QUAD_MARGIN
    corners = (
        centre - half_len * along - half_h * across,
        centre + half_len * along - half_h * across,
        centre + half_len * along + half_h * across,
        centre - half_len * along + half_h * across,
    )
    return [(round(float(x), 1), round(float(y), 1)) for x, y in corners]


def _sub_quad(box: Sequence[Point], part: Sequence[CharBox]) -> list[Point]:
    """The slice of the line's quad that ``part``'s character boxes span along the text."""
    q = np.asarray(box, np.float64).reshape(4, 2)
    top, bottom = q[1] - q[0], q[2] - q[3]
    along = top / max(float(np.linalg.norm(top)), 1e-6)
    length = float(np.linalg.norm(top))
    pts = np.concatenate([np.asarray(c.box, np.float64).reshape(-1, 2) for c in part])
    t = (pts - q[0]) @ along / max(length, 1e-6)
    t0, t1 = float(np.clip(t.min(), 0.0, 1.0)), float(np.clip(t.max(), 0.0, 1.0))
    corners = (q[0] + t0 * top, q[0] + t1 * top, q[3] + t1 * bottom, q[3] + t0 * bottom)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in corners]

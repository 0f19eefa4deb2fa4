"""Splitting OCR lines that merged a watermark tile with the product's print (no OCR model:
lines and character boxes are built here as RapidOCR returns them)."""

from __future__ import annotations

import math

import numpy as np

from globalpic_common.schemas import TextLine
from globalpic_ocr.merged import TILE_QUAD_MARGIN, CharBox, split_merged_lines

Quad = list[tuple[float, float]]


def _rotated(x: float, y: float, length: float, height: float, angle_deg: float) -> Quad:
    """Clockwise quad from top-left (x, y), its top edge at ``angle_deg``."""
    a = math.radians(angle_deg)
    ux, uy = math.cos(a), math.sin(a)
    nx, ny = -uy, ux
    return [
        (x, y),
        (x + length * ux, y + length * uy),
        (x + length * ux + height * nx, y + length * uy + height * ny),
        (x + height * nx, y + height * ny),
    ]


def _chars(text: str, quad: Quad) -> list[CharBox]:
    """Even character boxes along a quad's top edge (RapidOCR's word boxes span the height)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    n = len(text)
    boxes = []
    for k, ch in enumerate(text):
        t0, t1 = k / n, (k + 1) / n
        top0 = (x0 + t0 * (x1 - x0), y0 + t0 * (y1 - y0))
        top1 = (x0 + t1 * (x1 - x0), y0 + t1 * (y1 - y0))
        bot1 = (x3 + t1 * (x2 - x3), y3 + t1 * (y2 - y3))
        bot0 = (x3 + t0 * (x2 - x3), y3 + t0 * (y2 - y3))
        boxes.append(CharBox(ch, [top0, top1, bot1, bot0]))
    return boxes


WATERMARK = "@良品优选官方店"


def _near(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return math.dist(a, b) < 0.5


def _tiles() -> list[TextLine]:
    """Three tiles of one shop watermark (55 px glyphs at 26 degrees) over the photo."""
    return [
        TextLine(box=_rotated(x, y, 260, 55, 26), text=WATERMARK, confidence=0.99)
        for x, y in ((700, 60), (60, 620), (650, 700))
    ]


def _merged() -> tuple[TextLine, list[CharBox]]:
    """``@良`` of a tile and the brand's 统 (a 140 px glyph): one 290 x 150 px line."""
    quad = _rotated(320, 390, 290, 150, 8)
    return TextLine(box=quad, text="@良统", confidence=0.93), _chars("@良统", quad)


def test_a_tile_merged_with_a_product_glyph_is_split_at_the_character_boxes() -> None:
    line, chars = _merged()
    tiles = _tiles()
    out = split_merged_lines([*tiles, line], [None, None, None, chars])
    assert [x.text for x in out] == [WATERMARK] * 3 + ["@良", "统"]
    tile_part, brand = out[3], out[4]
    # The brand keeps its slice of the merged quad: the last third along the text.
    assert _near(brand.box[1], line.box[1]) and _near(brand.box[2], line.box[2])
    start = 320 + 2 / 3 * 290 * math.cos(math.radians(8))
    assert abs(brand.box[0][0] - start) < 1.0
    # The watermark part takes the tiles' pose: their angle, their height (with a margin),
    # two characters of their pitch, centred on its own character boxes.
    q = np.asarray(tile_part.box)
    top, side = q[1] - q[0], q[3] - q[0]
    assert abs(math.degrees(math.atan2(top[1], top[0])) - 26) < 0.5
    assert abs(np.linalg.norm(top) - 2 * 260 / len(WATERMARK)) < 1.0
    assert abs(np.linalg.norm(side) - TILE_QUAD_MARGIN * 55) < 1.0
    centre = np.concatenate([np.asarray(c.box) for c in chars[:2]]).mean(axis=0)
    assert np.allclose(q.mean(axis=0), centre, atol=0.5)


def test_no_split_without_a_tiled_watermark_on_the_image() -> None:
    line, chars = _merged()
    one_tile = _tiles()[:1]  # one copy of a text is no watermark
    out = split_merged_lines([*one_tile, line], [None, chars])
    assert [x.text for x in out] == [WATERMARK, "@良统"]


def test_a_tile_read_in_other_words_is_not_split() -> None:
    """A fragment of the watermark at the tiles' height is one more tile, however it reads."""
    quad = _rotated(100, 300, 200, 55, 26)
    fragment = TextLine(box=quad, text="选官方店铺", confidence=0.9)
    out = split_merged_lines([*_tiles(), fragment], [None, None, None, _chars("选官方店铺", quad)])
    assert out[-1] == fragment


def test_product_text_sharing_a_character_with_the_shop_is_kept_whole() -> None:
    """One shared character is chance: a run of 2+ watermark characters is needed."""
    quad = _rotated(300, 400, 300, 120, 0)
    label = TextLine(box=quad, text="优乐美奶茶", confidence=0.98)
    out = split_merged_lines([*_tiles(), label], [None, None, None, _chars("优乐美奶茶", quad)])
    assert out[-1] == label


def test_a_line_wholly_of_watermark_characters_is_not_split() -> None:
    """Taller, but every character is the watermark's: nothing of the product to save."""
    quad = _rotated(300, 400, 300, 120, 26)
    line = TextLine(box=quad, text="@良品优", confidence=0.98)
    out = split_merged_lines([*_tiles(), line], [None, None, None, _chars("@良品优", quad)])
    assert out[-1] == line


def test_lines_without_character_boxes_are_kept() -> None:
    line, _ = _merged()
    out = split_merged_lines([*_tiles(), line], [None, None, None, None])
    assert out[-1] == line

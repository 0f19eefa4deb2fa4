"""Mask rules of ``clean`` between the lines it erases and the lines it keeps (pure functions
of ``globalpic_generation.clean_mask``, the in-process ``EraseMasker``)."""

from __future__ import annotations

import numpy as np

from globalpic_common.schemas import TextLine
from globalpic_generation.clean_mask import _close_strokes_on_product, _kept_protection


def _line(x0: float, y0: float, x1: float, y1: float, text: str = "今日特惠") -> TextLine:
    return TextLine(box=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], text=text, confidence=0.9)


def test_a_kept_box_shields_only_its_ink_where_an_erased_line_overlaps_it() -> None:
    shape = (200, 300)
    kept = _line(20, 20, 280, 100, "精制猪肉脯")  # padded box: ink roughly rows 30-90
    erased = _line(40, 96, 260, 180)  # an outlined slogan set right under it
    protect = _kept_protection(shape, [kept], [erased])
    # Rows 96-101 lie in both padded boxes: the erased line's outline may be erased there.
    assert not protect[98, 150]
    assert protect[60, 150]  # the kept line's ink band stays protected
    # Away from any erased line, the whole padded box (grown by 2 px) is still protected.
    assert protect[99, 275] and protect[18, 150]
    # With nothing erased, the rule is the old one: the box grown by 2 px.
    alone = _kept_protection(shape, [kept], [])
    assert alone[98, 150] and alone[101, 150] and not alone[104, 150]


def test_gaps_in_an_erased_line_on_the_product_are_closed_within_its_ink_band() -> None:
    shape = (200, 300)
    line = _line(40, 40, 260, 120)  # text height 80: band rows 50-110, reach 20 px
    strokes = np.zeros(shape, np.uint8)
    strokes[55:90, 60:240] = 255  # the stroke mask missed the glyphs' bottom outline
    on_product = np.zeros(shape, np.float32)
    on_product[:, :] = 1.0
    closed = _close_strokes_on_product(strokes, [line], on_product)
    assert closed[100, 150] == 255  # the missed bottom of the glyphs, inside the band
    assert closed[118, 150] == 0  # the box's padding below the band stays untouched
    assert closed[70, 20] == 0  # outside the line
    # Off the product (the background fill owns that), nothing is added.
    off = _close_strokes_on_product(strokes, [line], np.zeros(shape, np.float32))
    assert np.array_equal(off, strokes)

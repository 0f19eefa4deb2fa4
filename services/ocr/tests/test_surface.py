"""Product-print evidence (``surface``) and the asymmetric decision built on it: never erase the
product's own print on a guess; when unsure, keep and say so (``uncertain``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from globalpic_common.schemas import TextKind, TextLine
from globalpic_ocr.overlay import (
    ERASE_AT,
    SURE_AT,
    UNSURE_AT,
    _decide,
    classify_lines,
    overlay_score,
)
from globalpic_ocr.surface import warp_cue

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
Quad = list[tuple[float, float]]


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    raise RuntimeError("no CJK font installed (make fonts installs fonts-noto-cjk)")


def _box(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _line(text: str, box: Quad) -> TextLine:
    return TextLine(box=box, text=text, confidence=0.95)


def _bottles() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], list[TextLine]]:
    """Four baijiu bottles on a gradient, each with the same crisp, level, flat label (the
    worst case for rendering cues: a product render in an ad): brand, name, volume."""
    w, h = 1000, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = (90 + 60 * xx / w + 20 * yy / h).astype(np.uint8)
    canvas = Image.fromarray(np.stack([bg, bg // 2, bg // 3], axis=2))
    draw = ImageDraw.Draw(canvas)
    alpha = np.zeros((h, w), np.float32)
    lines: list[TextLine] = []
    for k in range(4):
        x0 = 60 + 230 * k
        draw.rounded_rectangle((x0, 80, x0 + 180, 600), radius=30, fill=(200, 30, 30))
        alpha[80:600, x0 : x0 + 180] = 1.0
        draw.rectangle((x0 + 20, 260, x0 + 160, 500), fill=(240, 225, 190))
        for text, y, size in (
            ("珍藏神沙", 280, 30),
            ("传统佳酿", 340, 26),
            ("净含量500ml", 420, 18),
        ):
            bbox = draw.textbbox((x0 + 30, y), text, font=_font(size))
            draw.text((x0 + 30, y), text, font=_font(size), fill=(150, 20, 20))
            lines.append(_line(text, _box(bbox[0] - 2, bbox[1] - 2, bbox[2] + 2, bbox[3] + 2)))
    return np.asarray(canvas, np.uint8), alpha, lines


def test_units_of_one_product_are_not_watermark_tiles() -> None:
    """The same label on four bottles: copies at one size and angle, all on the product. A
    tiled watermark's copies run off the product too; these are units of the product."""
    image, alpha, lines = _bottles()
    decisions = classify_lines(image, lines, alpha)
    for line, d in zip(lines, decisions, strict=True):
        assert d.cues["unit_repeat"] > 0.5, line.text
        assert d.cues["repetition"] == 0.0, line.text
        assert "tile_score" not in d.cues
        assert d.cues["label_block"] > 0.0, line.text  # three lines of one label
        assert d.kind != TextKind.OVERLAY, (line.text, d.overlay_score)


def test_copies_that_run_off_the_product_stay_a_watermark() -> None:
    """The same copies, plus two more on the background at one size and angle: a tile grid."""
    image, alpha, lines = _bottles()
    marks = [_line("珍藏神沙", _box(5, 20, 130, 56)), _line("珍藏神沙", _box(5, 604, 130, 638))]
    decisions = classify_lines(image, [*lines, *marks], alpha)
    first = decisions[0]  # 珍藏神沙 on the first bottle
    assert first.cues["unit_repeat"] == 0.0
    assert first.cues["repetition"] == 1.0


def test_label_block_needs_lines_of_one_layout_on_one_blob() -> None:
    image = np.full((600, 600, 3), 120, np.uint8)
    alpha = np.zeros((600, 600), np.float32)
    alpha[100:500, 150:450] = 1.0  # a hang tag
    tag = [
        _line("产品特点", _box(200, 150, 330, 180)),
        _line("面料柔软亲肤", _box(200, 200, 380, 226)),
        _line("温馨提示", _box(200, 260, 330, 290)),
    ]
    lone = _line("品牌", _box(30, 30, 90, 60))  # off the product
    decisions = classify_lines(image, [*tag, lone], alpha)
    assert [d.cues["label_block"] for d in decisions[:3]] == [1.0, 1.0, 1.0]
    assert decisions[3].cues["label_block"] == 0.0
    # A line far below, or turned unlike the others, is not part of the label's layout.
    far = _line("合格证", _box(200, 440, 300, 470))
    (alone,) = classify_lines(image, [far], alpha)
    assert alone.cues["label_block"] == 0.0


def test_print_sits_well_inside_the_outline_a_sticker_reaches_its_edge() -> None:
    image = np.full((600, 600, 3), 120, np.uint8)
    alpha = np.zeros((600, 600), np.float32)
    alpha[100:500, 150:450] = 1.0
    middle = _line("产品特点", _box(240, 280, 360, 310))
    edge = _line("限时特价", _box(330, 120, 450, 150))  # flush with the top-right corner
    inner, at_edge = classify_lines(image, [middle, edge], alpha)
    assert inner.cues["inside_product"] == 1.0
    assert at_edge.cues["inside_product"] == 0.0


def test_a_line_tilted_like_its_product_follows_it() -> None:
    image = np.full((600, 600, 3), 120, np.uint8)
    bottle = np.zeros((600, 600), np.uint8)
    rect = ((300.0, 300.0), (160.0, 420.0), 12.0)
    cv2.fillPoly(bottle, [cv2.boxPoints(rect).round().astype(np.int32)], 1)
    alpha = bottle.astype(np.float32)

    def turned(angle: float) -> TextLine:
        rad = np.radians(angle)
        u, v = np.array([np.cos(rad), np.sin(rad)]), np.array([-np.sin(rad), np.cos(rad)])
        c = np.array([300.0, 300.0])
        pts = [c - 60 * u - 15 * v, c + 60 * u - 15 * v, c + 60 * u + 15 * v, c - 60 * u + 15 * v]
        return _line("老窖", [(float(x), float(y)) for x, y in pts])

    (along,) = classify_lines(image, [turned(12.0)], alpha)
    (across,) = classify_lines(image, [turned(-8.0)], alpha)
    assert along.cues["follows_product"] == 1.0
    assert across.cues["follows_product"] == 0.0


def _glyph_strip(bend: float) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """A line of glyphs rendered straight, then bent along a parabola of ``bend`` x height."""
    img = Image.new("L", (420, 160), 0)
    ImageDraw.Draw(img).text((10, 50), "茅台镇传统佳酿", font=_font(56), fill=255)
    flat = np.asarray(img, np.float32)
    h, w = flat.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sag = bend * 56.0 * (1.0 - ((xx - w / 2) / (w / 2)) ** 2)
    warped = cv2.remap(flat, xx, yy - sag, cv2.INTER_LINEAR)
    inside = np.ones((h, w), bool)
    return np.asarray(warped > 127), inside


def test_a_bent_baseline_reads_as_warped_a_straight_one_does_not() -> None:
    straight, inside = _glyph_strip(0.0)
    curved, _ = _glyph_strip(0.4)
    flat_cues = warp_cue(straight, inside, 56.0)
    bent_cues = warp_cue(curved, inside, 56.0)
    assert flat_cues["warped"] < 0.2, flat_cues
    assert bent_cues["warped"] > 0.8, bent_cues
    assert warp_cue(straight[:, :60], inside[:, :60], 56.0) == {}  # too short to tell


@pytest.mark.parametrize(
    ("cues", "kind", "uncertain"),
    [
        ({"promo_words": 1.0, "crispness": 1.0, "on_product": 0.0}, TextKind.OVERLAY, False),
        # Overlay-like (score 0.95) but repeated on the product's units: kept, flagged.
        ({"promo_words": 1.0, "crispness": 1.0, "on_product": 1.0, "unit_repeat": 1.0,
          "tile_score": 0.8}, TextKind.PRODUCT, True),
        # Sure beyond doubt (score >= SURE_AT) erases even against product evidence.
        ({"promo_words": 1.0, "crispness": 1.0, "large": 1.0, "near_border": 1.0,
          "label_block": 1.0, "on_product": 1.0}, TextKind.OVERLAY, False),
        ({"tile_score": 0.4, "on_product": 0.0}, TextKind.SCENE, True),  # the middle band
        ({"on_product": 1.0}, TextKind.PRODUCT, False),  # sure product
    ],
)  # fmt: skip
def test_the_decision_is_asymmetric(
    cues: dict[str, float], kind: TextKind, uncertain: bool
) -> None:
    decision = _decide(dict(cues))
    assert (decision.kind, decision.uncertain) == (kind, uncertain)
    score = overlay_score(cues)
    if decision.kind == TextKind.OVERLAY:
        assert score >= ERASE_AT
    elif uncertain:
        assert UNSURE_AT <= score < SURE_AT
    else:
        assert score < UNSURE_AT

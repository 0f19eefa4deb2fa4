"""Faint-text passes: contrast views, merging their lines, and the tiled-watermark search.

Scenes are drawn here (a marbled wall with soft blotches and dark veins, the kind of texture
that hides a 15 % white shop name from PP-OCR's colour pass) and read by the real PP-OCR
models shipped in the ``rapidocr`` wheel.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from globalpic_common.schemas import TextLine
from globalpic_ocr import faint
from globalpic_ocr.combine import merge_lines
from globalpic_ocr.detector import RapidOcrDetector
from globalpic_ocr.settings import OcrSettings
from globalpic_ocr.tile_search import find_marks, search_copies

Rgb = npt.NDArray[np.uint8]
FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
SHOP = "优选好物旗舰店"


def _font(px: int) -> ImageFont.FreeTypeFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, px)
    raise RuntimeError("no CJK font installed (make fonts installs fonts-noto-cjk)")


def marble(size: int = 640, seed: int = 0, blot: float = 30.0, vein: float = 60.0) -> Rgb:
    """A light wall with soft blotches and dark veins, plus sensor noise."""
    rng = np.random.default_rng(seed)

    def field(cell: int) -> npt.NDArray[np.float32]:
        small = rng.normal(0, 1, (size // cell + 2, size // cell + 2)).astype(np.float32)
        return np.asarray(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))

    blots = field(48)
    veins = np.exp(-np.abs(field(96) + 0.4 * field(20)) * 4.0)
    base = 190 + blot * blots - vein * veins + rng.normal(0, 2, (size, size)).astype(np.float32)
    return np.clip(np.stack([base, base * 0.97, base * 0.93], -1), 0, 255).astype(np.uint8)


def stamp(
    image: Rgb,
    text: str,
    xy: tuple[float, float],
    px: int,
    opacity: float,
    colour: tuple[int, int, int] = (255, 255, 255),
    angle: float = 0.0,
) -> tuple[Rgb, list[tuple[float, float]]]:
    """``text`` blended in at ``opacity``, turned ``angle`` degrees (counter-clockwise) about
    its centre; returns the image and the text's quad (clockwise from top-left)."""
    h, w = image.shape[:2]
    font = _font(px)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    layer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(layer).text((xy[0] - x0, xy[1] - y0), text, font=font, fill=255)
    centre = (xy[0] + (x1 - x0) / 2, xy[1] + (y1 - y0) / 2)
    rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
    alpha = cv2.warpAffine(np.asarray(layer, np.float32), rot, (w, h)) / 255.0 * opacity
    out = image * (1 - alpha[..., None]) + np.array(colour, np.float32) * alpha[..., None]
    corners = np.array(
        [[xy[0], xy[1]], [xy[0] + x1 - x0, xy[1]], [xy[0] + x1 - x0, xy[1] + y1 - y0],
         [xy[0], xy[1] + y1 - y0]], np.float64,
    )  # fmt: skip
    quad = corners @ rot[:, :2].T + rot[:, 2]
    return np.clip(out, 0, 255).round().astype(np.uint8), [(float(x), float(y)) for x, y in quad]


@pytest.fixture(scope="module")
def colour_only() -> RapidOcrDetector:
    return RapidOcrDetector(OcrSettings(faint_views=(), tile_search=False))


@pytest.fixture(scope="module")
def detector() -> RapidOcrDetector:
    return RapidOcrDetector()


def _reads(lines: list[TextLine], text: str) -> bool:
    return any(len(set(line.text) & set(text)) >= 0.6 * len(set(text)) for line in lines)


def test_residual_keeps_faint_strokes_and_drops_the_shading() -> None:
    # A strong lighting ramp (100 levels across) and a 15 % shop name on it: the ramp is
    # gone from the residual, the strokes (a few levels each) are what is left.
    xx = np.tile(np.linspace(80, 180, 480, dtype=np.float32), (320, 1))
    photo = np.clip(np.dstack([xx, xx * 0.95, xx * 0.9]), 0, 255).astype(np.uint8)
    image, quad = stamp(photo, SHOP, (60, 140), 40, 0.15)
    changed = np.abs(image.astype(np.int16) - photo.astype(np.int16)).max(axis=2) > 8
    box = np.zeros(changed.shape, np.uint8)
    cv2.fillConvexPoly(box, np.round(np.asarray(quad)).astype(np.int32), 1)
    far = cv2.dilate(box, np.ones((61, 61), np.uint8)) == 0
    residual = faint.text_residual(image)
    assert float(np.median(residual[changed])) > 1.0  # light strokes: positive
    assert float(np.abs(residual[far]).max()) < 0.3


def test_views_are_grey_rgb_of_the_image_size() -> None:
    image = marble(size=96)
    for view in faint.views(image, tuple(faint.VIEWS)):
        assert view.image.shape == image.shape and view.image.dtype == np.uint8
        if view.name == "scaled":  # the photo itself, searched at another scale
            assert np.array_equal(view.image, image)
        else:  # contrast views are grey
            assert np.array_equal(view.image[:, :, 0], view.image[:, :, 2])
    with pytest.raises(ValueError, match="unknown faint-text view"):
        faint.views(image, ("sharpen",))
    with pytest.raises(ValueError, match="uint8"):
        faint.text_residual(image.astype(np.float32))  # type: ignore[arg-type]


def test_unknown_view_in_settings_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown faint-text view"):
        RapidOcrDetector(OcrSettings(faint_views=("sharpen",)))


def test_faint_shop_name_on_marble_is_found(
    colour_only: RapidOcrDetector, detector: RapidOcrDetector
) -> None:
    image, _ = stamp(marble(), SHOP, (120, 280), 40, 0.15)
    assert not _reads(colour_only.detect(image), SHOP)  # the colour pass misses it
    passes = detector.detect_passes(image)
    assert _reads(passes["residual"], SHOP)
    assert _reads(passes["all"], SHOP)
    assert passes["all"][: len(passes["colour"])] == passes["colour"]
    assert detector.detect_colour(image) == passes["colour"]


def test_extra_passes_add_nothing_on_a_bare_texture(
    colour_only: RapidOcrDetector, detector: RapidOcrDetector
) -> None:
    for seed, (blot, vein) in enumerate(((30, 60), (50, 60), (30, 30))):
        photo = marble(seed=seed + 1, blot=blot, vein=vein)
        assert detector.detect(photo) == colour_only.detect(photo)


def _line(box: list[tuple[float, float]], text: str, conf: float = 0.9) -> TextLine:
    return TextLine(box=box, text=text, confidence=conf)


def _rect(x: float, y: float, w: float, h: float) -> list[tuple[float, float]]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def test_merge_keeps_base_adds_new_and_swaps_in_better_readings() -> None:
    base = [_line(_rect(0, 0, 100, 20), "寺卖", 0.6), _line(_rect(0, 50, 100, 20), "包邮")]
    extra = [
        _line(_rect(2, 1, 98, 20), "唯品会特卖", 0.9),  # same box, read better
        _line(_rect(0, 52, 100, 20), "包", 0.95),  # same box, read worse
        _line(_rect(0, 100, 100, 20), "新品上市"),  # new
    ]
    merged = merge_lines(base, extra)
    assert [line.text for line in merged] == ["唯品会特卖", "包邮", "新品上市"]
    # A larger box over a held line is not the same reading: it is not swapped in.
    wide = [_line(_rect(0, 0, 300, 60), "唯品会特卖全场包邮", 0.99)]
    assert merge_lines(base, wide) == base


def _tiled(opacity: float) -> tuple[Rgb, list[list[tuple[float, float]]]]:
    """A marbled wall with one shop name tiled on a rotated grid."""
    image = marble(blot=30, vein=40)
    quads = []
    for row, y in enumerate(range(40, 600, 120)):
        for x in range(20 + 90 * (row % 2), 520, 240):
            image, quad = stamp(image, SHOP, (x, y), 26, opacity, (70, 70, 70), angle=20)
            quads.append(quad)
    return image, quads


def test_marks_group_copies_of_one_text() -> None:
    lines = [
        _line(_rect(40, 200, 120, 30), "好物旗舰店"),  # a copy read in part, listed first
        _line(_rect(0, 0, 180, 30), SHOP),
        _line(_rect(300, 100, 178, 31), SHOP),
        _line(_rect(40, 400, 180, 60), "净含量500ml"),
    ]
    marks = find_marks(lines)
    assert len(marks) == 1
    assert marks[0].text == SHOP
    assert set(marks[0].members) == {1, 2} and marks[0].parts == (0,)
    assert find_marks(lines[:2] + lines[3:]) == []  # one whole copy: no template


def test_a_copy_read_in_part_is_widened_to_the_whole_copy() -> None:
    image, quads = _tiled(0.3)
    whole = [_line(q, SHOP) for q in quads[:3]]
    # The fifth tile read as its last four characters only: the right part of its quad.
    q = np.asarray(quads[4], np.float64)
    part = [tuple(q[0] + 0.45 * (q[1] - q[0])), tuple(q[1]), tuple(q[2]),
            tuple(q[3] + 0.45 * (q[2] - q[3]))]  # fmt: skip
    lines = [*whole, _line([(float(x), float(y)) for x, y in part], "物旗舰店")]
    copies = search_copies(faint.text_residual(image), lines)
    widened = copies.lines[3]
    assert widened.text == "物旗舰店"  # the reading stays as read
    length = float(np.linalg.norm(np.subtract(widened.box[1], widened.box[0])))
    assert length > 0.9 * float(np.linalg.norm(q[1] - q[0]))
    # ... and it now lies on the whole tile.
    assert float(np.linalg.norm(np.mean(widened.box, axis=0) - q.mean(axis=0))) < 15.0
    assert copies.lines[:3] == whole


def test_tile_search_finds_unread_copies(detector: RapidOcrDetector) -> None:
    image, quads = _tiled(0.3)
    known = [_line(q, SHOP) for q in quads[:3]]
    found = search_copies(
        faint.text_residual(image),
        known,
        detector._read_grey,
        faint.residual_view(image).image[:, :, 0],
    ).found
    assert found
    # Every line found is on one of the tiles (none on the bare wall), and a good part of the
    # unread tiles are found.
    centres = np.array([np.mean(q, axis=0) for q in quads[3:]])
    for line in found:
        c = np.mean(np.asarray(line.box), axis=0)
        assert float(np.min(np.linalg.norm(centres - c, axis=1))) < 30.0  # ~ a text height
    assert len(found) >= 0.5 * len(centres)


def test_tile_search_finds_nothing_without_copies(detector: RapidOcrDetector) -> None:
    image, quad = stamp(marble(), SHOP, (120, 280), 26, 0.3, (70, 70, 70))
    lines = [_line(quad, SHOP), _line(_rect(300, 500, 160, 30), "优选好物")]
    copies = search_copies(
        faint.text_residual(image),
        lines,
        detector._read_grey,
        faint.residual_view(image).image[:, :, 0],
    )
    assert copies.found == [] and copies.lines == lines


def test_grid_nodes_are_searched_where_the_plain_match_is_weak() -> None:
    # Four read copies fix the grid; the other tiles are found at its nodes with no
    # recogniser at all (no reads: only the grid can add them).
    image, quads = _tiled(0.3)
    known = [_line(q, SHOP) for q in quads[:4]]
    found = search_copies(faint.text_residual(image), known).found
    centres = np.array([np.mean(q, axis=0) for q in quads[4:]])
    hits = {
        int(np.argmin(np.linalg.norm(centres - np.mean(line.box, axis=0), axis=1)))
        for line in found
    }
    assert len(hits) >= 0.8 * len(centres)
    assert all(line.text == SHOP for line in found)


def test_no_grid_without_copies_on_one() -> None:
    # Four copies of a text scattered off any grid (a product's print repeated on units
    # standing at random): no node is searched, nothing is added.
    image = marble()
    known = []
    for x, y in ((40, 60), (330, 90), (150, 300), (420, 420)):
        image, quad = stamp(image, SHOP, (x, y), 26, 0.6, (70, 70, 70))
        known.append(_line(quad, SHOP))
    assert search_copies(faint.text_residual(image), known).found == []

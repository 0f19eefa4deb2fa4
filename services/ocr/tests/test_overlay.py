"""Overlay vs product vs scene on synthetic photos rendered here (no OCR, no model weights).

The scene: a noisy, textured "photo" with a product box whose label text was printed, then
photographed (perspective, lens blur, sensor noise); a sign off the product photographed the
same way; then, after the shot, a crisp red 包邮 badge, a price tag, and a semi-transparent
shop watermark tiled three times. Lines are built from the known boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from globalpic_common.schemas import LineDecision, TextKind, TextLine
from globalpic_ocr.overlay import (
    BIAS,
    CUE_WEIGHTS,
    ERASE_AT,
    SURE_AT,
    UNSURE_AT,
    _decide,
    classify_lines,
    overlay_score,
)

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
SIZE = 640
Quad = list[tuple[float, float]]


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    raise RuntimeError("no CJK font installed (make fonts installs fonts-noto-cjk)")


@dataclass
class Scene:
    image: npt.NDArray[np.uint8]
    alpha: npt.NDArray[np.float32]
    lines: list[TextLine]
    truth: list[TextKind]


def _text_box(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int) -> Quad:
    x0, y0, x1, y1 = draw.textbbox(xy, text, font=_font(size))
    pad = 2
    return [(x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]


def _warp_quad(quad: Quad, transform: npt.NDArray[np.float64]) -> Quad:
    pts = cv2.perspectiveTransform(np.asarray(quad, np.float64).reshape(-1, 1, 2), transform)
    return [(float(x), float(y)) for x, y in pts.reshape(-1, 2)]


def _photograph(
    canvas: npt.NDArray[np.uint8],
    flat: npt.NDArray[np.uint8],
    where: npt.NDArray[np.float32],
    transform: npt.NDArray[np.float64],
) -> None:
    """Paste ``flat`` (a printed surface) into ``canvas`` through a perspective ``transform``."""
    size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpPerspective(flat, transform, size, flags=cv2.INTER_CUBIC)
    cover = cv2.warpPerspective(np.full(flat.shape[:2], 255, np.uint8), transform, size) > 0
    canvas[cover] = warped[cover]
    where[cover] = 1.0


def make_scene(seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    # A textured backdrop (a fabric-like weave) lit by a gradient.
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    weave = 18 * np.sin(xx / 3.1) * np.sin(yy / 2.7) + 10 * np.sin((xx + yy) / 5.3)
    # Fine grain (fabric, paper, concrete): the texture a faint watermark lets through.
    grain = cv2.GaussianBlur(rng.normal(0, 30, (SIZE, SIZE)).astype(np.float32), (0, 0), 0.7)
    light = 120 + 60 * (xx / SIZE) + 20 * (yy / SIZE)
    base = np.clip(light + weave + grain, 0, 255)
    photo = np.stack([base * 0.95, base * 0.9, base * 0.8], axis=2).astype(np.uint8)
    alpha = np.zeros((SIZE, SIZE), np.float32)
    lines: list[TextLine] = []
    truth: list[TextKind] = []

    # The product: a carton whose label is printed, then photographed tilted.
    label = Image.new("RGB", (360, 300), (235, 228, 210))
    draw = ImageDraw.Draw(label)
    draw.rectangle((0, 0, 359, 60), fill=(30, 70, 150))
    printed = [
        ((20, 90), "农夫山泉", 56, (20, 60, 140)),
        ((20, 180), "天然饮用水", 40, (40, 40, 40)),
    ]
    flat_quads = []
    for xy, text, size, colour in printed:
        flat_quads.append(_text_box(draw, xy, text, size))
        draw.text(xy, text, font=_font(size), fill=colour)
    src = np.array([[0, 0], [360, 0], [360, 300], [0, 300]], np.float32)
    dst = np.array([[170, 170], [500, 205], [480, 520], [150, 480]], np.float32)
    transform = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    _photograph(photo, np.asarray(label), alpha, transform)
    for quad, (_, text, _, _) in zip(flat_quads, printed, strict=True):
        lines.append(TextLine(box=_warp_quad(quad, transform), text=text, confidence=0.99))
        truth.append(TextKind.PRODUCT)

    # A sign in the scene (off the product): photographed as well, tilted the other way.
    sign = Image.new("RGB", (230, 70), (40, 110, 60))
    sdraw = ImageDraw.Draw(sign)
    sign_quad = _text_box(sdraw, (12, 10), "出口通道", 44)
    sdraw.text((12, 10), "出口通道", font=_font(44), fill=(240, 240, 240))
    src = np.array([[0, 0], [230, 0], [230, 70], [0, 70]], np.float32)
    dst = np.array([[390, 560], [600, 540], [604, 605], [394, 626]], np.float32)
    transform = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    sign_alpha = np.zeros_like(alpha)  # not part of the product
    _photograph(photo, np.asarray(sign), sign_alpha, transform)
    lines.append(TextLine(box=_warp_quad(sign_quad, transform), text="出口通道", confidence=0.97))
    truth.append(TextKind.SCENE)

    # The camera: lens blur and sensor noise over everything photographed.
    photo = np.asarray(cv2.GaussianBlur(photo, (0, 0), 1.2), np.uint8)
    noise = rng.normal(0, 3.0, photo.shape)
    photo = np.clip(photo.astype(np.float64) + noise, 0, 255).astype(np.uint8)

    # After the shot: a crisp badge, a price tag and a tiled semi-transparent watermark.
    canvas = Image.fromarray(photo)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((16, 16, 196, 96), radius=14, fill=(225, 20, 30))
    lines.append(TextLine(box=_text_box(draw, (36, 22), "包邮", 56), text="包邮", confidence=0.99))
    draw.text((36, 22), "包邮", font=_font(56), fill=(255, 255, 255))
    truth.append(TextKind.OVERLAY)
    draw.rectangle((460, 20, 624, 84), fill=(255, 214, 0))
    lines.append(TextLine(box=_text_box(draw, (474, 26), "¥59", 44), text="¥59", confidence=0.98))
    draw.text((474, 26), "¥59", font=_font(44), fill=(200, 0, 0))
    truth.append(TextKind.OVERLAY)

    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ldraw = ImageDraw.Draw(layer)
    for x, y in ((20, 240), (250, 420), (20, 430)):
        box = _text_box(ldraw, (x, y), "晶晶母婴", 52)
        ldraw.text((x, y), "晶晶母婴", font=_font(52), fill=(255, 255, 255, 120))
        lines.append(TextLine(box=box, text="晶晶母婴", confidence=0.6))
        truth.append(TextKind.OVERLAY)
    canvas = Image.alpha_composite(canvas.convert("RGBA"), layer).convert("RGB")
    # The marketplace's JPEG pass over the finished image.
    ok, jpeg = cv2.imencode(".jpg", np.asarray(canvas)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    image = np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8)[:, :, ::-1]
    return Scene(np.ascontiguousarray(image), alpha, lines, truth)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return make_scene()


@pytest.fixture(scope="module")
def decisions(scene: Scene) -> list[LineDecision]:
    return classify_lines(scene.image, scene.lines, scene.alpha)


def _by_text(scene: Scene, decisions: Sequence[LineDecision], text: str) -> list[LineDecision]:
    return [d for line, d in zip(scene.lines, decisions, strict=True) if line.text == text]


def test_every_line_gets_the_expected_kind(scene: Scene, decisions: list[LineDecision]) -> None:
    got = [(line.text, d.kind) for line, d in zip(scene.lines, decisions, strict=True)]
    want = [(line.text, kind) for line, kind in zip(scene.lines, scene.truth, strict=True)]
    assert got == want


def test_scores_agree_with_kinds(decisions: list[LineDecision]) -> None:
    for d in decisions:
        assert 0.0 <= d.overlay_score <= 1.0
        if d.kind == TextKind.OVERLAY:
            assert d.overlay_score >= ERASE_AT
        else:
            assert d.overlay_score < SURE_AT
            assert d.uncertain == (d.overlay_score >= UNSURE_AT)


# Fixed cues and the score worked out by hand from the documented weights
# (sigmoid(BIAS + sum(weight * cue)), BIAS -4): z in the comment.
@pytest.mark.parametrize(
    ("cues", "expected"),
    [
        ({}, 0.0179862),  # z = -4: no evidence, not an overlay
        ({"axis_aligned": 1.0, "unknown_cue": 9.0}, 0.0179862),  # weight 0 / not a cue
        ({"promo_words": 1.0}, 0.377541),  # z = -0.5: promo words alone stay below 0.5
        ({"promo_words": 1.0, "crispness": 1.0}, 0.952574),  # z = 3
        ({"large": 1.0, "flat_glyphs": 1.0}, 0.5),  # z = 0: exactly on the threshold
        # a printed label: z = -4 - 3.5 - 2.5 - 2 - 1.5 = -13.5
        ({"crispness": -1.0, "skew": 1.0, "perspective": 1.0, "off_product": -1.0}, 1.37096e-6),
        (  # the 包邮 badge: z = -4 + 1.5 + 2 + 3.5 + 1.5 + 2.5 + 3.5 = 10.5
            {"off_product": 1.0, "near_border": 1.0, "crispness": 1.0, "flat_backing": 1.0,
             "promo_colour": 1.0, "promo_words": 1.0},
            0.999972,
        ),
        ({"repetition": 1.0, "transparency": 0.5, "outline": 0.5}, 0.119203),  # z = -2
        ({"tile_score": 0.8}, 0.8),  # a sibling tile's higher score wins
        ({"promo_words": 1.0, "crispness": 1.0, "tile_score": 0.1}, 0.952574),  # own is higher
    ],
)  # fmt: skip
def test_overlay_score_of_fixed_cues(cues: dict[str, float], expected: float) -> None:
    assert overlay_score(cues) == pytest.approx(expected, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize(
    ("cues", "kind", "score"),
    [
        # Erased from ERASE_AT (0.55) up: 0.5 is kept (and reported uncertain).
        ({"large": 1.0, "flat_glyphs": 1.0, "outline": 0.5}, TextKind.OVERLAY, 0.562),
        ({"large": 1.0, "flat_glyphs": 1.0}, TextKind.PRODUCT, 0.5),
        ({"promo_words": 1.0, "on_product": 0.5}, TextKind.PRODUCT, 0.378),
        ({"promo_words": 1.0, "on_product": 0.4999}, TextKind.SCENE, 0.378),
        ({"skew": 1.0}, TextKind.PRODUCT, 0.002),  # z = -6.5; no on_product (no mask): product
        ({"promo_words": 1.0, "crispness": 1.0, "on_product": 1.0}, TextKind.OVERLAY, 0.953),
        ({"on_product": 0.0, "tile_score": 0.7}, TextKind.OVERLAY, 0.7),
    ],
)
def test_decision_of_fixed_cues(cues: dict[str, float], kind: TextKind, score: float) -> None:
    decision = _decide(dict(cues))
    assert (decision.kind, decision.overlay_score) == (kind, score)
    assert decision.cues == {name: round(value, 3) for name, value in cues.items()}


def test_cues_are_present_and_rounded(decisions: list[LineDecision]) -> None:
    always = {"on_product", "off_product", "crosses_product", "near_border", "large",
              "axis_aligned", "skew", "perspective", "promo_words", "repetition"}  # fmt: skip
    for d in decisions:
        assert always <= set(d.cues)
        assert all(v == round(v, 3) for v in d.cues.values())
    # Glyphs of every line here are big enough for the pixel cues.
    for d in decisions:
        assert {"flat_glyphs", "outline", "transparency", "promo_colour"} <= set(d.cues)
    # Edge widths need contrast: all but the faint watermark tile on the pale label have it.
    assert sum("crispness" in d.cues for d in decisions) >= len(decisions) - 1


def test_badge_is_crisp_flat_red_promo(scene: Scene, decisions: list[LineDecision]) -> None:
    (badge,) = _by_text(scene, decisions, "包邮")
    assert badge.cues["promo_words"] == 1.0
    assert badge.cues["crispness"] > 0.3
    assert badge.cues["flat_backing"] > 0.5
    assert badge.cues["promo_colour"] > 0.5
    assert badge.cues["axis_aligned"] == 1.0
    assert badge.cues["near_border"] > 0.0


def test_printed_label_reads_as_photographed(scene: Scene, decisions: list[LineDecision]) -> None:
    for d in _by_text(scene, decisions, "农夫山泉") + _by_text(scene, decisions, "天然饮用水"):
        assert d.cues["on_product"] > 0.9
        # Tilted ~6 degrees: plausible for a hand-held photo even without another line's support.
        assert d.cues["skew"] > 0.9
        assert d.cues["lone_tilt"] < 0.1
        assert d.cues["perspective"] > 0.0  # the quads here are true perspective quads
        assert d.cues["crispness"] < 0.0  # lens blur widened the edges
        assert d.overlay_score < 0.2


def test_tiled_watermark_repeats_and_shows_texture(
    scene: Scene, decisions: list[LineDecision]
) -> None:
    marks = _by_text(scene, decisions, "晶晶母婴")
    assert len(marks) == 3
    for d in marks:
        assert d.kind == TextKind.OVERLAY
        assert d.cues["repetition"] == 1.0
        assert d.cues["promo_words"] == 0.0  # caught without any promo vocabulary
    # The weave shows through the white glyphs where they sit on the backdrop.
    assert max(d.cues["transparency"] for d in marks) > 0.3


def test_scene_sign_is_kept_as_scene(scene: Scene, decisions: list[LineDecision]) -> None:
    (sign,) = _by_text(scene, decisions, "出口通道")
    assert sign.kind == TextKind.SCENE
    assert sign.cues["on_product"] < 0.1


def test_without_a_mask_position_is_neutral(scene: Scene) -> None:
    decisions = classify_lines(scene.image, scene.lines, None)
    for line, d in zip(scene.lines, decisions, strict=True):
        assert "off_product" not in d.cues
        # No mask, no scene/product split: everything kept is called product.
        assert d.kind in (TextKind.OVERLAY, TextKind.PRODUCT), line.text
    kinds = {line.text: d.kind for line, d in zip(scene.lines, decisions, strict=True)}
    assert kinds["包邮"] == TextKind.OVERLAY
    assert kinds["农夫山泉"] == TextKind.PRODUCT


def test_promo_words_alone_do_not_make_an_overlay() -> None:
    cues = {"promo_words": 1.0}
    assert overlay_score(cues) < 0.5
    assert CUE_WEIGHTS["promo_words"] < -BIAS


def test_a_photographed_promo_word_on_the_product_is_kept() -> None:
    """新品 printed on packaging (blurred, tilted, on the product) is product text."""
    scene = make_scene(seed=1)
    lines = list(scene.lines)
    lines[0] = TextLine(box=lines[0].box, text="新品上市", confidence=0.9)
    decisions = classify_lines(scene.image, lines, scene.alpha)
    assert decisions[0].cues["promo_words"] == 1.0
    assert decisions[0].kind == TextKind.PRODUCT


def test_tiny_and_degenerate_lines_do_not_crash(scene: Scene) -> None:
    lines = [
        TextLine(box=[(10, 10), (14, 10), (14, 13), (10, 13)], text="折", confidence=0.5),
        TextLine(box=[(5, 5), (5, 5), (5, 5), (5, 5)], text="x", confidence=0.5),
        TextLine(box=[(600, 600), (700, 600), (700, 660), (600, 660)], text="边缘", confidence=0.5),
    ]
    decisions = classify_lines(scene.image, lines, scene.alpha)
    assert len(decisions) == 3
    assert all(0.0 <= d.overlay_score <= 1.0 for d in decisions)
    assert classify_lines(scene.image, [], scene.alpha) == []


def test_a_salient_badge_blob_is_not_the_product(scene: Scene) -> None:
    """Saliency lights up badges too; a small blob apart from the product is not product."""
    alpha = scene.alpha.copy()
    alpha[16:97, 16:197] = 1.0  # the 包邮 badge, salient on its own
    decisions = classify_lines(scene.image, scene.lines, alpha)
    kinds = {line.text: d for line, d in zip(scene.lines, decisions, strict=True)}
    assert kinds["包邮"].cues["on_product"] == 0.0
    assert kinds["包邮"].kind == TextKind.OVERLAY
    assert kinds["农夫山泉"].cues["on_product"] > 0.9


def test_two_identical_products_are_not_tiles(scene: Scene) -> None:
    """Two copies of a line on the product (two cans side by side) are units of the product:
    no watermark repetition, and evidence for print instead."""
    product = scene.lines[0]
    shifted = TextLine(
        box=[(x + 5.0, y + 150.0) for x, y in product.box], text=product.text, confidence=0.9
    )
    decisions = classify_lines(scene.image, [product, shifted], scene.alpha)
    assert [d.cues["repetition"] for d in decisions] == [0.0, 0.0]
    assert [d.cues["unit_repeat"] for d in decisions] == [1.0, 1.0]
    assert all("tile_score" not in d.cues for d in decisions)
    # Without a mask nothing says they are on one product: weak repetition, as before.
    bare = classify_lines(scene.image, [product, shifted], None)
    assert [d.cues["repetition"] for d in bare] == [0.3, 0.3]


def _rotated_line(text: str, centre: tuple[float, float], angle: float, size: float) -> TextLine:
    """A rectangle ``size * len(text)`` long and ``size`` tall, turned by ``angle`` degrees."""
    (cx, cy), half_w, half_h = centre, size * len(text) / 2, size / 2
    rad = np.radians(angle)
    ux, uy = np.cos(rad), np.sin(rad)
    corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
    box = [(cx + x * ux - y * uy, cy + x * uy + y * ux) for x, y in corners]
    return TextLine(box=[(float(x), float(y)) for x, y in box], text=text, confidence=1.0)


def test_steep_tilt_is_photographed_only_when_other_lines_share_it() -> None:
    image = np.full((SIZE, SIZE, 3), 128, np.uint8)
    sticker = [_rotated_line("店长推荐", (320, 320), 20.0, 30)]
    (alone,) = classify_lines(image, sticker, None)
    assert alone.cues["skew"] == 0.0 and alone.cues["lone_tilt"] == 1.0
    # A photo taken at 20 degrees: every printed line on the label is turned alike.
    label = [
        _rotated_line("希腊风味酸奶", (320, 200), 20.0, 30),
        _rotated_line("巴氏杀菌热处理", (300, 320), 21.0, 30),
        _rotated_line("净含量230g", (280, 440), 19.0, 30),
    ]
    for d in classify_lines(image, label, None):
        assert d.cues["skew"] == 1.0 and d.cues["lone_tilt"] == 0.0
    # A small tilt is a hand-held photo on its own.
    (small,) = classify_lines(image, [_rotated_line("安慕希", (320, 320), 4.0, 30)], None)
    assert small.cues["skew"] == 1.0 and small.cues["lone_tilt"] == 0.0


def test_watermark_fragments_count_as_tiles() -> None:
    image = np.full((SIZE, SIZE, 3), 128, np.uint8)
    tiles = [
        _rotated_line("@优选好物铺", (150, 150), -35.0, 24),
        _rotated_line("优选好物", (400, 200), -37.0, 25),
        _rotated_line("好物铺", (250, 450), -33.0, 23),
        _rotated_line("好评如潮", (450, 500), -35.0, 24),  # shares one character: not a tile
    ]
    decisions = classify_lines(image, tiles, None)
    assert [d.cues["repetition"] for d in decisions] == [1.0, 1.0, 1.0, 0.0]
    # Tiles of one watermark do not vouch for each other's tilt being a photo's.
    assert decisions[0].cues["tilt_agreeing"] == 1.0  # only 好评如潮

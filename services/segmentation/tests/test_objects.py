"""Which object is the product (issue 12, item 6): synthetic ad posters with known objects.

Each scene is drawn with its true objects and a coarse map that holds every one of them, as
a salient-object network gives on a poster: the product's units, a bold flat badge (bigger
and more central than any one unit, so the previous release's "most salient component"
picks it), a ragged paint splash, a backdrop panel. The extractor must keep every unit of
the product and none of the rest, report every object with its cues, and ``--all`` must keep
every product-like object.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common.results import ExtractMode
from globalpic_common.schemas import TextAction, TextKind, TextRegion
from globalpic_segmentation.components import find_products
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings, ObjectChoice, RefineMethod
from globalpic_segmentation.objects import choose, measure

F32 = npt.NDArray[np.float32]
H, W = 300, 400
Box = tuple[int, int, int, int]

BOTTLES: list[Box] = [(40, 90, 90, 260), (110, 90, 160, 260), (180, 90, 230, 260)]
BADGE: Box = (250, 60, 380, 200)  # a flat red sticker, bigger than one bottle
SPLASH_CENTRE = (320, 250)


class NoSegmenter:
    name = "none"

    def segment(self, image: np.ndarray) -> F32:
        raise AssertionError("segment() called although coarse was given")


def _bottle(image: np.ndarray, mask: np.ndarray, box: Box) -> None:
    """A shaded amber bottle with a printed white label: shading and print, not flat."""
    x0, y0, x1, y1 = box
    shade = np.linspace(0.6, 1.1, x1 - x0, dtype=np.float32)[None, :, None]
    image[y0:y1, x0:x1] = np.clip(np.array([150, 90, 40], np.float32) * shade, 0, 255)
    label = (y0 + (y1 - y0) // 3, y0 + 2 * (y1 - y0) // 3)
    image[label[0] : label[1], x0 + 4 : x1 - 4] = (235, 235, 230)
    for y in range(label[0] + 6, label[1] - 4, 8):  # lines of print
        image[y : y + 3, x0 + 10 : x1 - 10] = (30, 30, 30)
    mask[y0:y1, x0:x1] = 1


def _splash(mask: np.ndarray, seed: int = 3) -> None:
    """A ragged star-shaped blob: low solidity."""
    rng = np.random.default_rng(seed)
    cx, cy = SPLASH_CENTRE
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    radii = np.where(np.arange(16) % 2 == 0, 38, 12) * rng.uniform(0.9, 1.1, 16)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)


def poster(with_badge: bool = True, with_splash: bool = True) -> tuple[np.ndarray, F32, F32]:
    """(image, coarse map holding every object, the true product mask: the three bottles)."""
    rng = np.random.default_rng(0)
    image = np.full((H, W, 3), (225, 228, 235), np.float32)
    product = np.zeros((H, W), np.uint8)
    for box in BOTTLES:
        _bottle(image, product, box)
    others = np.zeros((H, W), np.uint8)
    if with_badge:
        x0, y0, x1, y1 = BADGE
        cv2.rectangle(others, (x0, y0), (x1 - 1, y1 - 1), 1, -1)
    if with_splash:
        _splash(others)
    image[others > 0] = (220, 30, 40)
    image = np.clip(image + rng.normal(0, 1.5, image.shape), 0, 255).astype(np.uint8)
    objects = np.maximum(product, others).astype(np.float32)
    coarse = cv2.GaussianBlur(objects, (0, 0), 1.5).astype(np.float32)
    return image, np.clip(coarse, 0, 1), product.astype(np.float32)


def extractor(choice: ObjectChoice = ObjectChoice.OBJECTS) -> Extractor:
    settings = ExtractSettings(
        extract_refine=RefineMethod.NONE, extract_zoom=False, extract_choice=choice
    )
    return Extractor(NoSegmenter(), settings)


def kept_share(alpha: F32, mask: F32) -> float:
    return float((alpha[mask > 0] >= 0.5).mean())


def text(box: Box, kind: TextKind) -> TextRegion:
    x0, y0, x1, y1 = box
    return TextRegion(
        box=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        text="x",
        confidence=0.9,
        kind=kind,
        action=TextAction.ERASED if kind is TextKind.OVERLAY else TextAction.KEPT,
        overlay_score=1.0 if kind is TextKind.OVERLAY else 0.0,
    )


def test_the_previous_release_takes_the_badge_for_the_product() -> None:
    """The scene is the failure the issue reports: most salient = the badge."""
    image, coarse, _ = poster()
    cut = extractor(ObjectChoice.LEGACY).extract(image, ExtractMode.SALIENT, coarse)
    x0, y0, x1, y1 = BADGE
    assert cut.alpha[y0:y1, x0:x1].mean() > 0.9
    assert len(cut.boxes) == 1


def test_every_unit_is_kept_and_the_badge_and_splash_are_dropped() -> None:
    image, coarse, product = poster()
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert kept_share(cut.alpha, product) > 0.97
    assert float((cut.alpha[product == 0] >= 0.5).mean()) < 0.01
    assert len(cut.boxes) == 3
    kept = [o for o in cut.objects if o.kept]
    dropped = [o for o in cut.objects if not o.kept]
    assert len(kept) == 3 and len(dropped) == 2
    assert all(o.cues["units"] == 1.0 for o in kept)
    assert min(o.score for o in kept) > max(o.score for o in dropped)
    badge = next(o for o in dropped if o.box[0] >= BADGE[0] - 2 and o.box[1] <= BADGE[1] + 2)
    assert badge.cues["flat"] > 0.5  # one bold colour, no shading: a sticker


def test_all_keeps_every_product_like_object_but_not_badges_or_splashes() -> None:
    """The badge carries overlay lines (clean found and erased them): not product-like;
    the ragged flat splash is not either."""
    image, coarse, product = poster()
    x0, _, x1, _ = BADGE
    lines = [text((x0 + 8, y, x1 - 8, y + 30), TextKind.OVERLAY) for y in (70, 115, 160)]
    cut = extractor().extract(image, ExtractMode.ALL, coarse, lines)
    assert kept_share(cut.alpha, product) > 0.97
    assert float((cut.alpha[product == 0] >= 0.5).mean()) < 0.01
    assert sum(o.kept for o in cut.objects) == 3


def test_an_object_under_overlay_lines_is_a_banner_not_the_product() -> None:
    """A grey textured panel (not flat, so only clean's overlay lines give it away)."""
    image, coarse, product = poster(with_badge=False, with_splash=False)
    panel: Box = (250, 40, 390, 200)
    x0, y0, x1, y1 = panel
    rng = np.random.default_rng(5)
    image[y0:y1, x0:x1] = rng.integers(90, 170, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    coarse[y0:y1, x0:x1] = 1.0
    # Alone it is the biggest object: it wins unless the overlay lines on it count.
    bare = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert bare.alpha[y0:y1, x0:x1].mean() > 0.9
    lines = [text((x0 + 5, y, x1 - 5, y + 30), TextKind.OVERLAY) for y in (50, 95, 140)]
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse, lines)
    assert cut.alpha[y0:y1, x0:x1].mean() < 0.05
    assert kept_share(cut.alpha, product) > 0.97


def test_product_print_picks_the_printed_object() -> None:
    """Two unlike objects: the bigger plain one wins alone; print on the smaller decides."""
    image = np.full((H, W, 3), 230, np.uint8)
    coarse = np.zeros((H, W), np.float32)
    rng = np.random.default_rng(2)
    big: Box = (30, 40, 200, 260)
    small: Box = (260, 100, 340, 230)
    for x0, y0, x1, y1 in (big, small):
        image[y0:y1, x0:x1] = rng.integers(60, 120, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
        coarse[y0:y1, x0:x1] = 1.0
    # The small one another colour (not a unit of the big one), shaded like a lit cylinder.
    x0, y0, x1, y1 = small
    shade = np.linspace(0.5, 1.2, x1 - x0, dtype=np.float32)[None, :, None]
    image[y0:y1, x0:x1] = np.clip(np.array([90, 110, 160], np.float32) * shade, 0, 255)
    plain = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert plain.alpha[big[1] : big[3], big[0] : big[2]].mean() > 0.9
    label = text((270, 140, 330, 160), TextKind.PRODUCT)
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse, [label])
    assert cut.alpha[small[1] : small[3], small[0] : small[2]].mean() > 0.9
    assert cut.alpha[big[1] : big[3], big[0] : big[2]].mean() < 0.05
    printed = next(o for o in cut.objects if o.kept)
    assert printed.cues["print"] == 1.0


def test_a_backdrop_along_the_frame_is_not_the_product() -> None:
    """A panel running along three sides of the frame, the product standing apart from it."""
    canvas = np.full((H, W, 3), 240, np.float32)
    coarse = np.zeros((H, W), np.float32)
    product = np.zeros((H, W), np.uint8)
    canvas[:, 200:] = np.random.default_rng(4).integers(10, 60, (H, 200, 3))
    coarse[:, 200:] = 1.0
    _bottle(canvas, product, (60, 80, 140, 260))
    coarse[product > 0] = 1.0
    image = canvas.astype(np.uint8)
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert kept_share(cut.alpha, product.astype(np.float32)) > 0.97
    assert cut.alpha[:, 210:].mean() < 0.05
    backdrop = next(o for o in cut.objects if not o.kept)
    assert backdrop.cues["backdrop"] == 1.0


def test_a_product_like_object_touching_the_product_joins_it() -> None:
    """The box beside the can: unlike the can, but standing against it."""
    image, coarse, product = poster(with_badge=False, with_splash=False)
    box: Box = (232, 150, 320, 260)  # a gift box against the third bottle
    x0, y0, x1, y1 = box
    rng = np.random.default_rng(7)
    image[y0:y1, x0:x1] = rng.integers(120, 200, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    coarse[y0:y1, x0:x1] = 1.0
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert cut.alpha[y0:y1, x0:x1].mean() > 0.9
    assert kept_share(cut.alpha, product) > 0.97


def test_measure_and_choose_on_no_objects_do_nothing() -> None:
    image = np.zeros((40, 40, 3), np.uint8)
    assert measure(image, []) == []
    choose([], keep_all=False, shape=(40, 40))


@pytest.mark.parametrize("choice", list(ObjectChoice))
def test_every_object_is_reported_best_first(choice: ObjectChoice) -> None:
    image, coarse, _ = poster()
    cut = extractor(choice).extract(image, ExtractMode.SALIENT, coarse)
    assert len(cut.objects) == len(find_products(coarse, salient_only=False))
    scores = [o.score for o in cut.objects]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert sum(o.kept for o in cut.objects) == len(cut.boxes)


SKIN = (224, 172, 140)


def model_in_dress() -> tuple[np.ndarray, F32, np.ndarray, np.ndarray]:
    """A standing figure: a skin-coloured head, arms and legs around a shaded blue dress.
    (image, coarse map of the whole figure, the dress, the figure)."""
    canvas = np.full((H, W, 3), (235, 235, 238), np.float32)
    dress = np.zeros((H, W), np.uint8)
    body = np.zeros((H, W), np.uint8)
    cv2.ellipse(body, (200, 40), (16, 22), 0, 0, 360, 1, -1)  # head
    cv2.rectangle(body, (195, 60), (205, 72), 1, -1)  # neck
    cv2.rectangle(body, (150, 75), (160, 170), 1, -1)  # arms
    cv2.rectangle(body, (240, 75), (250, 170), 1, -1)
    cv2.rectangle(body, (185, 210), (195, 290), 1, -1)  # legs
    cv2.rectangle(body, (205, 210), (215, 290), 1, -1)
    canvas[body > 0] = SKIN
    cv2.fillPoly(
        dress, [np.array([(170, 68), (230, 68), (240, 75), (250, 220), (150, 220), (160, 75)])], 1
    )
    shade = np.linspace(0.6, 1.1, W, dtype=np.float32)[None, :, None]
    blue = np.clip(np.array([40, 70, 170], np.float32) * shade, 0, 255)
    canvas = np.where(dress[..., None] > 0, np.broadcast_to(blue, canvas.shape), canvas)
    figure = (body > 0) | (dress > 0)
    image = np.clip(canvas + np.random.default_rng(1).normal(0, 1.5, canvas.shape), 0, 255)
    coarse = cv2.GaussianBlur(figure.astype(np.float32), (0, 0), 1.0).astype(np.float32)
    return image.astype(np.uint8), np.clip(coarse, 0, 1), dress > 0, figure


def test_a_worn_garment_is_cut_out_without_the_person() -> None:
    image, coarse, dress, figure = model_in_dress()
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse)
    solid = cut.alpha >= 0.5
    assert float(solid[dress].mean()) > 0.9
    skin = figure & ~dress
    assert float(solid[skin].mean()) < 0.1  # head, arms and legs are gone
    assert cut.objects[0].cues["person"] == 1.0
    whole = Extractor(
        NoSegmenter(),
        ExtractSettings(
            extract_refine=RefineMethod.NONE, extract_zoom=False, extract_worn_garment=False
        ),
    ).extract(image, ExtractMode.SALIENT, coarse)
    assert float((whole.alpha >= 0.5)[skin].mean()) > 0.9  # the setting keeps the person


def test_a_product_with_skin_coloured_parts_is_left_whole() -> None:
    """A jar with a wooden (skin-coloured) lid: not a person, however skin-like the lid."""
    canvas = np.full((H, W, 3), 240, np.float32)
    jar = np.zeros((H, W), np.uint8)
    cv2.rectangle(jar, (130, 120), (270, 260), 1, -1)
    canvas[jar > 0] = (120, 130, 150)
    cv2.rectangle(jar, (125, 80), (275, 120), 1, -1)
    canvas[80:121, 125:276] = SKIN
    image = canvas.astype(np.uint8)
    coarse = jar.astype(np.float32)
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse)
    assert float((cut.alpha >= 0.5)[jar > 0].mean()) > 0.97


def test_a_printed_second_item_standing_apart_is_kept_with_the_product() -> None:
    """A set shot apart: a printed box and, well beyond the group's reach, a smaller printed
    cylinder of another colour (not a unit). Both are the offer; a badge is not."""
    image = np.full((H, W, 3), 230, np.uint8)
    coarse = np.zeros((H, W), np.float32)
    rng = np.random.default_rng(4)
    box: Box = (20, 40, 170, 260)
    can: Box = (280, 120, 350, 250)  # 110 px from the box: far past GROUP_REACH
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = rng.integers(60, 120, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    x0, y0, x1, y1 = can
    shade = np.linspace(0.5, 1.2, x1 - x0, dtype=np.float32)[None, :, None]
    image[y0:y1, x0:x1] = np.clip(np.array([90, 110, 160], np.float32) * shade, 0, 255)
    for x0, y0, x1, y1 in (box, can):
        coarse[y0:y1, x0:x1] = 1.0
    labels = [
        text((40, 120, 150, 140), TextKind.PRODUCT),
        text((290, 170, 340, 185), TextKind.PRODUCT),
    ]
    cut = extractor().extract(image, ExtractMode.SALIENT, coarse, labels)
    for x0, y0, x1, y1 in (box, can):
        assert cut.alpha[y0:y1, x0:x1].mean() > 0.9
    # Without print on the second object, print decides: the printed box alone.
    alone = extractor().extract(image, ExtractMode.SALIENT, coarse, labels[:1])
    x0, y0, x1, y1 = can
    assert alone.alpha[y0:y1, x0:x1].mean() < 0.05

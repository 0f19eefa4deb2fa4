"""``Extractor``: refinement, product selection and input checks, on scenes with known alpha.

The tiny random-weight U²-Net gives meaningless maps, so the refinement is tested with a
realistic ``coarse`` map made from the true alpha (blurred, grown or shrunk, noised, holes
filled, thin parts faded) the way a 320 px network's map is wrong; one test runs the tiny
model through the production loader to check the ``coarse=None`` path. The zoom-in pass runs
the network on a crop, so its tests use a stand-in (``CloseUp``) that answers for any crop of
one scene with the map a network resolving the detail would give.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.results import Cutout, ExtractMode
from globalpic_segmentation import refine
from globalpic_segmentation.components import find_products
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from globalpic_segmentation.matting import band_trimap
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter
from globalpic_segmentation.zoom import zoom_box

F32 = npt.NDArray[np.float32]
SIZE = 256
SS = 4  # shapes are drawn at 4x and averaged down: exact fractional edge alpha


class NoSegmenter:
    """A segmenter that must not be called: the refinement tests pass ``coarse``, zoom off."""

    name = "none"

    def segment(self, image: np.ndarray) -> F32:
        raise AssertionError("segment() called although coarse was given")


class CloseUp:
    """Stands in for U²-Net-p on crops of one scene: finds where the crop lies in the scene
    (an exact template match) and returns that part of ``sharp``, the map of a network that
    sees the product at close range. Records the crops it was given."""

    name = "close-up"

    def __init__(self, scene: np.ndarray, sharp: F32) -> None:
        self.scene, self.sharp = scene, sharp
        self.crops: list[tuple[int, int, int, int]] = []

    def segment(self, image: np.ndarray) -> F32:
        found = cv2.matchTemplate(self.scene, image, cv2.TM_SQDIFF)
        _, _, (x, y), _ = cv2.minMaxLoc(found)
        h, w = image.shape[:2]
        self.crops.append((x, y, x + w, y + h))
        return self.sharp[y : y + h, x : x + w].copy()


def coverage(draw: object) -> F32:
    big = np.zeros((SIZE * SS, SIZE * SS), np.uint8)
    draw(big)  # type: ignore[operator]
    return big.reshape(SIZE, SS, SIZE, SS).mean(axis=(1, 3), dtype=np.float32) / 255.0


def disc(cx: float, cy: float, r: float) -> F32:
    return coverage(
        lambda m: cv2.circle(m, (round(cx * SS), round(cy * SS)), round(r * SS), 255, -1)
    )


def rect(x0: float, y0: float, x1: float, y1: float) -> F32:
    pts = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) * SS
    return coverage(lambda m: cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255))


def gradient(c0: tuple[int, int, int], c1: tuple[int, int, int]) -> F32:
    t = np.linspace(0, 1, SIZE, dtype=np.float32)[None, :, None]
    row = np.asarray(c0, np.float32) * (1 - t) + np.asarray(c1, np.float32) * t
    return np.repeat(row, SIZE, axis=0)


def compose(alpha: F32, fg: F32, bg: F32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = alpha[..., None]
    img = a * fg + (1 - a) * bg + rng.normal(0, 1.0, bg.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def shaded(color: tuple[int, int, int]) -> F32:
    """A product colour with left-to-right shading, like a lit cylinder."""
    x = np.linspace(0.75, 1.05, SIZE, dtype=np.float32)[None, :, None]
    return np.clip(np.asarray(color, np.float32) * x * np.ones((SIZE, 1, 1), np.float32), 0, 255)


def coarse_from(alpha: F32, grow: int = 3, blur: float = 4.0, seed: int = 0) -> F32:
    """What a low-resolution network gives: the shape grown by a few px, blurred, noised."""
    hard = (alpha >= 0.5).astype(np.uint8)
    if grow > 0:
        hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    elif grow < 0:
        hard = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-2 * grow + 1,) * 2))
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), blur)
    noise = np.random.default_rng(seed).normal(0, 0.03, soft.shape).astype(np.float32)
    return np.clip(soft + noise, 0, 1).astype(np.float32)


def iou(alpha: F32, true: F32) -> float:
    a, b = alpha >= 0.5, true >= 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def extractor(method: RefineMethod = RefineMethod.GRABCUT_MATTING, **settings: object) -> Extractor:
    """The refinement of a given coarse map (the zoom pass, which needs the network, off)."""
    return Extractor(
        NoSegmenter(), ExtractSettings(extract_refine=method, extract_zoom=False, **settings)
    )


@pytest.fixture(scope="module")
def bottle() -> tuple[np.ndarray, F32]:
    alpha = np.maximum(rect(100, 70, 156, 210), disc(128, 70, 28))
    return compose(alpha, shaded((200, 60, 40)), gradient((210, 220, 235), (170, 180, 200))), alpha


@pytest.mark.parametrize("method", list(RefineMethod))
def test_every_method_returns_a_valid_cutout(
    method: RefineMethod, bottle: tuple[np.ndarray, F32]
) -> None:
    image, alpha = bottle
    cut = extractor(method).extract(image, coarse=coarse_from(alpha))
    assert isinstance(cut, Cutout)
    assert cut.alpha.shape == alpha.shape and cut.alpha.dtype == np.float32
    assert cut.alpha.min() >= 0.0 and cut.alpha.max() <= 1.0
    assert len(cut.boxes) == 1
    assert "components" in cut.seconds and "segment" not in cut.seconds
    # "none" keeps the coarse map's grown, blurred edge; every other method moves it.
    assert iou(cut.alpha, alpha) > (0.85 if method is RefineMethod.NONE else 0.95)


@pytest.mark.parametrize("grow", [4, -3])
def test_refinement_moves_a_shifted_coarse_edge_to_the_true_one(
    grow: int, bottle: tuple[np.ndarray, F32]
) -> None:
    image, alpha = bottle
    coarse = coarse_from(alpha, grow=grow, blur=2.0)
    before = iou(coarse, alpha)
    cut = extractor().extract(image, coarse=coarse)
    assert before < 0.95  # the coarse map is visibly off ...
    assert iou(cut.alpha, alpha) >= 0.97  # ... and the refined one is on the edge
    # Soft where the true edge is soft: mean error well under the coarse map's.
    assert np.abs(cut.alpha - alpha).mean() < 0.5 * np.abs(coarse - alpha).mean()
    x0, y0, x1, y1 = cut.boxes[0]
    assert abs(x0 - 100) <= 2 and abs(y0 - 42) <= 2 and abs(x1 - 156) <= 2 and abs(y1 - 210) <= 2


def test_salient_keeps_one_product_and_all_keeps_both() -> None:
    big, small = disc(110, 130, 60), rect(200, 40, 240, 100)
    alpha = np.maximum(big, small)
    image = compose(alpha, shaded((40, 120, 200)), gradient((235, 225, 210), (215, 205, 190)))
    coarse = coarse_from(alpha)
    salient = extractor().extract(image, ExtractMode.SALIENT, coarse)
    everything = extractor().extract(image, "all", coarse)  # type: ignore[arg-type]
    assert len(salient.boxes) == 1 and len(everything.boxes) == 2
    # The salient one comes first (the two runs crop differently: a pixel or two may differ).
    assert np.abs(np.subtract(salient.boxes[0], everything.boxes[0])).max() <= 2
    assert iou(salient.alpha, big) > 0.97
    assert salient.alpha[small >= 0.5].max() < 0.5  # the other product is dropped
    assert iou(everything.alpha, alpha) > 0.97
    assert np.abs(np.subtract(everything.boxes[1], (200, 40, 240, 100))).max() <= 2


def test_white_product_on_white_background_is_kept() -> None:
    alpha = np.maximum(rect(70, 60, 190, 200), disc(130, 60, 40))
    fg = shaded((246, 246, 244))
    bg = gradient((238, 238, 236), (230, 230, 229))
    image = compose(alpha, fg, bg)
    cut = extractor().extract(image, coarse=coarse_from(alpha, grow=2))
    assert iou(cut.alpha, alpha) > 0.95


def test_a_filled_hole_is_carved_back_out() -> None:
    ring = disc(128, 128, 80) - disc(128, 128, 40)
    image = compose(ring, shaded((230, 190, 40)), gradient((200, 215, 235), (185, 200, 225)))
    filled = coarse_from(disc(128, 128, 80))  # the network fills the tape roll's hole
    cut = extractor().extract(image, coarse=filled)
    assert cut.alpha[128, 128] < 0.1
    assert iou(cut.alpha, ring) > 0.95
    assert iou(extractor(RefineMethod.NONE).extract(image, coarse=filled).alpha, ring) < 0.8


def test_a_thin_strap_the_coarse_map_half_sees_is_kept() -> None:
    body = rect(60, 130, 196, 220)
    strap = coverage(
        lambda m: cv2.ellipse(m, (128 * SS, 130 * SS), (50 * SS, 70 * SS), 0, 180, 360, 255, 3 * SS)
    )
    alpha = np.maximum(body, strap)
    image = compose(alpha, shaded((30, 110, 120)), gradient((236, 228, 214), (226, 216, 200)))
    coarse = np.maximum(coarse_from(body), 0.35 * cv2.GaussianBlur(strap, (0, 0), 3.0) / 0.4)
    coarse = np.clip(coarse, 0, 1).astype(np.float32)
    cut = extractor().extract(image, coarse=coarse)
    on_strap = (strap >= 0.99) & (body == 0)
    assert on_strap.sum() > 300
    assert (cut.alpha[on_strap] >= 0.5).mean() > 0.8


def test_no_product_gives_an_empty_cutout(bottle: tuple[np.ndarray, F32]) -> None:
    image, _ = bottle
    cut = extractor().extract(image, coarse=np.zeros(image.shape[:2], np.float32))
    assert cut.boxes == [] and not cut.alpha.any()


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (np.zeros((64, 64, 3), np.float32), errors.UNSUPPORTED_FORMAT),
        (np.zeros((64, 64), np.uint8), errors.UNSUPPORTED_FORMAT),
        (np.zeros((64, 64, 4), np.uint8), errors.UNSUPPORTED_FORMAT),
        ([[0, 0, 0]], errors.UNSUPPORTED_FORMAT),
        (np.zeros((8, 64, 3), np.uint8), errors.IMAGE_TOO_SMALL),
    ],
)
def test_bad_image_is_a_clear_error(image: object, code: str) -> None:
    with pytest.raises(BadInputError) as info:
        extractor().extract(image)  # type: ignore[arg-type]
    assert info.value.code == code
    assert "extract" in info.value.message


@pytest.mark.parametrize(
    "coarse",
    [
        np.zeros((32, 64), np.float32),  # wrong size
        np.zeros((64, 64), np.uint8),  # not float
        np.full((64, 64), 2.0, np.float32),  # outside [0, 1]
        np.full((64, 64), np.nan, np.float32),
    ],
)
def test_bad_coarse_alpha_is_a_clear_error(coarse: np.ndarray) -> None:
    with pytest.raises(BadInputError) as info:
        extractor().extract(np.zeros((64, 64, 3), np.uint8), coarse=coarse)
    assert info.value.code == errors.BAD_MASK


def test_bad_mode_is_a_clear_error() -> None:
    with pytest.raises(BadInputError) as info:
        extractor().extract(np.zeros((64, 64, 3), np.uint8), "largest")  # type: ignore[arg-type]
    assert info.value.code == errors.BAD_OPTION
    assert "salient" in info.value.message


def test_without_coarse_it_runs_the_segmenter_through_the_real_loader(
    tiny_model: Path, bottle: tuple[np.ndarray, F32]
) -> None:
    image, _ = bottle
    segmenter = U2NetSegmenter(SegmentationSettings(model_path=tiny_model))
    extractor = Extractor(segmenter, ExtractSettings())
    extractor.load()
    assert segmenter._session is not None  # load() loaded the model
    cut = extractor.extract(image, ExtractMode.ALL)
    # Random weights give a meaningless map: only the contract is checked.
    assert cut.alpha.shape == image.shape[:2] and cut.alpha.dtype == np.float32
    assert "segment" in cut.seconds and cut.seconds["segment"] >= 0
    for x0, y0, x1, y1 in cut.boxes:
        assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE


def test_from_settings_reads_the_environment(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tiny_model))
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__EXTRACT_REFINE", "matting")
    built = Extractor.from_settings()
    assert isinstance(built.segmenter, U2NetSegmenter)
    assert built.segmenter.model_path == str(tiny_model)
    assert built.settings.extract_refine is RefineMethod.MATTING
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__EXTRACT_REFINE", "magic")
    with pytest.raises(ValueError, match="extract_refine"):
        ExtractSettings()


def test_open_gaps_are_carved_only_when_allowed() -> None:
    stool = np.maximum.reduce(
        [rect(60, 50, 196, 76), rect(68, 76, 80, 220), rect(176, 76, 188, 220)]
    )
    image = compose(stool, shaded((120, 80, 50)), gradient((225, 230, 220), (205, 212, 200)))
    filled = coarse_from(rect(60, 50, 196, 220))  # the network fills the gap between the legs
    carving = extractor(extract_carve_open_holes=True).extract(image, coarse=filled)
    assert carving.alpha[150, 128] < 0.5
    assert iou(carving.alpha, stool) > 0.9
    # By default a background-coloured region reaching the outline is not carved as a hole
    # (it could be a white product's face); GrabCut alone decides there.
    default = extractor().extract(image, coarse=filled)
    assert iou(default.alpha, stool) <= iou(carving.alpha, stool)


# ----------------------------------------------------------------------------- zoom-in pass


def small_stool() -> F32:
    """A 100 x 120 px bar stool (seat on two 8 px legs) in the 256 px frame."""
    return np.maximum.reduce(
        [rect(40, 70, 140, 86), rect(46, 86, 54, 190), rect(126, 86, 134, 190)]
    )


@pytest.fixture(scope="module")
def stool_scene() -> tuple[np.ndarray, F32, F32]:
    """(image, true alpha, full-frame coarse map with the gap between the legs filled)."""
    stool = small_stool()
    image = compose(stool, shaded((120, 80, 50)), gradient((225, 230, 220), (205, 212, 200)))
    return image, stool, coarse_from(rect(40, 70, 140, 190))


def test_zoom_pass_replaces_the_full_frame_map_around_the_product(
    stool_scene: tuple[np.ndarray, F32, F32],
) -> None:
    image, stool, filled = stool_scene
    close_up = CloseUp(image, coarse_from(stool, grow=1, blur=1.5))
    # The map itself, unrefined; zoom on (the U²-Net-p fallback uses it; off by default).
    settings = ExtractSettings(extract_refine=RefineMethod.NONE, extract_zoom=True)
    zoomed = Extractor(close_up, settings).extract(image, coarse=filled)
    assert len(close_up.crops) == 1  # one extra network run
    x0, y0, x1, y1 = close_up.crops[0]
    assert x1 - x0 == y1 - y0 < SIZE / 1.25  # square, and enlarges the product
    assert x0 < 40 and y0 < 70 and x1 > 140 and y1 > 190  # the product and a margin
    assert "zoom" in zoomed.seconds
    gap = (slice(100, 180), slice(60, 120))
    assert (zoomed.alpha[gap] < 0.5).all()  # the close-up resolves the gap ...
    full_frame = extractor(RefineMethod.NONE).extract(image, coarse=filled)
    assert (full_frame.alpha[gap] >= 0.5).all()  # ... that the full-frame map filled
    assert iou(zoomed.alpha, stool) > 0.8 > 0.3 > iou(full_frame.alpha, stool)


def test_zoomed_map_is_refined_by_default(stool_scene: tuple[np.ndarray, F32, F32]) -> None:
    image, stool, filled = stool_scene
    close_up = CloseUp(image, coarse_from(stool, grow=2, blur=2.0))
    cut = Extractor(close_up, ExtractSettings(extract_zoom=True)).extract(image, coarse=filled)
    assert iou(cut.alpha, stool) > 0.97
    assert np.abs(cut.alpha - stool).mean() < 0.01


def test_a_close_up_that_disagrees_on_the_products_extent_is_not_used(
    stool_scene: tuple[np.ndarray, F32, F32],
) -> None:
    image, _, filled = stool_scene
    # With little backdrop around it the network may pick a detail (a label) as the object.
    label_only = CloseUp(image, coarse_from(rect(80, 100, 100, 110)))
    cut = Extractor(label_only, ExtractSettings(extract_zoom=True)).extract(image, coarse=filled)
    assert len(label_only.crops) == 1
    assert np.array_equal(cut.alpha, extractor().extract(image, coarse=filled).alpha)


def test_no_zoom_when_the_product_fills_the_frame() -> None:
    alpha = rect(20, 16, 236, 240)
    image = compose(alpha, shaded((60, 90, 160)), gradient((230, 230, 230), (215, 215, 220)))
    coarse = coarse_from(alpha)
    # NoSegmenter raises if called: the crop would not enlarge the product enough to run.
    cut = Extractor(NoSegmenter(), ExtractSettings(extract_zoom=True)).extract(image, coarse=coarse)
    assert np.array_equal(cut.alpha, extractor().extract(image, coarse=coarse).alpha)


def test_zoom_keeps_a_thin_part_the_close_up_loses() -> None:
    body = rect(80, 100, 176, 190)
    # A 1.5 px wire loop on top (a 6 px strap at 1024 px); the products' extent stays about
    # the same, so the close-up is used.
    handle = coverage(
        lambda m: cv2.ellipse(m, (128 * SS, 100 * SS), (34 * SS, 18 * SS), 0, 180, 360, 255, 6)
    )
    alpha = np.maximum(body, handle)
    image = compose(alpha, shaded((30, 110, 120)), gradient((236, 228, 214), (226, 216, 200)))
    # The full frame sees the handle (and the body 3 px too wide); the close-up loses it.
    full_frame = np.maximum(coarse_from(body, grow=3), coarse_from(handle, grow=0, blur=0.7))
    close_up = CloseUp(image, coarse_from(body, grow=0, blur=0.7))
    settings = ExtractSettings(extract_refine=RefineMethod.NONE, extract_zoom=True)
    cut = Extractor(close_up, settings).extract(image, coarse=full_frame)
    on_handle = (handle >= 0.5) & (body == 0)
    assert len(close_up.crops) == 1 and on_handle.sum() > 60
    assert (cut.alpha[on_handle] >= 0.5).mean() > 0.7  # all but where it meets the body
    assert cut.alpha[150, 78] < 0.5 <= full_frame[150, 78]  # the close-up's edge was used


@pytest.mark.parametrize(
    ("box", "shape"),
    [
        ((40, 70, 140, 190), (256, 256)),
        ((0, 0, 60, 30), (256, 256)),
        ((300, 20, 380, 90), (120, 400)),
    ],
)
def test_zoom_box_is_a_square_around_the_box_inside_the_image(
    box: tuple[int, int, int, int], shape: tuple[int, int]
) -> None:
    crop = zoom_box(box, shape, 0.15)
    assert crop is not None
    x0, y0, x1, y1 = crop
    assert x1 - x0 == y1 - y0  # square: the network squeezes its input to 320 x 320
    assert 0 <= x0 <= box[0] and 0 <= y0 <= box[1]
    assert box[2] <= x1 <= shape[1] and box[3] <= y1 <= shape[0]
    assert zoom_box((10, 10, 230, 200), (256, 256), 0.15) is None  # would not enlarge it


# ----------------------------------------------------------------------------- thin parts


def test_a_confident_strap_broken_off_its_bag_stays_with_it() -> None:
    body = rect(60, 130, 196, 220)
    strap = rect(80, 60, 86, 122)  # 6 px wide, 8 px above the bag: the network broke it off
    nearby_product = rect(200, 40, 240, 122)  # as far away, but solid: a product of its own
    speck = rect(120, 118, 124, 122)  # as near, but a speck of noise, not a long part
    shapes = np.maximum.reduce([body, strap, nearby_product, speck])
    coarse = coarse_from(shapes, grow=0, blur=1.0)
    salient = find_products(coarse, salient_only=True)
    assert len(salient) == 1 and salient[0].mask[90, 83]  # the strap joined the bag
    assert not salient[0].mask[80, 220]  # the other product did not
    assert not salient[0].mask[120, 122]  # nor the speck
    everything = find_products(coarse, salient_only=False)
    assert len(everything) == 2  # bag (with its strap) and the other product, no strap product
    assert all(p.mask[90, 83] == (i == 0) for i, p in enumerate(everything))


def test_matting_keeps_the_middle_of_parts_thinner_than_its_band() -> None:
    guess = np.zeros((64, 64), np.float32)
    guess[:, 10:30] = 1.0  # a wide part
    guess[:, 40:45] = 1.0  # a 5 px leg, 5 px from ...
    guess[:, 50:64] = 1.0  # ... the next one
    fg, bg = band_trimap(guess, 4)
    assert fg[:, 20].all() and fg[:, 42].all()  # the leg's middle is sure product
    assert not fg[:, 40].any() and not fg[:, 44].any()  # its edges are matted
    assert bg[:, 47].all() and not bg[:, 45].any()  # the narrow gap's middle is sure background
    assert not (fg & bg).any()


def test_a_soft_edge_gets_a_wider_matting_band(monkeypatch: pytest.MonkeyPatch) -> None:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    radius = np.hypot(xx - 128, yy - 128)
    strands = 66 + 5 * np.sin(np.arctan2(yy - 128, xx - 128) * 40)  # a fur fringe
    alpha = np.clip((strands + 6 - radius) / 12, 0, 1).astype(np.float32)
    image = compose(alpha, shaded((150, 100, 60)), gradient((225, 230, 235), (205, 210, 220)))
    coarse = cv2.GaussianBlur(alpha, (0, 0), 3.0).astype(np.float32)  # soft where the fur is
    fringe = (alpha > 0.02) & (alpha < 0.98)
    adaptive = extractor().extract(image, coarse=coarse).alpha
    monkeypatch.setattr(refine, "SOFT_BAND_FACTOR", 1)
    fixed = extractor().extract(image, coarse=coarse).alpha
    error = np.abs(adaptive - alpha)[fringe].mean()
    assert error < 0.8 * np.abs(fixed - alpha)[fringe].mean()

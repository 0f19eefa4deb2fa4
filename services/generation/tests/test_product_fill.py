"""Product-aware fill: where an overlay covers the product, the product is rebuilt from the
product (its outline completed under the overlay, its structure continued) and the
background from the background; without the product's alpha, the fill is as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_clients.generation import GenerationClient
from globalpic_common.errors import BAD_MASK, BadInputError
from globalpic_common.grpc_server import ServiceServer
from globalpic_generation.inpaint import AutoInpainter, rebuild_product_sides
from globalpic_generation.product_fill import fill_product
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer
from globalpic_generation.server import HEALTH_NAME, registrar
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.silhouette import Arm, complete, find_arms, join
from globalpic_generation.texture import texture_energy

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Bool = npt.NDArray[np.bool_]
S = 256
RED = np.array([200, 30, 40], np.float32)


def _wood(rng: np.random.Generator) -> F32:
    """A brown, strongly grained background (what used to leak into the product)."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    grain = 25 * np.sin(xx / 3.0 + 2 * np.sin(yy / 17.0)) + rng.normal(0, 4, (S, S))
    base = np.array([130, 85, 45], np.float32)
    return np.asarray(base + grain[:, :, None] * np.array([1.0, 0.7, 0.4]), np.float32)


def _camera(scene: F32, rng: np.random.Generator) -> Rgb:
    noisy = scene + rng.normal(0, 1.5, scene.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _shirt(rng: np.random.Generator, knit: float = 0.0) -> tuple[Rgb, Bool]:
    """A red product (x >= 100) with horizontal shading on wood: its outline is the straight
    line x = 100. ``knit``: the amplitude (levels) of a fine fabric texture on it."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    product = np.zeros((S, S), bool)
    product[:, 100:] = True
    shade = (1.0 - 0.25 * ((xx - 178) / 78.0) ** 2)[:, :, None]
    texture = knit * (rng.normal(0, 1, (S, S)) + np.sin(xx * 1.3) * np.sin(yy * 1.1))
    scene = np.where(product[:, :, None], RED * shade + texture[:, :, None], _wood(rng))
    return _camera(scene.astype(np.float32), rng), product


def _badge(y0: int, y1: int, x0: int, x1: int) -> npt.NDArray[np.uint8]:
    mask = np.zeros((S, S), np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


def _paint_badge(image: Rgb, mask: npt.NDArray[np.uint8]) -> Rgb:
    out = image.copy()
    out[mask > 0] = (250, 250, 245)  # a white badge (the haze of the old fill was its rim)
    return out


def _psnr(a: Any, b: Any, where: Any) -> float:
    diff = a.astype(np.float64)[where] - b.astype(np.float64)[where]
    return float(10 * np.log10(255.0**2 / max(float(np.mean(diff**2)), 1e-9)))


def _redness(image: Rgb, where: Bool) -> float:
    px = image[where].astype(np.float32)
    return float(np.mean(px[:, 0] - px[:, 1]))


@pytest.mark.parametrize("taken_as", ["product", "background", "split"])
def test_badge_on_the_edge_rebuilds_each_side_from_its_own_pixels(taken_as: str) -> None:
    rng = np.random.default_rng(3)
    clean, product = _shirt(rng)
    mask = _badge(90, 150, 60, 160)  # straddles the edge x = 100
    image = _paint_badge(clean, mask)
    # The segmenter's view of the badge varies; the outline must not follow it.
    seg = product.copy()
    if taken_as == "product":
        seg[mask > 0] = True  # a bump
    elif taken_as == "background":
        seg[mask > 0] = False  # a bite
    alpha = seg.astype(np.float32)
    inpainter = AutoInpainter()
    out = inpainter.inpaint(image, mask, product_alpha=alpha)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    on_product = (mask > 0) & product
    beside = (mask > 0) & ~product
    # Away from the outline's own pixel column, each side is its own colour.
    core_p = on_product & (np.arange(S)[None, :] >= 103)
    core_b = beside & (np.arange(S)[None, :] <= 97)
    assert _psnr(out, clean, on_product) >= 26.0
    assert _redness(out, core_p) > 140.0  # red product: no white haze, no wood
    assert _redness(out, core_b) < 60.0  # wood: no red bump
    # The old fill (no alpha) smears wood and white into the product.
    old = inpainter.inpaint(image, mask)
    assert _psnr(old, clean, on_product) < _psnr(out, clean, on_product) - 3.0


def test_no_haze_the_fill_keeps_the_products_texture_energy() -> None:
    rng = np.random.default_rng(5)
    clean, product = _shirt(rng, knit=6.0)
    mask = _badge(60, 200, 90, 230)  # a large badge, mostly on the product
    image = _paint_badge(clean, mask)
    out = AutoInpainter().inpaint(image, mask, product_alpha=product.astype(np.float32))
    on_product = (mask > 0) & product
    ring = (cv2.dilate(mask, np.ones((21, 21), np.uint8)) > 0) & (mask == 0) & product
    ratio = texture_energy(out, on_product) / texture_energy(clean, ring)
    assert 0.5 < ratio < 2.0
    # No blend toward a mean colour: the shading ramp across the product survives.
    assert _psnr(out, clean, on_product) >= 26.0


def _can(rng: np.random.Generator) -> tuple[Rgb, Bool]:
    """A yellow label band (rows 120..140) on an orange can (x 60..200) with cylinder
    shading along x, on a grey wall."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    product = (xx >= 60) & (xx < 200)
    shade = 0.55 + 0.45 * np.cos((xx - 130) / 70.0 * 1.3)
    colour = np.where(
        ((yy >= 120) & (yy < 140))[:, :, None],
        np.array([240, 210, 40], np.float32),
        np.array([220, 120, 30], np.float32),
    )
    wall = np.full((S, S, 3), 190, np.float32)
    scene = np.where(product[:, :, None], colour * shade[:, :, None], wall)
    return _camera(scene.astype(np.float32), rng), product


def test_a_label_band_continues_under_the_badge() -> None:
    rng = np.random.default_rng(7)
    clean, product = _can(rng)
    # The badge hides the band from the can's left edge to x = 160: only its right end shows.
    mask = _badge(100, 165, 40, 160)
    image = _paint_badge(clean, mask)
    out = AutoInpainter().inpaint(image, mask, product_alpha=product.astype(np.float32))
    band = np.zeros((S, S), bool)
    band[122:138, 70:150] = True
    # The band is rebuilt yellow (green channel high), the body above and below orange.
    assert float(out[band][:, 1].mean()) > float(clean[band][:, 1].mean()) - 25
    assert _psnr(out, clean, (mask > 0) & product) >= 26.0


def test_fill_product_reads_no_background_pixel() -> None:
    values = np.zeros((40, 40, 3), np.float32)
    values[:, :20] = 255.0  # "background": must never reach the fill
    values[:, 20:] = 100.0
    source = np.zeros((40, 40), bool)
    source[:, 24:] = True
    target = np.zeros((40, 40), bool)
    target[10:30, 20:24] = True  # the product side of a hole, along the outline
    filled = fill_product(values, source, target)
    assert np.allclose(filled[target], 100.0, atol=1.0)


def _disc(h: int = S, r: float = 80.0) -> tuple[Bool, tuple[float, float]]:
    yy, xx = np.mgrid[0:h, 0:h].astype(np.float32)
    centre = (128.0, 128.0)
    return np.hypot(xx - centre[0], yy - centre[1]) <= r, centre


@pytest.mark.parametrize("taken_as", ["product", "background"])
def test_outline_of_a_round_product_continues_as_an_arc(taken_as: str) -> None:
    disc, _ = _disc()
    hole = np.zeros((S, S), bool)
    hole[30:75, 90:170] = True  # over the disc's top (y = 48)
    seg = disc.copy()
    seg[hole] = taken_as == "product"
    side = complete(seg, ~hole, hole)
    truth = disc & hole
    iou = float((side & truth).sum()) / float((side | truth).sum())
    assert iou > 0.9


def test_outline_of_a_box_keeps_its_corner() -> None:
    box = np.zeros((S, S), bool)
    box[80:, 80:] = True
    hole = np.zeros((S, S), bool)
    hole[60:110, 60:110] = True  # over the corner (80, 80)
    side = complete(np.zeros((S, S), bool) | (box & ~hole), ~hole, hole)
    truth = box & hole
    assert float((side ^ truth).sum()) <= 0.05 * float(truth.sum())


def test_a_straight_edge_is_closed_straight() -> None:
    product = np.zeros((S, S), bool)
    product[:, 100:] = True
    hole = np.zeros((S, S), bool)
    hole[90:150, 60:160] = True
    arms = find_arms(product & ~hole, ~product & ~hole, hole)
    assert len(arms) == 2
    curve = join(arms[0], arms[1])
    assert np.abs(curve[:, 0] - 99.5).max() <= 1.5  # the line x = 100, no bump, no bite


def test_corner_join_meets_at_the_lines_intersection() -> None:
    a = Arm(np.array([50.0, 20.0]), np.array([0.0, 1.0]))
    b = Arm(np.array([20.0, 50.0]), np.array([1.0, 0.0]))
    curve = join(a, b)
    assert np.allclose(curve[1], [50.0, 50.0])


def test_without_alpha_the_fill_is_as_before() -> None:
    rng = np.random.default_rng(1)
    clean, _ = _shirt(rng)
    mask = _badge(90, 150, 60, 160)
    image = _paint_badge(clean, mask)
    for kind in ("auto", "opencv", "pushpull", "patchmatch"):
        inpainter = build_inpainter(GenerationSettings(inpainter=kind))
        a = inpainter.inpaint(image, mask)
        b = inpainter.inpaint(image, mask, product_alpha=None)
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", ["opencv", "pushpull", "patchmatch"])
def test_every_backend_is_product_aware(kind: str) -> None:
    rng = np.random.default_rng(3)
    clean, product = _shirt(rng)
    mask = _badge(90, 150, 60, 160)
    image = _paint_badge(clean, mask)
    inpainter = build_inpainter(GenerationSettings(inpainter=kind))
    out = inpainter.inpaint(image, mask, product_alpha=product.astype(np.float32))
    assert np.array_equal(out[mask == 0], image[mask == 0])
    core_p = (mask > 0) & product & (np.arange(S)[None, :] >= 103)
    core_b = (mask > 0) & ~product & (np.arange(S)[None, :] <= 97)
    assert _redness(out, core_p) > 140.0
    assert _redness(out, core_b) < 60.0


def test_alpha_of_another_size_is_a_bad_mask() -> None:
    rng = np.random.default_rng(0)
    image, _ = _shirt(rng)
    with pytest.raises(BadInputError) as err:
        AutoInpainter().inpaint(image, _badge(10, 20, 10, 20), np.zeros((10, 10), np.float32))
    assert err.value.code == BAD_MASK


def test_inpaint_with_alpha_over_grpc_equals_in_process() -> None:
    rng = np.random.default_rng(3)
    clean, product = _shirt(rng)
    mask = _badge(90, 150, 60, 160)
    image = _paint_badge(clean, mask)
    alpha = product.astype(np.float32)
    inpainter = build_inpainter()
    server = ServiceServer(
        "generation",
        registrar(inpainter, Remixer.from_settings()),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    server.set_serving()
    client = GenerationClient(f"127.0.0.1:{server.port}")
    try:
        remote = client.inpaint(image, mask, product_alpha=alpha)
        assert np.array_equal(remote, inpainter.inpaint(image, mask, product_alpha=alpha))
        assert not np.array_equal(remote, client.inpaint(image, mask))
        with pytest.raises(BadInputError) as err:
            client.inpaint(image, mask, product_alpha=np.zeros((8, 8), np.float32))
        assert err.value.code == BAD_MASK
    finally:
        client.close()
        server.stop()


def test_zimage_generates_the_background_side_only(tiny_dir: Path) -> None:
    settings = GenerationSettings(
        inpainter="zimage",
        model=str(tiny_dir),
        device="cpu",
        warmup_px=16,
        zimage_side_px=(32, 64),
        zimage_context_px=(8, 32),
        max_sequence_length=32,
    )
    rng = np.random.default_rng(3)
    clean, product = _shirt(rng)
    mask = _badge(90, 150, 60, 160)
    image = _paint_badge(clean, mask)
    alpha = product.astype(np.float32)
    out = build_inpainter(settings).inpaint(image, mask, product_alpha=alpha)
    rebuilt, rest = rebuild_product_sides(image, mask, alpha, settings)
    product_side = (mask > 0) & (rest == 0)
    assert product_side.any() and (rest > 0).any()
    # The product side is the classical product fill (random weights never touch it) ...
    assert np.array_equal(out[product_side], rebuilt[product_side])
    assert _redness(out, product_side & (np.arange(S)[None, :] >= 103)) > 140.0
    # ... the model generated the rest, and nothing outside the mask changed.
    assert (out[rest > 0] != image[rest > 0]).any()
    assert np.array_equal(out[mask == 0], image[mask == 0])

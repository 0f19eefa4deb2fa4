"""fit_to_canvas never crops the product, fills frames exactly, and enforces Amazon white."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common.errors import BadInputError
from globalpic_common.platforms import PLATFORMS, get_platform
from globalpic_generation.canvas import (
    MAX_UPSCALE,
    MIN_MARGIN_PX,
    enforce_white_background,
    fit_to_canvas,
    product_box,
    product_fill,
)
from globalpic_generation.texture import texture_energy

Rgb = npt.NDArray[np.uint8]
Alpha = npt.NDArray[np.float32]
PRODUCT = (200, 30, 40)  # a red no background pixel has


def scene(
    h: int, w: int, box: tuple[float, float, float, float], seed: int = 0
) -> tuple[Rgb, Alpha]:
    """A grainy warm backdrop with a red product ellipse inside ``box`` (shares of w, h)."""
    rng = np.random.default_rng(seed)
    yy = np.mgrid[0:h, 0:w][0].astype(np.float32)
    tone = 150 + 20 * yy / h + rng.normal(0, 3, (h, w)).astype(np.float32)
    img = np.stack([tone * 1.05, tone * 0.9, tone * 0.7], axis=2)
    bx0, by0, bx1, by1 = box
    centre = (round((bx0 + bx1) / 2 * w), round((by0 + by1) / 2 * h))
    axes = (round((bx1 - bx0) / 2 * w), round((by1 - by0) / 2 * h))
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    img[mask > 0] = PRODUCT
    return np.clip(img, 0, 255).astype(np.uint8), (mask / 255.0).astype(np.float32)


SHAPES = {
    "tall": (0.40, 0.02, 0.60, 0.98),
    "wide": (0.02, 0.40, 0.98, 0.62),
    "off_centre": (0.02, 0.03, 0.35, 0.30),
    "whole": (0.0, 0.0, 1.0, 1.0),
}


def _product_pixels(alpha: Alpha) -> int:
    return int(np.count_nonzero(alpha >= 0.5))


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("platform_id", list(PLATFORMS))
def test_product_never_cropped(platform_id: str, shape: str) -> None:
    platform = get_platform(platform_id)
    image, alpha = scene(360, 480, SHAPES[shape], seed=len(shape))
    result = fit_to_canvas(image, alpha, platform.width, platform.height)
    assert result.image.shape == (platform.height, platform.width, 3)
    assert result.alpha.shape == (platform.height, platform.width)
    box = product_box(result.alpha >= 0.5)
    assert box is not None
    x0, y0, x1, y1 = box
    m = MIN_MARGIN_PX - 1
    assert x0 >= m and y0 >= m and x1 <= platform.width - m and y1 <= platform.height - m
    # All of the product arrived: its area scaled by scale^2, not a cut part of it.
    expected = _product_pixels(alpha) * result.scale**2
    assert _product_pixels(result.alpha) == pytest.approx(expected, rel=0.03)
    # ... and it is the product's pixels (red), not a blank where it should be.
    red = result.image[result.alpha >= 0.9].astype(int)
    assert np.mean(np.abs(red - PRODUCT).max(axis=1) < 40) > 0.97
    # The product is as large as fits with the default 5 % margin (it touches that margin),
    # unless that would take more than MAX_UPSCALE.
    margin = round(0.05 * min(platform.width, platform.height))
    room = min(x0, y0, platform.width - x1, platform.height - y1)
    assert room <= margin + 3 or result.scale == MAX_UPSCALE


def test_fill_forces_share_and_centre_with_white() -> None:
    image, alpha = scene(800, 800, (0.1, 0.3, 0.4, 0.6))
    result = fit_to_canvas(image, alpha, 1000, 1000, fill=0.88, background="white")
    assert result.product_box is not None
    assert product_fill(result.product_box, 1000, 1000) == pytest.approx(0.88, abs=0.01)
    x0, y0, x1, y1 = result.product_box
    assert abs((x0 + x1) / 2 - 500) <= 2 and abs((y0 + y1) / 2 - 500) <= 2
    assert (result.image[result.extended > 0] == 255).all()


def test_crops_background_when_safe() -> None:
    image, alpha = scene(900, 900, (0.4, 0.4, 0.6, 0.6))
    result = fit_to_canvas(image, alpha, 1080, 1920)
    assert not result.extended.any()  # the photo holds the whole frame: nothing synthesised


def test_extension_is_background_without_ghosts_and_with_grain() -> None:
    image, alpha = scene(600, 600, (0.05, 0.05, 0.95, 0.95))
    result = fit_to_canvas(image, alpha, 1080, 1920)
    new = result.extended > 0
    assert 0.2 < new.mean() < 0.6
    pixels = result.image[new].astype(int)
    # No mirrored copy of the red product in the new area, and no black hole either.
    assert np.mean(np.abs(pixels - PRODUCT).max(axis=1) < 60) < 0.001
    backdrop = image[alpha < 0.5].astype(np.float32).mean(axis=0)
    assert np.abs(pixels.mean(axis=0) - backdrop).max() < 25
    assert (result.alpha[new] == 0).all()
    # Grain: the far part of the new area is not a flat smear.
    far = np.zeros_like(new)
    far[:150] = True
    assert texture_energy(result.image, far) > 0.3 * texture_energy(image, alpha < 0.5)


def test_upsamples_600_to_1000_preserving_detail() -> None:
    image, alpha = scene(600, 600, (0.1, 0.1, 0.9, 0.9))
    # Fine detail on the product: stripes that plain bilinear upscaling blurs.
    image[200:400:4, 150:450] = (250, 250, 250)
    result = fit_to_canvas(image, alpha, 1000, 1000)
    assert result.image.shape == (1000, 1000, 3) and result.scale > 1.5
    s = result.scale
    in_box, out_box = product_box(alpha >= 0.5), result.product_box
    assert in_box is not None and out_box is not None
    dx, dy = out_box[0] - in_box[0] * s, out_box[1] - in_box[1] * s
    plain = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    ys, xs = slice(round(210 * s), round(390 * s)), slice(round(160 * s), round(440 * s))
    ours = np.zeros(result.image.shape[:2], bool)
    ours[round(210 * s + dy) : round(390 * s + dy), round(160 * s + dx) : round(440 * s + dx)] = (
        True
    )
    theirs = np.zeros(plain.shape[:2], bool)
    theirs[ys, xs] = True
    assert texture_energy(result.image, ours) > 1.1 * texture_energy(plain, theirs)


def test_background_image_shows_through_new_area() -> None:
    image, alpha = scene(500, 500, (0.1, 0.1, 0.9, 0.9))
    plate = np.zeros((300, 300, 3), np.uint8)
    plate[:] = (20, 120, 220)
    result = fit_to_canvas(image, alpha, 1920, 1080, background=plate)
    far = result.image[:, :100].reshape(-1, 3).astype(int)
    assert np.abs(far - (20, 120, 220)).max() <= 1


def test_amazon_white_outside_dilated_mask_and_fill() -> None:
    amazon = get_platform("amazon")
    image, alpha = scene(700, 500, (0.3, 0.2, 0.6, 0.7))
    shadow = np.zeros((amazon.height, amazon.width), np.uint8)
    shadow[930:960, 300:700] = 255
    fitted = fit_to_canvas(image, alpha, amazon.width, amazon.height, fill=0.88, background="white")
    out = enforce_white_background(fitted.image, fitted.alpha, shadow_mask=shadow, dilate_px=6)
    keep = ((fitted.alpha >= 0.5) | (shadow > 0)).astype(np.uint8)
    grown = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))) > 0
    assert (out[~grown] == 255).all()
    assert (out[fitted.alpha >= 0.5] == fitted.image[fitted.alpha >= 0.5]).all()
    assert (out[shadow > 0] == fitted.image[shadow > 0]).all()
    assert fitted.product_box is not None
    assert product_fill(fitted.product_box, amazon.width, amazon.height) >= 0.85
    # A soft edge: some pixels in the band are neither the photo nor white.
    band = grown & (keep == 0)
    assert ((out[band] < 255).any(axis=1) & (out[band] > 0).all(axis=1)).any()


def test_enforce_white_needs_a_product() -> None:
    image, _ = scene(100, 100, (0.3, 0.3, 0.6, 0.6))
    with pytest.raises(BadInputError) as info:
        enforce_white_background(image, np.zeros((100, 100), np.float32))
    assert info.value.code == "no_product"


def test_bad_inputs() -> None:
    image, alpha = scene(200, 200, (0.3, 0.3, 0.6, 0.6))
    with pytest.raises(BadInputError) as info:
        fit_to_canvas(image, alpha[:100], 500, 500)
    assert info.value.code == "bad_mask"
    with pytest.raises(BadInputError) as info:
        fit_to_canvas(image, alpha, 20, 500)
    assert info.value.code == "bad_size"
    with pytest.raises(BadInputError) as info:
        fit_to_canvas(image, alpha, 500, 500, fill=1.5)
    assert info.value.code == "bad_option"


def test_no_product_keeps_the_whole_photo() -> None:
    image, _ = scene(300, 400, (0.3, 0.3, 0.6, 0.6))
    result = fit_to_canvas(image, np.zeros((300, 400), np.float32), 1000, 1000)
    assert result.product_box is None
    # The whole 4:3 photo fits inside the square frame: letterboxed, not cropped.
    assert result.scale == pytest.approx(900 / 400, rel=0.01)
    assert result.extended.any()


def test_product_box_ignores_specks() -> None:
    mask = np.zeros((400, 400), np.uint8)
    mask[100:300, 150:250] = 255
    mask[5, 5] = 255  # one stray pixel from the segmenter
    assert product_box(mask) == (150, 100, 250, 300)
    assert product_box(np.zeros((10, 10), np.uint8)) is None

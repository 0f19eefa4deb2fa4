"""Compositing: product pixels untouched, no halo of the old background, shadows that only
darken the new background, seller backgrounds fitted to the frame."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common.errors import BAD_MASK, BAD_OPTION, NO_PRODUCT, BadInputError
from globalpic_generation.composite import composite, fit_background, match_exposure
from globalpic_generation.delta_e import delta_e76, to_lab
from globalpic_generation.scenes import render_background
from globalpic_generation.shadow import background_plate, contact_shadow

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
RED = (220, 30, 30)


def product_scene(h: int = 180, w: int = 240, soft_px: float = 4.0,
                  backdrop: tuple[int, int, int] = RED) -> tuple[Rgb, F32, F32]:  # fmt: skip
    """A textured blue bottle-ish shape standing at 80 % height, with a ``soft_px`` wide soft
    edge, composited onto ``backdrop``: (image, alpha, true foreground levels)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, top, base, half = w / 2, 0.2 * h, 0.8 * h, 0.18 * w
    # Signed distance (px) inside a rounded box: positive inside.
    dx = half - np.abs(xx - cx)
    dy = np.minimum(yy - top, base - yy)
    inside = np.minimum(dx, dy)
    alpha = np.clip(inside / soft_px + 0.5, 0.0, 1.0).astype(np.float32)
    fg = np.zeros((h, w, 3), np.float32)
    fg[...] = (40, 90, 200)
    fg += (25 * np.sin(xx / 5) * np.cos(yy / 7))[:, :, None]
    bg = np.broadcast_to(np.asarray(backdrop, np.float32), (h, w, 3))
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha, fg


def ring_outside(alpha: F32, px: int = 3) -> npt.NDArray[np.bool_]:
    solid = (alpha >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return (cv2.dilate(solid, kernel) > 0) & (solid == 0)


def ideal(fg: F32, alpha: F32, plate: Rgb) -> Rgb:
    a = alpha[:, :, None]
    return np.clip(np.rint(a * fg + (1 - a) * plate), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("style_id", ["amazon-white", "marble-luxury", "natural-outdoor"])
def test_product_pixels_are_bit_identical(style_id: str) -> None:
    image, alpha, _ = product_scene()
    bg = render_background(style_id, 240, 180, seed=1)
    out = composite(image, alpha, bg, shadow=True, harmonize=True, reflection=True)
    solid = alpha >= 1.0
    assert solid.sum() > 1000
    assert np.array_equal(out[solid], image[solid])


def test_no_halo_of_the_old_background() -> None:
    """A product shot on red, moved to white: the 3 px ring outside the matte must look like
    the ideal composite of the true colours (CIE76 mean < 3), where a plain paste shows red."""
    image, alpha, fg = product_scene()
    white = np.full_like(image, 255)
    out = composite(image, alpha, white, shadow=False, harmonize=False)
    ring = ring_outside(alpha)
    expected = ideal(fg, alpha, white)
    ours = float(delta_e76(out, expected)[ring].mean())
    naive = ideal(image.astype(np.float32), alpha, white)
    plain = float(delta_e76(naive, expected)[ring].mean())
    assert ours < 3.0
    assert plain > 3 * ours and plain > 6.0  # the test scene does carry a halo to remove


def test_harmonised_edge_stays_close_and_interior_untouched() -> None:
    image, alpha, fg = product_scene()
    white = np.full_like(image, 255)
    out = composite(image, alpha, white, shadow=False, harmonize=True)
    assert float(delta_e76(out, ideal(fg, alpha, white))[ring_outside(alpha)].mean()) < 3.0
    assert np.array_equal(out[alpha >= 1.0], image[alpha >= 1.0])


def test_amazon_white_stays_255_outside_product_and_shadow() -> None:
    image, alpha, _ = product_scene(backdrop=(200, 200, 200))
    bg = render_background("amazon-white", 240, 180)
    out = composite(image, alpha, bg)
    shadow = contact_shadow(alpha)
    outside = (alpha == 0) & (shadow == 0)
    assert outside.mean() > 0.5
    assert int(out[outside].min()) == 255
    # There is a shadow, just under the base, and its footprint is compact.
    ys, xs = np.nonzero(shadow > 0.05)
    assert ys.size > 0
    base, top, x0, x1 = 0.8 * 180, 0.2 * 180, 120 - 0.18 * 240, 120 + 0.18 * 240
    assert ys.max() <= base + 0.3 * (base - top)
    assert xs.min() >= x0 - 0.3 * (x1 - x0) and xs.max() <= x1 + 0.3 * (x1 - x0)
    below = out[int(base) + 2, int(x0) + 10 : int(x1) - 10]
    assert int(below.max()) < 255  # the contact shadow darkens the floor under the base


def test_shadow_and_reflection_only_touch_the_background_plate() -> None:
    _, alpha, fg = product_scene()
    bg = render_background("studio-dark", 240, 180, seed=2)
    plate = background_plate(bg, alpha, foreground=fg, shadow=True, reflect=False)
    assert np.all(plate <= bg)  # shadows only darken
    assert np.any(plate < bg)
    assert np.array_equal(background_plate(bg, alpha, shadow=False), bg)
    # Reflection: below the base only.
    mirrored = background_plate(bg, alpha, foreground=fg, shadow=False, reflect=True)
    changed = np.abs(mirrored.astype(int) - bg.astype(int)).max(axis=2) > 1
    assert changed.any() and np.nonzero(changed)[0].min() >= int(0.8 * 180) - 3


def test_no_shadow_no_harmonize_is_a_plain_decontaminated_paste() -> None:
    image, alpha, _ = product_scene()
    bg = render_background("minimal-grey", 240, 180)
    out = composite(image, alpha, bg, shadow=False, harmonize=False)
    assert np.array_equal(out[alpha == 0], bg[alpha == 0])


def test_fit_background_covers_and_centre_crops() -> None:
    rng = np.random.default_rng(0)
    wide = rng.integers(100, 255, (300, 900, 3), dtype=np.uint8)
    assert fit_background(wide, 400, 500).shape == (500, 400, 3)
    tall = rng.integers(100, 255, (1000, 200, 3), dtype=np.uint8)
    assert fit_background(tall, 777, 555).shape == (555, 777, 3)
    # Centre crop: a marker in the middle of the photo lands in the middle of the frame.
    photo = np.full((200, 600, 3), 200, np.uint8)
    photo[95:105, 295:305] = (0, 0, 255)
    fitted = fit_background(photo, 200, 200)
    blue = (fitted[:, :, 2] > 150) & (fitted[:, :, 0] < 100)
    ys, xs = np.nonzero(blue)
    assert abs(ys.mean() - 100) < 2 and abs(xs.mean() - 100) < 2


def test_dark_backgrounds_are_lifted_bright_ones_kept() -> None:
    dark = np.full((64, 64, 3), 40, np.uint8)
    dark[::2] = 60
    lifted = match_exposure(dark)
    assert float(np.median(to_lab(lifted)[:, :, 0])) == pytest.approx(55.0, abs=1.5)
    bright = np.full((64, 64, 3), 200, np.uint8)
    assert np.array_equal(match_exposure(bright), bright)
    assert np.array_equal(fit_background(bright, 64, 64), bright)


def test_delta_e76_known_values() -> None:
    black, white = np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)
    assert float(delta_e76(black, white)[0, 0]) == pytest.approx(100.0, abs=0.1)
    assert float(delta_e76(white, white)[0, 0]) == 0.0


def test_bad_mattes_are_rejected() -> None:
    image, alpha, _ = product_scene()
    bg = np.full_like(image, 255)
    cases = [
        (alpha[:-1], BAD_MASK),  # wrong size
        (alpha * 2.0, BAD_MASK),  # out of [0, 1]
        (np.zeros_like(alpha), NO_PRODUCT),  # nothing to place
        ((alpha * 255).astype(np.uint8), BAD_MASK),  # not a float matte
    ]
    for bad, code in cases:
        with pytest.raises(BadInputError) as info:
            composite(image, bad, bg)  # type: ignore[arg-type]
        assert info.value.code == code
    with pytest.raises(BadInputError) as info:
        composite(image, alpha, bg[:-1])
    assert info.value.code == BAD_OPTION

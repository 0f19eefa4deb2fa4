"""adjust: each control does what it says, without clipping or hue shifts; bad values refused."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common.errors import BadInputError
from globalpic_generation.adjust import adjust, check_adjust_options
from globalpic_generation.colour import rgb_to_lab

Rgb = npt.NDArray[np.uint8]


def photo(seed: int = 0) -> Rgb:
    """Colour patches (incl. pure black, pure white, a vivid red), a sharp edge, noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((200, 300, 3), np.float32)
    img[:, :100] = (120, 140, 160)
    img[:, 100:200] = (230, 40, 40)
    img[:, 200:] = (90, 160, 70)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    img[150:, :50] = 0
    img[150:, 50:100] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def lightness(img: Rgb) -> npt.NDArray[np.float32]:
    return rgb_to_lab(img)[..., 0]


def test_all_neutral_is_identity() -> None:
    img = photo()
    assert np.array_equal(adjust(img), img)


def test_brightness_moves_midtones_and_keeps_black_and_white() -> None:
    img = photo()
    brighter = adjust(img, brightness=0.5)
    darker = adjust(img, brightness=-0.5)
    mid = np.s_[:150, :100]
    assert lightness(brighter)[mid].mean() > lightness(img)[mid].mean() + 8
    assert lightness(darker)[mid].mean() < lightness(img)[mid].mean() - 8
    for out in (brighter, darker):
        assert (out[150:, :50] == 0).all() and (out[150:, 50:100] == 255).all()
    # Monotonic: brightening never swaps two tones.
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    up = adjust(ramp, brightness=0.8)[0, :, 0].astype(int)
    assert (np.diff(up) >= 0).all() and up[0] == 0 and up[-1] == 255


def _hue(img: Rgb) -> npt.NDArray[np.float32]:
    lab = rgb_to_lab(img)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def _chroma(img: Rgb) -> npt.NDArray[np.float32]:
    lab = rgb_to_lab(img)
    return np.hypot(lab[..., 1], lab[..., 2])


def test_saturation_scales_chroma_keeps_hue() -> None:
    img = photo()
    grey = adjust(img, saturation=-1.0).astype(int)
    assert np.abs(grey - grey.mean(axis=2, keepdims=True)).max() <= 2
    vivid = adjust(img, saturation=1.0)
    blue_grey = np.s_[:150, :100]
    assert _chroma(vivid)[blue_grey].mean() > 1.4 * _chroma(img)[blue_grey].mean()
    # The red is already near the edge of sRGB: it must not turn orange by clipping.
    red = np.s_[:150, 110:190]
    shift = np.abs(_hue(vivid)[red] - _hue(img)[red])
    assert np.median(shift) < 2.0
    assert _chroma(vivid)[red].mean() >= _chroma(img)[red].mean() - 0.5


def _edge_slope(img: Rgb) -> float:
    """Steepest step across the vertical edge at x = 80, averaged over rows."""
    lum = lightness(img)[:, 70:90]
    return float(np.abs(np.diff(lum, axis=1)).max(axis=1).mean())


def test_detail_sharpens_and_smooths() -> None:
    img = np.full((160, 160, 3), 128, np.uint8)
    img[:, 80:] = 170
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    rng = np.random.default_rng(1)
    noisy = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    sharp = adjust(noisy, detail=1.0)
    assert _edge_slope(sharp) > 1.2 * _edge_slope(noisy)
    # No halo: no dark / bright band along either side of the edge.
    profile = sharp.astype(float).mean(axis=(0, 2))
    assert profile.min() >= 128 - 5 and profile.max() <= 170 + 5
    soft = adjust(noisy, detail=-1.0)
    flat = np.s_[:, :60]
    assert soft[flat].astype(float).std() < 0.7 * noisy[flat].astype(float).std()
    step = float(soft[:, 100:].mean()) - float(soft[:, :60].mean())
    assert step > 0.9 * (170 - 128)  # the edge itself is kept


def test_strength_blends_background_toward_original_keeps_product() -> None:
    remixed = np.full((100, 100, 3), 200, np.uint8)
    original = np.full((100, 100, 3), 40, np.uint8)
    alpha = np.zeros((100, 100), np.float32)
    alpha[30:70, 30:70] = 1.0
    remixed[30:70, 30:70] = (10, 220, 10)
    back = adjust(remixed, strength=0.0, original=original, alpha=alpha)
    assert (back[:20] == 40).all()
    assert (back[35:65, 35:65] == remixed[35:65, 35:65]).all()
    half = adjust(remixed, strength=0.5, original=original, alpha=alpha)
    assert (half[:20] == 120).all()
    assert np.array_equal(adjust(remixed, strength=1.0, original=original, alpha=alpha), remixed)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"brightness": 1.5},
        {"saturation": -1.01},
        {"detail": float("nan")},
        {"strength": 1.2},
        {"strength": 0.5},  # needs the original
    ],
)
def test_out_of_range_is_bad_option(kwargs: dict[str, float]) -> None:
    with pytest.raises(BadInputError) as info:
        adjust(photo(), **kwargs)  # type: ignore[arg-type]
    assert info.value.code == "bad_option"
    with pytest.raises(BadInputError):
        check_adjust_options(**kwargs)  # type: ignore[arg-type]


def test_original_must_match_the_image() -> None:
    with pytest.raises(BadInputError) as info:
        adjust(photo(), strength=0.5, original=photo()[:100])
    assert info.value.code == "bad_option"

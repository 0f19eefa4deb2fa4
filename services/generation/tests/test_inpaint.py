"""Inpainters rebuild masked pixels only, with the texture of their surroundings."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_common.errors import BadInputError
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.inpaint import (
    AutoInpainter,
    OpenCvInpainter,
    PatchMatchInpainter,
    PushPullInpainter,
    regions,
)
from globalpic_generation.registry import build_inpainter
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.texture import texture_energy

ALL_KINDS = ("auto", "opencv", "pushpull", "patchmatch")


def _psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], where: np.ndarray[Any, Any]) -> float:
    diff = a.astype(np.float64)[where] - b.astype(np.float64)[where]
    return float(10 * np.log10(255.0**2 / max(float(np.mean(diff**2)), 1e-9)))


def _block_mask(shape: tuple[int, ...], y0: int, y1: int, x0: int, x1: int) -> np.ndarray[Any, Any]:
    mask = np.zeros(shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_only_masked_pixels_change(kind: str, badge_scene: Any) -> None:
    mask = build_erase_mask(badge_scene.image, [badge_scene.line])
    out = build_inpainter(GenerationSettings(inpainter=kind)).inpaint(badge_scene.image, mask)
    assert out.shape == badge_scene.image.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], badge_scene.image[mask == 0])
    # The badge is gone: the rebuilt area is close to the gradient that was under it.
    assert _psnr(out, badge_scene.clean, mask > 0) > 28.0
    assert _psnr(badge_scene.image, badge_scene.clean, mask > 0) < 15.0


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_empty_mask_is_identity(kind: str, smooth_bg: Any) -> None:
    mask = np.zeros(smooth_bg.shape[:2], np.uint8)
    out = build_inpainter(GenerationSettings(inpainter=kind)).inpaint(smooth_bg, mask)
    assert np.array_equal(out, smooth_bg)
    assert out is not smooth_bg


@pytest.mark.parametrize("kind", ["opencv", "pushpull", "patchmatch"])
def test_fill_carries_the_ring_texture(kind: str, textured_bg: Any) -> None:
    mask = _block_mask(textured_bg.shape, 110, 170, 150, 250)
    damaged = textured_bg.copy()
    damaged[mask > 0] = (230, 30, 30)
    out = build_inpainter(GenerationSettings(inpainter=kind)).inpaint(damaged, mask)
    inner = cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0
    ring = (cv2.dilate(mask, np.ones((21, 21), np.uint8)) > 0) & (mask == 0)
    ratio = texture_energy(out, inner) / texture_energy(out, ring)
    assert 0.75 <= ratio <= 1.25, ratio
    # Grain off: the diffusion fills are a flat smear, which is what the grain is there for.
    if kind != "patchmatch":
        flat = build_inpainter(GenerationSettings(inpainter=kind, grain=False)).inpaint(
            damaged, mask
        )
        assert texture_energy(flat, inner) < 0.5 * texture_energy(flat, ring)


def test_auto_picks_backend_by_size_and_texture(smooth_bg: Any, textured_bg: Any) -> None:
    auto = AutoInpainter()
    big = _block_mask(smooth_bg.shape, 100, 180, 120, 280)
    thin = np.zeros(smooth_bg.shape[:2], np.uint8)
    cv2.line(thin, (100, 240), (300, 240), 255, 5)
    [big_region] = list(regions(big, auto.margin))
    [thin_region] = list(regions(thin, auto.margin))
    assert auto.choose(textured_bg, big_region) == "patchmatch"
    assert auto.choose(smooth_bg, big_region) == "pushpull"
    assert auto.choose(textured_bg, thin_region) == "opencv"
    assert auto.choose(smooth_bg, thin_region) == "opencv"
    planned = auto.plan(textured_bg, np.maximum(big, thin))
    assert sorted(b for _, b in planned) == ["opencv", "patchmatch"]


def test_auto_falls_back_when_patchmatch_budget_is_spent(textured_bg: Any) -> None:
    mask = _block_mask(textured_bg.shape, 100, 180, 120, 280)
    auto = AutoInpainter(GenerationSettings(patchmatch_budget_px=0))
    assert [b for _, b in auto.plan(textured_bg, mask)] == ["pushpull"]


def test_patchmatch_works_on_a_crop_scaled_down(textured_bg: Any) -> None:
    mask = _block_mask(textured_bg.shape, 40, 260, 60, 340)
    pm = PatchMatchInpainter(GenerationSettings(patchmatch_max_px=96 * 96))
    [region] = list(regions(mask, 0))
    assert pm.cost(region, mask) <= 96 * 96
    out = pm.inpaint(textured_bg, mask)
    assert np.array_equal(out[mask == 0], textured_bg[mask == 0])


def test_deterministic(textured_bg: Any) -> None:
    mask = _block_mask(textured_bg.shape, 100, 160, 100, 200)
    for kind in ALL_KINDS:
        inpainter = build_inpainter(GenerationSettings(inpainter=kind))
        assert np.array_equal(
            inpainter.inpaint(textured_bg, mask), inpainter.inpaint(textured_bg, mask)
        )


def test_build_inpainter_follows_settings() -> None:
    assert isinstance(build_inpainter(GenerationSettings(inpainter="opencv")), OpenCvInpainter)
    assert isinstance(build_inpainter(GenerationSettings(inpainter="pushpull")), PushPullInpainter)
    assert isinstance(
        build_inpainter(GenerationSettings(inpainter="patchmatch")), PatchMatchInpainter
    )
    assert isinstance(build_inpainter(), AutoInpainter)
    assert {build_inpainter(GenerationSettings(inpainter=k)).name for k in ALL_KINDS} == set(
        ALL_KINDS
    )


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_GENERATION__INPAINTER", "opencv")
    assert isinstance(build_inpainter(GenerationSettings()), OpenCvInpainter)


def test_bad_inputs(smooth_bg: Any) -> None:
    inpainter = build_inpainter()
    with pytest.raises(BadInputError):
        inpainter.inpaint(smooth_bg, np.zeros((5, 5), np.uint8))
    with pytest.raises(BadInputError):
        inpainter.inpaint(smooth_bg[:, :, 0], np.zeros(smooth_bg.shape[:2], np.uint8))

"""Fine-tuning controls (``globalpic adjust``): brightness, saturation, detail, strength.

Every control is 0 (or ``strength`` 1) for "unchanged", and then the image is returned as is.

- ``strength`` (0..1) blends the remixed background back toward the ``original`` photo; the
  product (``alpha``) keeps the remixed pixels. Applied first, so the tone controls treat
  the blended picture as one.
- ``detail`` (-1..1): > 0 sharpens luminance (edge-aware unsharp mask, ``detail.py``),
  < 0 smooths (bilateral on L*a*b*: flattens texture and noise, keeps edges).
- ``brightness`` (-1..1): a gamma curve on L* (black and white stay put, so nothing clips;
  +1 is gamma 0.5, -1 gamma 2).
- ``saturation`` (-1..1): scales chroma in L*a*b* (hue and lightness kept; -1 is grey);
  boosting is vibrance-like (already saturated colours gain less). Colours pushed out of
  sRGB lose chroma until they fit instead of being clipped per channel.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_generation.colour import lab_to_rgb, rgb_to_lab
from globalpic_generation.detail import sharpen_lightness, smooth_lab

# Sharpen amount at detail = +1 (unsharp-mask gain).
MAX_SHARPEN = 1.5
# Chroma (a*b* length) around which a saturation boost fades: already vivid colours gain less.
VIVID_CHROMA = 90.0


def check_adjust_options(
    *,
    brightness: float = 0.0,
    saturation: float = 0.0,
    detail: float = 0.0,
    strength: float = 1.0,
    has_original: bool = False,
) -> None:
    """Raise ``bad_option`` for values ``adjust`` would refuse (the CLI checks before work)."""
    for name, value, lo in (
        ("brightness", brightness, -1.0),
        ("saturation", saturation, -1.0),
        ("detail", detail, -1.0),
        ("strength", strength, 0.0),
    ):
        if not (math.isfinite(value) and lo <= value <= 1.0):
            raise BadInputError(f"{name} {value} must be in {lo:g}..1", code=errors.BAD_OPTION)
    if strength < 1.0 and not has_original:
        raise BadInputError(
            "strength < 1 blends toward the original photo: give the original",
            code=errors.BAD_OPTION,
        )


def adjust(
    image: ImageArray,
    *,
    brightness: float = 0.0,
    saturation: float = 0.0,
    detail: float = 0.0,
    strength: float = 1.0,
    original: ImageArray | None = None,
    alpha: AlphaArray | None = None,
) -> ImageArray:
    """``image`` with the fine-tuning controls applied (see the module docstring)."""
    check_adjust_options(
        brightness=brightness,
        saturation=saturation,
        detail=detail,
        strength=strength,
        has_original=original is not None,
    )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BadInputError(f"image must be an H x W x 3 uint8 array, got {image.shape}")
    out = image
    if strength < 1.0 and original is not None:
        out = _blend_background(image, original, alpha, strength)
    if detail == 0 and brightness == 0 and saturation == 0:
        return out.copy()

    lab = rgb_to_lab(out)
    if detail < 0:
        lab = smooth_lab(lab, -detail, max(2.0, min(out.shape[:2]) / 400.0))
    lightness = np.ascontiguousarray(lab[..., 0])
    if detail > 0:
        sigma = max(1.0, min(out.shape[:2]) / 1000.0)
        lightness = sharpen_lightness(lightness, MAX_SHARPEN * detail, sigma)
    if brightness != 0:
        gamma = 2.0 ** (-brightness)
        lightness = 100.0 * np.power(np.clip(lightness, 0.0, 100.0) / 100.0, gamma)
    lab[..., 0] = lightness
    if saturation != 0:
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        if saturation > 0:
            gain = 1.0 + saturation * np.clip(1.0 - chroma / VIVID_CHROMA, 0.0, 1.0)
        else:
            gain = np.full_like(chroma, 1.0 + saturation)
        lab[..., 1] *= gain
        lab[..., 2] *= gain
    return lab_to_rgb(lab)


def _blend_background(
    image: ImageArray, original: ImageArray, alpha: AlphaArray | None, strength: float
) -> ImageArray:
    """Background toward ``original`` by ``1 - strength``; the product (alpha) stays."""
    if original.shape != image.shape or original.dtype != np.uint8:
        raise BadInputError(
            f"original is {original.shape[1]}x{original.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}",
            code=errors.BAD_OPTION,
        )
    weight = np.full(image.shape[:2], strength, np.float32)  # share of the remixed image
    if alpha is not None:
        if alpha.shape != image.shape[:2]:
            raise BadInputError("alpha size differs from the image", code=errors.BAD_MASK)
        product = np.clip(alpha.astype(np.float32), 0.0, 1.0)
        # A slightly blurred alpha: the seam between kept product and blended background.
        product = np.asarray(cv2.GaussianBlur(product, (0, 0), 1.0), np.float32)
        weight = weight + (1.0 - weight) * np.maximum(product, (alpha >= 0.5).astype(np.float32))
    w = weight[:, :, None]
    mixed = w * image.astype(np.float32) + (1.0 - w) * original.astype(np.float32)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)

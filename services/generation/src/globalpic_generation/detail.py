"""Detail: sharpening and smoothing of luminance, without halos or amplified noise.

Sharpening works on L* only: sharpening colour channels adds colour fringes at edges. It
is an unsharp mask with two guards that make it edge-aware: coring (differences smaller
than the noise threshold are boosted less, so sensor grain and JPEG blocks are not
amplified) and an overshoot clamp (the result may pass the local minimum / maximum by only
a little, so no bright or dark halo lines run along edges). Smoothing is a bilateral filter
on L*a*b*: it flattens texture and noise (luminance and chroma) but keeps edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from globalpic_common.interfaces import ImageArray
from globalpic_generation.colour import FloatImage, lab_to_rgb, rgb_to_lab

# L* units (0..100): differences below ~this are grain, not detail.
CORING_L = 1.5
# How far (L* units) a sharpened pixel may go past its 3x3 neighbourhood's range.
OVERSHOOT_L = 2.0
# Bilateral filter: L* differences well above this are edges and are kept.
SMOOTH_RANGE_L = 8.0


def sharpen_lightness(lightness: FloatImage, amount: float, sigma: float = 1.0) -> FloatImage:
    """Unsharp mask of an L* plane (H x W float32) with coring and an overshoot clamp."""
    if amount <= 0:
        return lightness
    blurred = cv2.GaussianBlur(lightness, (0, 0), sigma)
    high = lightness - blurred
    # Coring: full gain from ~2x the threshold up, a smooth roll-off below it.
    gain = amount * (1.0 - np.exp(-((high / CORING_L) ** 2)))
    sharp = lightness + gain * high
    kernel = np.ones((3, 3), np.uint8)
    lo = np.asarray(cv2.erode(lightness, kernel), np.float32) - OVERSHOOT_L
    hi = np.asarray(cv2.dilate(lightness, kernel), np.float32) + OVERSHOOT_L
    return np.asarray(np.clip(sharp, lo, hi), np.float32)


def smooth_lab(lab: FloatImage, amount: float, sigma: float = 2.0) -> FloatImage:
    """Blend an L*a*b* image toward its bilateral-filtered version (``amount`` in [0, 1]).

    All three channels: camera noise is largely chroma noise. The filter's range term is the
    L*a*b* distance, so edges between different colours are kept."""
    if amount <= 0:
        return lab
    filtered = cv2.bilateralFilter(np.ascontiguousarray(lab), 0, SMOOTH_RANGE_L, sigma)
    return np.asarray(lab + min(amount, 1.0) * (filtered - lab), np.float32)


def sharpen(image: ImageArray, amount: float, sigma: float = 1.0) -> ImageArray:
    """``image`` with its luminance sharpened (``amount`` ~0.3 mild .. 1.5 strong)."""
    if amount <= 0:
        return image
    lab = rgb_to_lab(image)
    lab[..., 0] = sharpen_lightness(np.ascontiguousarray(lab[..., 0]), amount, sigma)
    return lab_to_rgb(lab)

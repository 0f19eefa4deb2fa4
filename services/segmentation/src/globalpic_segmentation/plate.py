"""A clean background plate: what the background most likely looks like behind the product.

Product photos are shot on smooth backdrops (sweeps, gradients, blurred rooms, even textures),
so the background behind the product is well predicted by interpolating the background around
it. The plate is normalised convolution (Gaussian-weighted mean of the known background) at
the finest scale that reaches each pixel. Comparing the photo with the plate tells background
seen *through* the product (a tape roll's hole, the gaps between a stool's legs) from the
product itself, which the coarse network map cannot: it fills such gaps with confident product.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]

# Gaussian scales (px at the working resolution), finest first.
PLATE_SIGMAS = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
# Blurs wider than this run on a shrunk grid.
FINE_SIGMA = 4.0
# A pixel takes the finest scale at which at least this much Gaussian weight is known.
PLATE_MIN_WEIGHT = 0.25


def _blur(values: F32, sigma: float) -> F32:
    """Gaussian blur; wide ones on a grid shrunk so the kernel stays 4 px (same result, ~free)."""
    if sigma <= FINE_SIGMA:
        return np.asarray(cv2.GaussianBlur(values, (0, 0), sigma), np.float32)
    height, width = values.shape[:2]
    factor = sigma / FINE_SIGMA
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(values, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), FINE_SIGMA)
    return np.asarray(
        cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )


def background_plate(rgb: F32, known: BoolMask) -> F32:
    """The Gaussian-weighted mean of the ``known`` pixels around each pixel, known ones too.

    Known pixels get their own smoothed neighbourhood, not their exact colour, so the plate's
    error on known background measures the texture it cannot predict.
    """
    weight = known.astype(np.float32)
    plate = np.zeros_like(rgb)
    done = np.zeros(known.shape, bool)
    for sigma in PLATE_SIGMAS:
        num = _blur(rgb * weight[..., None], sigma)
        den = _blur(weight, sigma)
        fill = (den > PLATE_MIN_WEIGHT) & ~done
        plate[fill] = num[fill] / den[fill][:, None]
        done |= fill
    if not done.all():
        fallback = rgb[known].mean(axis=0) if known.any() else rgb.reshape(-1, 3).mean(axis=0)
        plate[~done] = fallback
    return plate


def colour_distance(rgb: F32, plate: F32) -> F32:
    """Euclidean RGB distance (0-255 units) of each pixel from the plate."""
    return np.asarray(np.linalg.norm(rgb - plate, axis=2), np.float32)


def prediction_error(rgb: F32, known: BoolMask, probe: BoolMask) -> float | None:
    """Median plate error on ``probe`` pixels when they are predicted from ``known`` alone.

    How well the plate will predict the hidden background: small on sweeps and gradients,
    large on busy scenes (then keying must not be trusted). None when either set is empty.
    """
    if not probe.any() or not known.any():
        return None
    plate = background_plate(rgb, known & ~probe)
    return float(np.median(colour_distance(rgb, plate)[probe]))

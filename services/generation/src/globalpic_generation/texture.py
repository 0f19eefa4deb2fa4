"""Texture energy, and grain that gives smooth (diffusion) fills the texture of their ring.

A diffusion fill (OpenCV's Telea / Navier-Stokes, push-pull) is smooth: on a grainy or
textured surface it reads as a flat smear. We measure the texture energy (mean squared
luminance gradient) of the ring around a rebuilt region and of the fill, and add seeded,
slightly blurred luminance noise until the fill carries the ring's energy.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray

BoolMask = npt.NDArray[np.bool_]

# Gradient energies above this percentile are edges (an object's outline crossing the
# ring), not texture: leave them out so one edge does not turn the fill into noise.
EDGE_PERCENTILE = 90.0
# Blur of the grain (px): camera grain is not white noise, it is correlated over ~1-2 px.
GRAIN_BLUR = 0.8
# Never add grain stronger than this (std, levels): beyond it, the ring is structure, not
# grain, and noise would not imitate it.
MAX_GRAIN_STD = 18.0


def luminance(image: ImageArray) -> npt.NDArray[np.float32]:
    lum = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.asarray(lum, np.float32)


def gradient_energy_map(lum: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Squared Sobel gradient magnitude (scaled to levels^2 per pixel)."""
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.asarray(gx * gx + gy * gy, np.float32)


def texture_energy(image: ImageArray, region: BoolMask) -> float:
    """Mean squared luminance gradient over ``region``, edges (top decile) left out."""
    if not region.any():
        return 0.0
    return _trimmed_mean(gradient_energy_map(luminance(image))[region])


def _trimmed_mean(energy: npt.NDArray[np.float32]) -> float:
    cut = float(np.percentile(energy, EDGE_PERCENTILE))
    kept = energy[energy <= cut]
    return float(kept.mean()) if kept.size else 0.0


def add_grain(
    image: ImageArray,
    filled: BoolMask,
    ring: BoolMask,
    rng: np.random.Generator,
) -> ImageArray:
    """``image`` with grain added inside ``filled`` so its texture energy matches ``ring``'s.

    Only pixels of ``filled`` change. The energy of independent noise adds to the fill's, so
    the grain gets exactly the missing energy (never negative: a fill already as textured as
    its ring is left alone).
    """
    if not filled.any() or not ring.any():
        return image
    target = texture_energy(image, ring)
    # The fill's own energy, measured away from its border (the seam is not texture).
    core = cv2.erode(filled.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    current = texture_energy(image, core if core.any() else filled)
    missing = target - current
    if missing <= 0.5:
        return image
    ys, xs = np.nonzero(filled)
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    noise = rng.standard_normal((y1 - y0 + 4, x1 - x0 + 4)).astype(np.float32)
    noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), GRAIN_BLUR), np.float32)[2:-2, 2:-2]
    # Energy of the noise per unit gain^2, measured the way the target was (edges trimmed).
    unit = _trimmed_mean(gradient_energy_map(noise)[filled[y0:y1, x0:x1]])
    gain = float(np.sqrt(missing / max(unit, 1e-6)))
    gain = min(gain, MAX_GRAIN_STD / max(float(noise.std()), 1e-6))
    out = image.copy()
    box = out[y0:y1, x0:x1].astype(np.float32)
    sub = filled[y0:y1, x0:x1]
    box[sub] += (gain * noise[sub])[:, None]
    out[y0:y1, x0:x1] = np.clip(np.round(box), 0, 255).astype(np.uint8)
    return out

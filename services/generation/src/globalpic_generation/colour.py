"""CIELAB round trips for tone and colour edits that must not clip.

Edits (brightness, saturation, sharpening) work on L*a*b*: lightness and chroma are separate
there, so a brighter or more saturated pixel keeps its hue. An edited colour can leave the
sRGB gamut; clipping each channel then shifts its hue (a saturated red turns orange). The
way back to RGB therefore pulls such pixels' chroma in, at their lightness and hue, until
they fit.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray

FloatImage = npt.NDArray[np.float32]

# Bisection steps on the chroma factor: 2^-10 of a colour's chroma is below one RGB level.
_GAMUT_STEPS = 10
# Channel values this far outside [0, 1] are rounding noise of the conversion, not clipping.
_GAMUT_SLACK = 0.5 / 255.0


def rgb_to_lab(image: ImageArray) -> FloatImage:
    """uint8 sRGB -> float32 L*a*b* (L in 0..100, a/b roughly -128..127)."""
    rgb = image.astype(np.float32) / 255.0
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab), np.float32)


def _lab_to_rgb_float(lab: FloatImage) -> FloatImage:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(lab), cv2.COLOR_Lab2RGB), np.float32)


def lab_to_rgb(lab: FloatImage, *, keep_hue: bool = True) -> ImageArray:
    """float32 L*a*b* -> uint8 sRGB; out-of-gamut colours lose chroma (hue and lightness
    kept) when ``keep_hue``, otherwise each channel is clipped."""
    lab = lab.copy()
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
    rgb = _lab_to_rgb_float(lab)
    if keep_hue:
        out = _out_of_gamut(rgb)
        if out.any():
            rgb[out] = _fit_chroma(lab[out])
    return np.asarray(np.clip(np.round(rgb * 255.0), 0, 255), np.uint8)


def _out_of_gamut(rgb: FloatImage) -> npt.NDArray[np.bool_]:
    return np.asarray(((rgb < -_GAMUT_SLACK) | (rgb > 1.0 + _GAMUT_SLACK)).any(axis=-1))


def _fit_chroma(lab: FloatImage) -> FloatImage:
    """N x 3 L*a*b* colours -> their RGB at the largest chroma factor in [0, 1] that fits."""
    pixels = lab.reshape(-1, 1, 3)
    lo = np.zeros((pixels.shape[0], 1, 1), np.float32)  # chroma 0 (grey) always fits
    hi = np.ones_like(lo)
    for _ in range(_GAMUT_STEPS):
        mid = (lo + hi) / 2.0
        trial = pixels.copy()
        trial[..., 1:] *= mid
        fits = ~_out_of_gamut(_lab_to_rgb_float(trial))[..., None]
        lo = np.where(fits, mid, lo)
        hi = np.where(fits, hi, mid)
    best = pixels.copy()
    best[..., 1:] *= lo
    return _lab_to_rgb_float(best).reshape(-1, 3)

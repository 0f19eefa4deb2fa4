"""Perceptual colour difference: CIE76 ΔE*ab, the Euclidean distance in CIELAB (D65).

CIE76 rather than CIEDE2000: it needs nothing beyond OpenCV's Lab conversion, and it is
the stricter of the two on saturated colours (CIEDE2000 compresses chroma differences
there), so a halo that passes in CIE76 passes in CIEDE2000 too. 1 ΔE is about the smallest
difference a viewer notices side by side; halos under ~3 are hard to see.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray

F32 = npt.NDArray[np.float32]


def to_lab(image: ImageArray) -> F32:
    """uint8 sRGB (... x 3) -> float32 L*a*b* (L in 0..100)."""
    rgb = np.ascontiguousarray(image, np.float32).reshape(-1, 1, 3) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return np.asarray(lab, np.float32).reshape(image.shape)


def delta_e76(a: ImageArray, b: ImageArray) -> F32:
    """Per-pixel ΔE*ab between two uint8 RGB images (or pixel lists) of the same shape."""
    if a.shape != b.shape or a.shape[-1] != 3:
        raise ValueError(f"need two ... x 3 arrays of one shape, got {a.shape} and {b.shape}")
    diff = to_lab(a) - to_lab(b)
    return np.asarray(np.sqrt((diff * diff).sum(axis=-1)), np.float32)

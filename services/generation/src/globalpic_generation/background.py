"""Smooth estimates of what lies under a region, from the pixels around it (push-pull)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]


def push_pull_fill(values: FloatImage, known: FloatImage) -> FloatImage:
    """Fill where ``known`` is 0 with a smooth interpolation of the known ``values``.

    ``values`` is H x W x C float32, ``known`` H x W float32 weights in [0, 1]. The classic
    push-pull scheme (Gortler et al., "The Lumigraph"): average the weighted values down a
    pyramid until every cell has support, then blend back up, each level keeping what it knows
    and taking the rest from the coarser level. Linear in the pixel count whatever the hole
    size, and exact on known pixels.
    """
    if values.ndim != 3:
        raise ValueError("values must be H x W x C")
    w = np.clip(known, 0.0, 1.0).astype(np.float32)
    v = values * w[:, :, None]
    levels: list[tuple[FloatImage, FloatImage]] = []
    while float(w.min()) <= 1e-6 and min(w.shape) > 1:
        levels.append((v, w))
        size = (max(1, (w.shape[1] + 1) // 2), max(1, (w.shape[0] + 1) // 2))
        v = _resize3(v, size, cv2.INTER_AREA)
        w = np.asarray(cv2.resize(w, size, interpolation=cv2.INTER_AREA), np.float32)
    if float(w.max()) <= 1e-6:
        return values.copy()  # nothing known at all: nothing to interpolate from
    safe = np.maximum(w, 1e-6)[:, :, None]
    est: FloatImage = np.asarray(v / safe, np.float32)
    if float(w.min()) <= 1e-6:
        # A 1-pixel-wide strip can stop shrinking with holes left: use the known mean there.
        mean = v.reshape(-1, v.shape[2]).sum(axis=0) / max(float(w.sum()), 1e-6)
        est = np.where(w[:, :, None] > 1e-6, est, mean[None, None, :]).astype(np.float32)
    for lv, lw in reversed(levels):
        up = _resize3(est, (lw.shape[1], lw.shape[0]), cv2.INTER_LINEAR)
        est = (lv + (1.0 - lw)[:, :, None] * up).astype(np.float32)
    return est


def _resize3(img: FloatImage, size: tuple[int, int], interpolation: int) -> FloatImage:
    out = cv2.resize(img, size, interpolation=interpolation)
    if out.ndim == 2:  # OpenCV drops a trailing channel axis of length 1
        out = out[:, :, None]
    return np.asarray(out, dtype=np.float32)

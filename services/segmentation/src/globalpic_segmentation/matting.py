"""Soft alpha in a thin uncertain band: closed-form matting (Levin et al. 2008, ``pymatting``).

Only the band around the product's edge is unknown, so the image is cut into overlapping
tiles and only tiles that hold unknown pixels are solved; each tile is a small sparse system
and the cost follows the length of the edge, not the image size. Tiles overlap and are blended
with weights that fall to zero at their borders, where each tile's problem is cut off.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray

F32 = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]

TILE = 128
OVERLAP = 32
# Closed-form matting regulariser: small keeps edges crisp where the colours allow.
EPSILON = 1e-6
MAX_CG_ITERATIONS = 300


def warm_up() -> None:
    """Import pymatting (numba, about a second) ahead of the first image."""
    import pymatting  # type: ignore[import-untyped]  # noqa: F401


def band_trimap(guess: F32, band_px: int, also_unknown: BoolMask | None = None) -> tuple[
    BoolMask, BoolMask
]:  # fmt: skip
    """(sure foreground, sure background): ``guess >= 0.5`` eroded / dilated by ``band_px``.

    A part thinner than the band (a chair leg, a strap; a narrow gap between two legs) would
    lose every sure pixel to the erosion, and matting, with nothing to anchor it, lets it
    fade into the other side. Such parts (what an opening by the band removes) keep their
    middle as sure: the pixels more than one pixel inside their edge.
    """
    hard = (guess >= 0.5).astype(np.uint8)
    fg = _sure_side(hard, band_px)
    bg = _sure_side(1 - hard, band_px)
    if also_unknown is not None:
        fg &= ~also_unknown
        bg &= ~also_unknown
    return fg, bg


def _sure_side(side: npt.NDArray[np.uint8], band_px: int) -> BoolMask:
    """``side`` eroded by ``band_px``, and its parts thinner than that eroded by 1 px only."""
    size = 2 * max(1, band_px) + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    deep = np.asarray(cv2.erode(side, disk), np.uint8) > 0
    thin = (side > 0) & (np.asarray(cv2.dilate(deep.astype(np.uint8), disk), np.uint8) == 0)
    core = np.asarray(cv2.erode(side, np.ones((3, 3), np.uint8)), np.uint8) > 0
    return np.asarray(deep | (thin & core), np.bool_)


def _tile_weight(h: int, w: int) -> F32:
    """A tent that is 1 in the middle and falls to ~0 at the tile's borders."""
    ramp_y = np.minimum(np.arange(h) + 1, np.arange(h)[::-1] + 1).astype(np.float32)
    ramp_x = np.minimum(np.arange(w) + 1, np.arange(w)[::-1] + 1).astype(np.float32)
    return np.minimum(ramp_y[:, None], ramp_x[None, :]).astype(np.float32)


def matte_band(rgb: ImageArray, guess: F32, sure_fg: BoolMask, sure_bg: BoolMask) -> F32:
    """Alpha: 1 on ``sure_fg``, 0 on ``sure_bg``, closed-form matting elsewhere.

    ``guess`` (soft, in [0, 1]) stands in where a tile cannot be solved (it holds no sure
    foreground or no sure background) and pins unknown pixels on a tile's border.
    """
    from pymatting import estimate_alpha_cf

    height, width = guess.shape
    unknown = ~(sure_fg | sure_bg)
    out = np.where(sure_fg, 1.0, 0.0).astype(np.float32)
    ys, xs = np.nonzero(unknown)
    if ys.size == 0:
        return out
    image = rgb.astype(np.float64) / 255.0
    acc = np.zeros((height, width), np.float32)
    weight_sum = np.zeros((height, width), np.float32)
    step = TILE - OVERLAP
    for ty in range(int(ys.min()) // step * step, int(ys.max()) + 1, step):
        for tx in range(int(xs.min()) // step * step, int(xs.max()) + 1, step):
            y1, x1 = min(height, ty + TILE), min(width, tx + TILE)
            tile_unknown = unknown[ty:y1, tx:x1]
            if not tile_unknown.any():
                continue
            tile_guess = guess[ty:y1, tx:x1]
            trimap = np.where(sure_fg[ty:y1, tx:x1], 1.0, 0.0)
            trimap[tile_unknown] = 0.5
            border = np.zeros_like(tile_unknown)
            border[[0, -1], :] = True
            border[:, [0, -1]] = True
            pinned = border & tile_unknown
            trimap[pinned] = tile_guess[pinned] >= 0.5
            solvable = (trimap == 1.0).any() and (trimap == 0.0).any() and (trimap == 0.5).any()
            if solvable:
                alpha = estimate_alpha_cf(
                    image[ty:y1, tx:x1],
                    trimap,
                    laplacian_kwargs={"epsilon": EPSILON},
                    cg_kwargs={"maxiter": MAX_CG_ITERATIONS},
                )
                tile_alpha = np.asarray(alpha, np.float32)
            else:
                tile_alpha = tile_guess.astype(np.float32)
            tile_w = _tile_weight(y1 - ty, x1 - tx)
            acc[ty:y1, tx:x1] += tile_alpha * tile_w
            weight_sum[ty:y1, tx:x1] += tile_w
    solved = unknown & (weight_sum > 0)
    out[solved] = acc[solved] / weight_sum[solved]
    left = unknown & ~solved
    out[left] = guess[left]
    return np.clip(out, 0.0, 1.0).astype(np.float32)

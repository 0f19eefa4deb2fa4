"""Product-side fill: rebuild the part of a hole that lies on the product from product pixels.

A fill that reads pixels across the product's outline paints the background into the product
(white haze on a red T-shirt, wood grain on a can). Here only product pixels are a source,
and the fill continues the product's structure rather than blending toward a mean colour.
Candidates, each from product pixels only:

- rows: along each row of the hole, a linear ramp between the nearest product pixels on
  both sides, never across a pixel that is neither product nor hole (horizontal label
  bands and stripes continue, a cylinder's shading is ramped across);
- columns: the same along columns (vertical shading, vertical stripes);
- mix: rows and columns weighted by 1 / span^2 (the shorter ramp is the surer one);
- separable: ``log v = a(y) + b(x)`` fitted around the hole plus a membrane residual: a
  label band under a cylinder's shading continues even where only one end of it shows;
- membrane: push-pull from product pixels.

The candidate that best rebuilds a band of known product pixels around the hole, hidden
for the test, is kept; the caller adds grain matched to the product ring
(``texture.add_grain``). End points are read from a product-only normalized blur, so one
noisy pixel does not make a streak.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_generation.background import push_pull_fill

BoolMask = npt.NDArray[np.bool_]
FloatImage = npt.NDArray[np.float32]

# Known product pixels this far (px) from the hole are hidden to score the candidates.
TEST_BAND_PX = 6
# Blur (px) of the product-only end-point estimates.
END_SIGMA = 1.5
# A ramp with one end only (it meets the hole's outline) is this much less sure.
CARRY_PENALTY = 3.0
# Target pixels closer than this (px) are rebuilt together, on their box plus a margin.
CLUSTER_GAP_PX = 9
LOCAL_MARGIN_PX = 28
# Offset of the log domain of the cross fill (levels): keeps dark pixels' ratios sane.
LOG_OFFSET = 8.0
# Alternating least-squares rounds of the separable fit (it converges in a few).
SEPARABLE_ROUNDS = 4


def product_blur(values: FloatImage, source: BoolMask, sigma: float = END_SIGMA) -> FloatImage:
    """Gaussian blur of ``values`` over ``source`` pixels only (normalized convolution)."""
    w = source.astype(np.float32)
    num = cv2.GaussianBlur(values * w[:, :, None], (0, 0), sigma)
    den = cv2.GaussianBlur(w, (0, 0), sigma)[:, :, None]
    blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), values)
    return np.asarray(blurred, np.float32)


def _nearest_along_rows(
    source: BoolMask, passable: BoolMask
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Per pixel, the column of the nearest ``source`` pixel to its left in the same row
    with only ``passable`` pixels between, and whether there is one."""
    h, w = source.shape
    idx = np.broadcast_to(np.arange(w), (h, w))
    last_src = np.maximum.accumulate(np.where(source, idx, -1), axis=1)
    last_block = np.maximum.accumulate(np.where(~passable & ~source, idx, -1), axis=1)
    return last_src, last_src > last_block


def interpolate_rows(
    values: FloatImage, source: BoolMask, target: BoolMask
) -> tuple[FloatImage, FloatImage]:
    """``target`` pixels as a ramp along their row between the nearest ``source`` pixels on
    each side (reached through ``target`` pixels only), and the ramp's span (px). Where
    one side has none, the other side's value is carried, its span counted as
    ``CARRY_PENALTY`` times the distance; where neither side has one: NaN, infinite span."""
    w = source.shape[1]
    left, has_left = _nearest_along_rows(source, target)
    rl, rhas = _nearest_along_rows(source[:, ::-1], target[:, ::-1])
    ys, xs = np.nonzero(target)
    lo, hi = left[ys, xs], (w - 1 - rl[:, ::-1])[ys, xs]
    has_lo, has_hi = has_left[ys, xs], rhas[:, ::-1][ys, xs]
    vl = values[ys, np.clip(lo, 0, w - 1)]
    vr = values[ys, np.clip(hi, 0, w - 1)]
    both = has_lo & has_hi
    t = (np.clip((xs - lo) / np.maximum(hi - lo, 1), 0.0, 1.0)[:, None]).astype(np.float32)
    ramp = np.where(both[:, None], vl + t * (vr - vl), np.where(has_lo[:, None], vl, vr))
    some = has_lo | has_hi
    ramp[~some] = np.nan
    carry = CARRY_PENALTY * np.where(has_lo, xs - lo, hi - xs)
    span = np.where(both, hi - lo, carry).astype(np.float32)
    filled = values.copy()
    filled[ys, xs] = ramp
    spans = np.full(source.shape, np.inf, np.float32)
    spans[ys, xs] = np.where(some, np.maximum(span, 1.0), np.inf)
    return filled, spans


def _columns(
    values: FloatImage, source: BoolMask, target: BoolMask
) -> tuple[FloatImage, FloatImage]:
    filled, span = interpolate_rows(
        np.ascontiguousarray(values.transpose(1, 0, 2)),
        np.ascontiguousarray(source.T),
        np.ascontiguousarray(target.T),
    )
    return np.ascontiguousarray(filled.transpose(1, 0, 2)), np.ascontiguousarray(span.T)


def _fill_line(values: npt.NDArray[np.float32], known: npt.NDArray[np.bool_]) -> None:
    """Linear interpolation (in place, along axis 0) of the rows of ``values`` not known
    (none known: nothing to interpolate from, ``values`` stay as they are)."""
    if not known.any():
        return
    idx = np.arange(len(values))
    for c in range(values.shape[1]):
        values[~known, c] = np.interp(idx[~known], idx[known], values[known, c])


def separable_fill(values: FloatImage, source: BoolMask, target: BoolMask) -> FloatImage:
    """Separable continuation: ``log v(x, y) = a(y) + b(x) + r(x, y)``, with ``a`` and ``b``
    fitted to the source pixels (weighted toward the hole) and the residual ``r`` filled as
    a membrane. Exact on ``a(y) * b(x)`` surfaces: a label band (colour along y) under a
    cylinder's shading (along x) continues across the hole even where only one side of it
    shows, and so do stripes along either axis."""
    logv = np.log(np.maximum(values, 0.0) + LOG_OFFSET).astype(np.float32)
    dist = cv2.distanceTransform((~target).astype(np.uint8), cv2.DIST_L2, 3)
    scale = max(8.0, 2.0 * float(cv2.distanceTransform(np.pad(target, 1).astype(np.uint8),
                                                         cv2.DIST_L2, 3).max()))  # fmt: skip
    wts = np.where(source, np.exp(-dist / scale), 0.0).astype(np.float32)
    row_w, col_w = wts.sum(axis=1), wts.sum(axis=0)
    row_ok, col_ok = row_w > 1e-6, col_w > 1e-6
    # Weighted sums of log v per row and per column, once; each round is then two matmuls.
    row_sum = np.einsum("yx,yxc->yc", wts, logv)
    col_sum = np.einsum("yx,yxc->xc", wts, logv)
    a = np.zeros((logv.shape[0], 3), np.float32)
    b = np.zeros((logv.shape[1], 3), np.float32)
    for _ in range(SEPARABLE_ROUNDS):
        a[row_ok] = ((row_sum - wts @ b)[row_ok]) / row_w[row_ok, None]
        b[col_ok] = ((col_sum - wts.T @ a)[col_ok]) / col_w[col_ok, None]
    _fill_line(a, row_ok)
    _fill_line(b, col_ok)
    model = a[:, None, :] + b[None, :, :]
    resid = np.asarray(logv - model, np.float32)
    resid_filled = push_pull_fill(resid, source.astype(np.float32))
    est = np.exp(model + resid_filled) - LOG_OFFSET
    return np.asarray(np.where(target[:, :, None], np.clip(est, 0, 255), values), np.float32)


def _candidates(values: FloatImage, source: BoolMask, target: BoolMask) -> list[FloatImage]:
    """Rows, columns, their span-weighted mix, separable, membrane (NaN-free, ``target``
    filled)."""
    ends = product_blur(values, source)
    membrane = push_pull_fill(ends, source.astype(np.float32))
    rows, span_r = interpolate_rows(ends, source, target)
    cols, span_c = _columns(ends, source, target)
    # The shorter ramp is the surer one: weights 1 / span^2 (0 where a direction has none).
    wr = (1.0 / span_r**2)[:, :, None]
    wc = (1.0 / span_c**2)[:, :, None]
    total = wr + wc
    mix = np.where(
        total > 0,
        (np.nan_to_num(rows) * wr + np.nan_to_num(cols) * wc) / np.maximum(total, 1e-12),
        membrane,
    )
    cross = separable_fill(ends, source, target)
    out = [rows, cols, mix, cross]
    out = [np.where(np.isnan(c), mix, c) for c in out]
    return [np.asarray(c, np.float32) for c in (*out, membrane)]


def choose(values: FloatImage, source: BoolMask, target: BoolMask) -> int:
    """Index of the candidate (rows, columns, mix, separable, membrane) that best rebuilds
    a band of known product pixels hidden around the hole (mean squared error)."""
    grown = cv2.dilate(target.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=TEST_BAND_PX)
    band = (grown > 0) & source
    if int(band.sum()) < 8:
        return 3
    truth = product_blur(values, source)[band]
    errors = [
        float(np.mean((c[band] - truth) ** 2))
        for c in _candidates(values, source & ~band, target | band)
    ]
    return int(np.argmin(errors))


def fill_product(values: FloatImage, source: BoolMask, target: BoolMask) -> FloatImage:
    """``values`` (H x W x 3 float32) with ``target`` rebuilt from ``source`` pixels only.

    Each cluster of target pixels (closer than ``CLUSTER_GAP_PX``) is rebuilt on its own
    box plus ``LOCAL_MARGIN_PX``: the fit stays local (a tiled watermark's group of regions
    spans the frame) and the cost follows the hole, not the group's extent."""
    if not target.any():
        return values
    if not source.any():
        raise ValueError("no product pixels to rebuild the product from")
    out = values.copy()
    h, w = target.shape
    # Clusters with no product pixel near them, rebuilt together from the whole crop.
    far = np.zeros_like(target)
    joined = cv2.dilate(target.astype(np.uint8), np.ones((CLUSTER_GAP_PX,) * 2, np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        y0, y1 = max(0, y - LOCAL_MARGIN_PX), min(h, y + bh + LOCAL_MARGIN_PX)
        x0, x1 = max(0, x - LOCAL_MARGIN_PX), min(w, x + bw + LOCAL_MARGIN_PX)
        box = (slice(y0, y1), slice(x0, x1))
        part = target[box] & (labels[box] == i)
        src = source[box]
        if not src.any():
            far[box] |= part
            continue
        vals = np.ascontiguousarray(values[box])
        filled = _candidates(vals, src, part)[choose(vals, src, part)]
        out[box][part] = filled[part]
    if far.any():
        out[far] = _candidates(values, source, far)[choose(values, source, far)][far]
    if np.isnan(out[target]).any():  # pragma: no cover - every candidate falls back
        raise ValueError("product fill left pixels undefined")
    return out

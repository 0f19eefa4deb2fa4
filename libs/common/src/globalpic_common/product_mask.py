"""What counts as product in a matte: the threshold, the specks left out, the product box and
the share of a frame it fills.

Shared by generation's canvas fit (where the product goes in a frame) and segmentation's
marketplace rules (does it fill the frame): one definition, no service importing the
other's. numpy only, so a process without an image library (the orchestrator) may use it.

The 8-connected parts are found on the mask's row runs (a union-find over runs, vectorised),
with OpenCV's ``connectedComponentsWithStats`` results: the same parts, and where only specks
exist the same one chosen among equal largest (OpenCV numbers parts by their first 2 x 2
block in raster order, and so does the tie-break here).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)

PRODUCT_THRESHOLD = 0.5
# Mask components smaller than this share of the image are segmentation noise, not product
# (a real detached part, a cable end or a second shoe, is far larger).
SPECK_SHARE = 0.0005


def _runs(binary: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], ...]:
    """Row runs of True: (row, start, end) each, end exclusive, in raster order."""
    h, w = binary.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = binary
    step = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    rows, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)
    return rows, starts, ends


def _run_parts(
    rows: npt.NDArray[np.intp], starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp], w: int
) -> npt.NDArray[np.intp]:
    """Per run, the smallest run index of its 8-connected part."""
    n = rows.size
    # Run a (row r) touches run b (row r + 1) when b starts at or before a's end (exclusive,
    # so one past: the diagonal) and ends after a's start minus one. Runs are in raster order,
    # so a row's starts and ends are sorted and row-offset keys sort globally.
    stride = w + 2
    start_key = rows * stride + starts
    end_key = rows * stride + ends
    first = np.searchsorted(end_key, (rows + 1) * stride + starts, side="left")
    last = np.searchsorted(start_key, (rows + 1) * stride + ends, side="right")
    count = np.maximum(last - first, 0)
    a = np.repeat(np.arange(n), count)
    offsets = np.arange(a.size) - np.repeat(np.cumsum(count) - count, count)
    b = np.repeat(first, count) + offsets
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        low = np.minimum(pa, pb)
        hooked = parent.copy()
        np.minimum.at(hooked, pa, low)
        np.minimum.at(hooked, pb, low)
        while True:  # point every run straight at its root
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, parent):
            return parent
        parent = hooked


def product_parts(mask: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    """The product pixels (mask > 0) without segmentation specks."""
    binary = np.asarray(mask) > 0
    if not binary.any():
        return binary
    h, w = binary.shape
    rows, starts, ends = _runs(binary)
    root = _run_parts(rows, starts, ends, w)
    lengths = ends - starts
    area = np.bincount(root, weights=lengths, minlength=rows.size)
    min_area = max(1, SPECK_SHARE * binary.size)
    kept = (area >= min_area) & (np.arange(rows.size) == root)
    if not kept.any():  # only specks: the largest of them is all we have
        roots = np.flatnonzero(np.arange(rows.size) == root)
        largest = roots[area[roots] == area[roots].max()]
        if largest.size > 1:
            # Among equal largest, OpenCV's first label: the part whose first 2 x 2 block
            # comes first in raster order of blocks.
            block = (rows // 2) * ((w + 1) // 2) + starts // 2
            first_block = np.full(rows.size, np.iinfo(np.intp).max)
            np.minimum.at(first_block, root, block)
            largest = largest[[int(np.argmin(first_block[largest]))]]
        kept = np.zeros(rows.size, bool)
        kept[largest] = True
    on = kept[root]
    edges = np.zeros((h, w + 1), np.int32)
    np.add.at(edges, (rows[on], starts[on]), 1)
    np.add.at(edges, (rows[on], ends[on]), -1)
    return np.asarray(np.cumsum(edges, axis=1)[:, :w] > 0)


def product_box(mask: npt.NDArray[np.generic]) -> Box | None:
    """Bounding box of the product pixels (mask > 0), specks left out; None if there are none."""
    parts = product_parts(mask)
    if not parts.any():
        return None
    ys = np.flatnonzero(parts.any(axis=1))
    xs = np.flatnonzero(parts.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def product_fill(box: Box, width: int, height: int) -> float:
    """Share of the frame the product box spans: the larger of its width and height shares.

    On a square frame this is the box's longer side over the frame's side (Amazon's 85 %
    rule); on other frames, the axis the product fills most.
    """
    x0, y0, x1, y1 = box
    return max((x1 - x0) / width, (y1 - y0) / height)

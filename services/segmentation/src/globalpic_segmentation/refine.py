"""From the coarse U²-Net-p map of the kept products to a matte on the true boundary.

The network sees the photo at 320 x 320, so its map is right about *where* the product is and
wrong in the detail: boundaries are a few pixels off, holes are filled, thin parts fade. All
work happens on the products' crop (plus a margin of background):

1. ``grabcut`` methods, on the crop scaled to ``extract_work_side``: a background plate is
   interpolated from around the product (``plate``), regions inside the product that match it
   are carved as holes (``keying``), and OpenCV's GrabCut, seeded with the coarse region as
   probable product, the margin as probable background and the carved holes as background,
   moves the boundary to the colour edge. The result is scaled back up to the crop.
2. ``matting`` methods: closed-form matting (``matting``) re-estimates a band a few pixels wide
   around that boundary at full resolution: soft where the product is (fringe, fur, glass).
   Where the coarse map is itself unsure next to the edge (it is soft over many of its pixels
   at fur, over a few at a crisp edge), the band widens up to ``SOFT_BAND_FACTOR`` times.

Thin parts (straps, cables, legs) survive when the coarse map sees them: they are in the
coarse region (``components`` attaches weak parts to their product), GrabCut keeps confident
ones as sure product (its smoothness term would erase them), and matting keeps the middle of
any part thinner than its band as sure (``matting.band_trimap``).
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_segmentation.components import mask_box
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from globalpic_segmentation.keying import MIN_HOLE_SHARE, BackgroundKey, disk
from globalpic_segmentation.matting import band_trimap, matte_band

BoolMask = npt.NDArray[np.bool_]
F32 = npt.NDArray[np.float32]

# Margin around the product that GrabCut may still call product, as a share of the diagonal;
# the crop adds three times this so the plate has background to learn from.
GRABCUT_MARGIN = 0.03
# Two rounds of colour model + cut: measured on bench-extract, 1, 2 and 4 give the same masks
# from the zoomed map (2 the best boundary F without zoom); each round costs ~40 ms.
GRABCUT_ITERATIONS = 2
# Confident coarse parts that an opening with a disk of this radius (working px) removes
# are kept as sure product.
THIN_PX = 2
# For plain matting the band also covers the coarse map's own uncertain zone; after GrabCut,
# that zone widens the band up to SOFT_BAND_FACTOR times (soft edges: fur, fringes).
UNCERTAIN = (0.1, 0.9)
SOFT_BAND_FACTOR = 3


def _crop_box(region: BoolMask, margin: int) -> tuple[int, int, int, int]:
    box = mask_box(region)
    if box is None:
        raise ValueError("empty product region")
    height, width = region.shape
    x0, y0, x1, y1 = box
    return (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(width, x1 + margin),
        min(height, y1 + margin),
    )


def _timed(seconds: dict[str, float], stage: str, start: float) -> float:
    now = time.perf_counter()
    seconds[stage] = seconds.get(stage, 0.0) + now - start
    return now


def _thin_and_confident(confident: BoolMask) -> BoolMask:
    """Confident parts a few working pixels wide (straps, cables): GrabCut's smoothness term
    would erase them, and the network, sure of them, is right more often than not."""
    mask = confident.astype(np.uint8)
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disk(THIN_PX))
    return np.asarray((mask > 0) & (opened == 0), np.bool_)


def _grabcut(
    small: ImageArray,
    product: BoolMask,
    near: BoolMask,
    holes: BoolMask,
    matches: BoolMask,
    sure: BoolMask,
) -> F32:
    """GrabCut seeded by the coarse region: 1.0 where it keeps product, else 0.0."""
    mask: npt.NDArray[np.uint8] = np.full(product.shape, cv2.GC_BGD, np.uint8)
    mask[near] = cv2.GC_PR_BGD
    mask[product] = cv2.GC_PR_FGD
    mask[matches] = cv2.GC_PR_BGD
    mask[holes] = cv2.GC_BGD
    mask[sure] = cv2.GC_FGD
    if (mask == cv2.GC_PR_FGD).any() and (mask == cv2.GC_BGD).any():
        # GrabCut's k-means starts from OpenCV's global RNG: seed it so a photo always gives
        # the same cut-out.
        cv2.setRNGSeed(0)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        cv2.grabCut(bgr, mask, (0, 0, 1, 1), bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    keep = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return np.asarray(_fill_small_holes(keep), np.float32)


def _fill_small_holes(keep: BoolMask) -> BoolMask:
    """``keep`` with enclosed background specks (under ``MIN_HOLE_SHARE``) filled.

    GrabCut alone may open such specks where a letter or a highlight has the background's
    colour; the holes a product is made with are bigger.
    """
    floor = MIN_HOLE_SHARE * float(np.count_nonzero(keep))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (~keep).astype(np.uint8), connectivity=4
    )
    h, w = keep.shape
    filled = keep.copy()
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        touches_border = x == 0 or y == 0 or x + bw == w or y + bh == h
        if not touches_border and area < floor:
            filled[labels == i] = True
    return filled


def refine_alpha(
    image: ImageArray,
    coarse: AlphaArray,
    region: BoolMask,
    settings: ExtractSettings,
    seconds: dict[str, float],
) -> AlphaArray:
    """The matte of the products in ``region`` (image-sized), timing stages into ``seconds``."""
    method = settings.extract_refine
    if method is RefineMethod.NONE or not region.any():
        return np.where(region, coarse, 0.0).astype(np.float32)
    height, width = coarse.shape
    diagonal = math.hypot(height, width)
    band_px = max(1, round(settings.extract_matting_band * diagonal))
    start = time.perf_counter()
    if method is RefineMethod.MATTING:
        x0, y0, x1, y1 = _crop_box(region, 2 * band_px + 2)
        crop, guess = image[y0:y1, x0:x1], np.where(region, coarse, 0.0)[y0:y1, x0:x1]
        unsure = (guess > UNCERTAIN[0]) & (guess < UNCERTAIN[1])
        fg, bg = band_trimap(guess.astype(np.float32), band_px, unsure)
        alpha = matte_band(crop, guess.astype(np.float32), fg, bg)
        _timed(seconds, "matting", start)
        return _paste(alpha, (x0, y0, x1, y1), (height, width))

    margin = max(2, round(GRABCUT_MARGIN * diagonal))
    x0, y0, x1, y1 = _crop_box(region, 3 * margin + 8)
    crop, crop_region = image[y0:y1, x0:x1], region[y0:y1, x0:x1]
    ch, cw = crop_region.shape
    scale = min(1.0, settings.extract_work_side / max(ch, cw))
    size = (max(8, round(cw * scale)), max(8, round(ch * scale)))
    small = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
    small_coarse = np.asarray(
        cv2.resize(coarse[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA), np.float32
    )
    small_region = np.asarray(
        cv2.resize(crop_region.astype(np.uint8), size, interpolation=cv2.INTER_AREA), np.uint8
    )
    product = small_region > 0
    small_margin = max(2, round(margin * scale))
    near = np.asarray(cv2.dilate(product.astype(np.uint8), disk(small_margin)), np.uint8) > 0
    key = BackgroundKey.build(small, near, small_margin, settings.extract_max_key_tolerance)
    open_holes = settings.extract_carve_open_holes
    nothing = np.zeros_like(product)
    holes = key.holes(small, product, enclosed_only=not open_holes) if key else nothing
    # With open holes allowed, every other match goes to GrabCut as "probably background" too,
    # so its product colour model is not learnt from background seen between the legs.
    matches = key.matches(small, product) if key and open_holes else nothing
    start = _timed(seconds, "key", start)
    sure = _thin_and_confident(small_coarse >= settings.extract_threshold) & product
    cut = _grabcut(small, product, near, holes, matches, sure)
    alpha = np.asarray(cv2.resize(cut, (cw, ch), interpolation=cv2.INTER_LINEAR), np.float32)
    start = _timed(seconds, "grabcut", start)
    if method is RefineMethod.GRABCUT_MATTING:
        soft = _soft_zone(coarse[y0:y1, x0:x1], alpha, SOFT_BAND_FACTOR * band_px)
        fg, bg = band_trimap(alpha, band_px, soft)
        alpha = matte_band(crop, alpha, fg, bg)
        _timed(seconds, "matting", start)
    return _paste(alpha, (x0, y0, x1, y1), (height, width))


def _soft_zone(coarse: F32, alpha: F32, reach: int) -> BoolMask:
    """Pixels within ``reach`` of the edge of ``alpha >= 0.5`` where ``coarse`` is unsure.

    The network's map is soft over a few of its pixels at a crisp edge and over many where the
    edge itself is soft (fur, a fringe, motion blur): there matting gets a wider band.
    """
    hard = (alpha >= 0.5).astype(np.uint8)
    edge_zone = (np.asarray(cv2.dilate(hard, disk(reach)), np.uint8) > 0) & (
        np.asarray(cv2.erode(hard, disk(reach)), np.uint8) == 0
    )
    unsure = (coarse > UNCERTAIN[0]) & (coarse < UNCERTAIN[1])
    return np.asarray(edge_zone & unsure, np.bool_)


def _paste(alpha: F32, box: tuple[int, int, int, int], shape: tuple[int, int]) -> AlphaArray:
    out = np.zeros(shape, np.float32)
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = alpha
    return out

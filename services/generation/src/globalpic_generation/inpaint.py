"""Inpainters: rebuild the masked pixels from their surroundings (the ``Inpainter`` protocol).

- ``OpenCvInpainter``: OpenCV's Telea (or Navier-Stokes) diffusion. Right for thin glyph
  strokes: every rebuilt pixel is a few pixels from a known one.
- ``PushPullInpainter``: a smooth membrane-like fill (push-pull pyramid). For wide areas on
  smooth backgrounds (a badge on a studio wall) it is as close to the truth as PatchMatch at
  a hundredth of the cost, where Telea smears the rim's colour inward.
- ``PatchMatchInpainter``: PatchMatch (pypatchmatch) on a crop around each group of regions,
  scaled down when the crop is large. Copies real texture in: right for wide areas on
  textured surroundings (wood, fabric, foliage).
- ``AutoInpainter``: picks one of the three per group of regions, by size and texture, with a
  per-image pixel budget for PatchMatch (it costs ~100x the others).
- ``zimage.ZImageInpainter`` (``inpainter="zimage"``): generative fill with Z-Image-Turbo on
  crops around the regions (the ``zimage`` extra and its weights; see ``zimage.py``).

The smooth fills get seeded grain matched to the texture energy of the ring around each
region, so no rebuilt area reads as a flat smear. Every inpainter changes masked pixels only:
results are pasted into a copy of the input inside the mask.

Given the product's alpha (``product_alpha``, the segmenter's first pass), every inpainter
is product-aware: the product's outline is completed across each hole (``silhouette``), the
product side is rebuilt from product pixels only (``product_fill``: structure continues, no
haze) and the background side by the backend from background pixels only, so no background
texture lands inside the product outline and no product colour bleeds out of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import BAD_MASK, BadInputError, ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_generation.background import push_pull_fill
from globalpic_generation.product_fill import TEST_BAND_PX, fill_product
from globalpic_generation.quads import Roi, dilate
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.silhouette import ARM_REACH_PX, complete, solidify
from globalpic_generation.texture import add_grain, texture_energy

BoolMask = npt.NDArray[np.bool_]
Backend = Literal["opencv", "pushpull", "patchmatch"]

# Mask components closer than this (px) are rebuilt together, from one crop.
GROUP_GAP = 12
# Width (px) of the ring around a region whose texture the fill should match.
RING_PX = 10
# PatchMatch crops reach this share of the region's size past it (clamped to the px range):
# the texture it copies comes from there.
PM_MARGIN_SHARE = 0.5
PM_MARGIN_PX = (24, 96)
# Crop margin (px) of product-aware fills: room for the outline's arms and the scored band.
PRODUCT_MARGIN = 2 * ARM_REACH_PX + TEST_BAND_PX + 8
# Product alpha at or above this is product.
PRODUCT_ALPHA = 0.5
# Product parts smaller than this share of the image, or of the largest part, are specks.
MIN_PART_SHARE = 0.0005
MIN_PART_OF_LARGEST = 0.02


@dataclass(frozen=True)
class Region:
    """A group of mask components rebuilt together: its crop, its hole within the crop and
    every masked pixel of the crop (pixels of other groups must not serve as a source)."""

    roi: Roi
    hole: BoolMask
    masked: BoolMask


def check_inputs(
    image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BadInputError("image must be an H x W x 3 uint8 array")
    if mask.shape != image.shape[:2]:
        raise BadInputError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}",
            code=BAD_MASK,
        )
    if product_alpha is not None and product_alpha.shape != image.shape[:2]:
        raise BadInputError(
            f"product alpha is {product_alpha.shape[1]}x{product_alpha.shape[0]} but the "
            f"image is {image.shape[1]}x{image.shape[0]}",
            code=BAD_MASK,
        )


def product_of(product_alpha: AlphaArray) -> BoolMask:
    """The product mask of an alpha: at least PRODUCT_ALPHA, specks left out.

    A segmenter also takes bits of an overlay (a glyph's halo, a sticker) for product: as a
    source they would paint the overlay back, as outline they would cut the background."""
    product = np.asarray(product_alpha >= PRODUCT_ALPHA, np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(product, connectivity=8)
    if n <= 2:
        return product > 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    floor = max(MIN_PART_SHARE * product.size, MIN_PART_OF_LARGEST * float(areas.max()))
    keep = np.concatenate([[False], areas >= floor])
    return np.asarray(keep[labels], bool)


def regions(mask: MaskArray, margin: int) -> Iterator[Region]:
    """Groups of mask components (closer than GROUP_GAP px), each with a crop ``margin`` px
    larger than the group on every side (clipped to the image)."""
    h, w = mask.shape
    joined = dilate(mask, GROUP_GAP // 2)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        roi = Roi(
            max(0, y - margin), min(h, y + bh + margin), max(0, x - margin), min(w, x + bw + margin)
        )
        masked = mask[roi.slices] > 0
        hole = (labels[roi.slices] == i) & masked
        if hole.any():
            yield Region(roi, hole, masked)


def ring_around(hole: BoolMask, width: int) -> BoolMask:
    grown: BoolMask = dilate(hole.astype(np.uint8), width) > 0
    return grown & ~hole


def thickness(hole: BoolMask) -> float:
    """Twice the largest distance from a hole pixel to the nearest known pixel."""
    padded = np.pad(hole.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 3)
    return 2.0 * float(dist.max())


def paste(out: ImageArray, region: Region, filled: ImageArray, settings: GenerationSettings,
          rng: np.random.Generator) -> None:  # fmt: skip
    """Paste ``filled`` (crop-sized) into ``out`` inside the region's hole only; add grain."""
    view = out[region.roi.slices]
    view[region.hole] = filled[region.hole]
    if settings.grain:
        known_ring = ring_around(region.hole, RING_PX) & ~region.masked
        view[...] = add_grain(view, region.hole, known_ring, rng)


@dataclass(frozen=True)
class Split:
    """A region cut along the product's completed outline. Each side is a Region whose
    ``masked`` also holds the other side's known pixels: they must not serve as a source."""

    product: Region | None
    background: Region | None


def split_region(region: Region, product: BoolMask) -> Split:
    """``region`` cut into its product side and its background side (``silhouette``)."""
    crop = product[region.roi.slices]
    known = ~region.masked
    p_known = crop & known
    side = np.zeros_like(region.hole)
    if p_known.any():
        # The outline is completed across solid blobs (a line of glyphs as one), then the
        # hole's own pixels take the side their blob's part lies on.
        solid = solidify(region.hole)
        n, labels = cv2.connectedComponents(solid.astype(np.uint8), connectivity=8)
        for i in range(1, n):
            side |= complete(crop, known & ~solid, labels == i)
        side &= region.hole
    rest = region.hole & ~side
    return Split(
        Region(region.roi, side, region.masked | (known & ~crop)) if side.any() else None,
        Region(region.roi, rest, region.masked | p_known) if rest.any() else None,
    )


def fill_product_side(
    out: ImageArray, region: Region, settings: GenerationSettings, rng: np.random.Generator
) -> None:
    """Rebuild a product side from the product's own pixels (``product_fill``), then grain
    matched to the product's ring."""
    values = out[region.roi.slices].astype(np.float32)
    filled = fill_product(values, ~region.masked, region.hole)
    paste(out, region, np.clip(filled + 0.5, 0, 255).astype(np.uint8), settings, rng)


def background_mask(mask: MaskArray, product: BoolMask) -> MaskArray:
    """The mask a background side is filled under: the product counts as masked too."""
    return np.where(product, np.uint8(255), mask).astype(np.uint8)


def rebuild_product_sides(
    image: ImageArray, mask: MaskArray, product_alpha: AlphaArray, settings: GenerationSettings
) -> tuple[ImageArray, MaskArray]:
    """``image`` with the product side of every region rebuilt from product pixels, and the
    mask of what is left to fill (the background sides). For backends that fill the
    background themselves (the generative one): the product is never left to them."""
    check_inputs(image, mask, product_alpha)
    out = image.copy()
    rest = mask.copy()
    rng = np.random.default_rng(settings.seed)
    product = product_of(product_alpha)
    for region in regions(mask, PRODUCT_MARGIN):
        split = split_region(region, product)
        if split.product is not None:
            fill_product_side(out, split.product, settings, rng)
            rest[region.roi.slices][split.product.hole] = 0
    return out, rest


def completed_silhouette(mask: MaskArray, product_alpha: AlphaArray) -> AlphaArray:
    """``product_alpha`` with every erased pixel set by the completed outline: 1 on the product
    side of each hole, 0 on its background side.

    The segmenter saw the overlays: a starburst on the product's edge is a bump of "product"
    in its map. Once the overlay is rebuilt as wood, that bump is wood, and the ops after
    clean (extract, remix) would cut it out with the product. The fill's own split of each
    hole (``split_region``) says what the rebuilt pixels are.
    """
    if product_alpha.shape != mask.shape:
        raise BadInputError(
            f"product alpha is {product_alpha.shape[1]}x{product_alpha.shape[0]} but the "
            f"mask is {mask.shape[1]}x{mask.shape[0]}",
            code=BAD_MASK,
        )
    out = np.asarray(product_alpha, np.float32).copy()
    product = product_of(product_alpha)
    for region in regions(mask, PRODUCT_MARGIN):
        split = split_region(region, product)
        view = out[region.roi.slices]
        view[region.hole] = 0.0
        if split.product is not None:
            view[split.product.hole] = 1.0
    return out


class _RegionInpainter:
    """Shared driver: split the mask into regions, rebuild each in place on a copy."""

    name = "base"
    margin = RING_PX + 4

    def __init__(self, settings: GenerationSettings | None = None) -> None:
        self.settings = settings or GenerationSettings()

    def inpaint(
        self, image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
    ) -> ImageArray:
        check_inputs(image, mask, product_alpha)
        out = image.copy()
        rng = np.random.default_rng(self.settings.seed)
        if product_alpha is None:
            for region in regions(mask, self.margin):
                self.fill_region(out, region, mask, rng)
            return out
        product = product_of(product_alpha)
        bg_mask = background_mask(mask, product)
        for region in regions(mask, max(self.margin, PRODUCT_MARGIN)):
            split = split_region(region, product)
            if split.product is not None:
                fill_product_side(out, split.product, self.settings, rng)
            if split.background is not None:
                self.fill_region(out, split.background, bg_mask, rng)
        return out

    def fill_region(
        self, out: ImageArray, region: Region, mask: MaskArray, rng: np.random.Generator
    ) -> None:
        raise NotImplementedError


class OpenCvInpainter(_RegionInpainter):
    """Diffusion fill (OpenCV Telea or Navier-Stokes) plus matched grain."""

    def __init__(
        self,
        settings: GenerationSettings | None = None,
        method: Literal["telea", "ns"] = "telea",
    ) -> None:
        super().__init__(settings)
        self.method = method
        self.name = "opencv"
        self.margin = RING_PX + self.settings.opencv_radius + 2

    def fill_region(
        self, out: ImageArray, region: Region, mask: MaskArray, rng: np.random.Generator
    ) -> None:
        crop = np.ascontiguousarray(out[region.roi.slices])
        flag = cv2.INPAINT_TELEA if self.method == "telea" else cv2.INPAINT_NS
        hole = region.masked.astype(np.uint8) * 255
        filled = cv2.inpaint(crop, hole, self.settings.opencv_radius, flag)
        paste(out, region, np.asarray(filled, np.uint8), self.settings, rng)


class PushPullInpainter(_RegionInpainter):
    """Smooth push-pull fill (see ``background.push_pull_fill``) plus matched grain."""

    name = "pushpull"

    def fill_region(
        self, out: ImageArray, region: Region, mask: MaskArray, rng: np.random.Generator
    ) -> None:
        crop = out[region.roi.slices].astype(np.float32)
        known = (~region.masked).astype(np.float32)
        filled = np.clip(push_pull_fill(crop, known) + 0.5, 0, 255).astype(np.uint8)
        paste(out, region, filled, self.settings, rng)


class PatchMatchInpainter(_RegionInpainter):
    """PatchMatch (Barnes et al. 2009) through pypatchmatch, on a crop around each region."""

    name = "patchmatch"
    margin = 0

    def __init__(self, settings: GenerationSettings | None = None) -> None:
        super().__init__(settings)
        try:
            import patchmatch
        except ImportError as exc:  # pragma: no cover - a dependency of this package
            raise ModelUnavailableError("pypatchmatch is not installed") from exc
        if not patchmatch.patchmatch_available:
            raise ModelUnavailableError("pypatchmatch's native library failed to load")
        self._pm = patchmatch

    def crop_for(self, region: Region, mask: MaskArray) -> Region:
        """The region with a crop large enough to give PatchMatch texture to copy from."""
        ys, xs = np.nonzero(region.hole)
        ys, xs = ys + region.roi.y0, xs + region.roi.x0
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        lo, hi = PM_MARGIN_PX
        margin = int(np.clip(PM_MARGIN_SHARE * max(y1 - y0, x1 - x0), lo, hi))
        h, w = mask.shape
        roi = Roi(
            max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
        )
        hole = np.zeros(roi.shape, bool)
        hole[ys - roi.y0, xs - roi.x0] = True
        return Region(roi, hole, mask[roi.slices] > 0)

    def cost(self, region: Region, mask: MaskArray) -> int:
        """Pixels PatchMatch will work on for ``region`` (its crop, after scaling down)."""
        h, w = self.crop_for(region, mask).roi.shape
        return int(h * w * self._scale(h, w) ** 2)

    def _scale(self, h: int, w: int) -> float:
        """Scale that brings an h x w crop down to at most ``patchmatch_max_px`` pixels."""
        return min(1.0, float(np.sqrt(self.settings.patchmatch_max_px / max(1, h * w))))

    def fill_region(
        self, out: ImageArray, region: Region, mask: MaskArray, rng: np.random.Generator
    ) -> None:
        region = self.crop_for(region, mask)
        crop = np.ascontiguousarray(out[region.roi.slices])
        h, w = crop.shape[:2]
        scale = self._scale(h, w)
        hole = region.masked.astype(np.uint8)
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            # Any coverage makes a low-resolution pixel a hole: no overlay colour leaks in.
            coverage = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            small_hole = (coverage > 0).astype(np.uint8)
        else:
            small, small_hole = crop, hole
        self._pm.set_random_seed(self.settings.seed)
        filled = self._pm.inpaint(
            np.ascontiguousarray(small), small_hole, patch_size=self.settings.patchmatch_patch_size
        )
        if scale < 1.0:
            filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
        paste(out, region, np.asarray(filled, np.uint8), self.settings, rng)


class AutoInpainter:
    """Per group of regions: OpenCV for thin strokes, PatchMatch for wide areas in textured
    surroundings (within a per-image pixel budget), push-pull for the other wide areas."""

    name = "auto"

    def __init__(self, settings: GenerationSettings | None = None) -> None:
        self.settings = settings or GenerationSettings()
        self.opencv = OpenCvInpainter(self.settings)
        self.pushpull = PushPullInpainter(self.settings)
        self.patchmatch: PatchMatchInpainter | None
        try:
            self.patchmatch = PatchMatchInpainter(self.settings)
        except ModelUnavailableError:
            # Without the native library "auto" still works: wide regions get push-pull.
            self.patchmatch = None
        self.margin = max(self.opencv.margin, self.pushpull.margin)

    def choose(self, image: ImageArray, region: Region) -> Backend:
        """The backend a region would get with budget to spare."""
        if thickness(region.hole) < self.settings.wide_region_px:
            return "opencv"
        ring = ring_around(region.hole, RING_PX) & ~region.masked
        if texture_energy(image[region.roi.slices], ring) >= self.settings.patchmatch_min_texture:
            return "patchmatch"
        return "pushpull"

    def plan(self, image: ImageArray, mask: MaskArray) -> list[tuple[Region, Backend]]:
        """Each region with its backend; PatchMatch goes to the largest textured regions
        first, until the budget is spent."""
        planned = [(r, self.choose(image, r)) for r in regions(mask, self.margin)]
        return self.within_budget(planned, mask)

    def within_budget(
        self, planned: list[tuple[Region, Backend]], mask: MaskArray
    ) -> list[tuple[Region, Backend]]:
        """``planned`` with PatchMatch kept for the largest textured regions until the
        budget is spent, push-pull for the rest."""
        wanted = [i for i, (_, b) in enumerate(planned) if b == "patchmatch"]
        wanted.sort(key=lambda i: -int(planned[i][0].hole.sum()))
        budget = self.settings.patchmatch_budget_px if self.patchmatch is not None else 0
        for i in wanted:
            cost = self.patchmatch.cost(planned[i][0], mask) if self.patchmatch else budget + 1
            if cost <= budget:
                budget -= cost
            else:
                planned[i] = (planned[i][0], "pushpull")
        return planned

    def inpaint(
        self, image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
    ) -> ImageArray:
        check_inputs(image, mask, product_alpha)
        out = image.copy()
        rng = np.random.default_rng(self.settings.seed)
        backends: dict[Backend, _RegionInpainter] = {
            "opencv": self.opencv,
            "pushpull": self.pushpull,
        }
        if self.patchmatch is not None:
            backends["patchmatch"] = self.patchmatch
        if product_alpha is None:
            for region, backend in self.plan(image, mask):
                backends[backend].fill_region(out, region, mask, rng)
            return out
        # Product-aware: the product sides first (from product pixels), then the background
        # sides, planned like whole regions, under a mask that hides the product.
        product = product_of(product_alpha)
        bg_mask = background_mask(mask, product)
        splits = [split_region(r, product) for r in regions(mask, max(self.margin, PRODUCT_MARGIN))]
        for split in splits:
            if split.product is not None:
                fill_product_side(out, split.product, self.settings, rng)
        sides = [s.background for s in splits if s.background is not None]
        for region, backend in self.within_budget(
            [(r, self.choose(image, r)) for r in sides], bg_mask
        ):
            backends[backend].fill_region(out, region, bg_mask, rng)
        return out

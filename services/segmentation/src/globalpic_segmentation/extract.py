"""``extract``: cut the product out of a photo with a refined, soft alpha matte.

``Extractor.extract(image)`` runs U²-Net-p (or takes the coarse map the pipeline already
computed), keeps the salient product or every product (``components``), runs U²-Net-p again
on a crop around them (``zoom``: the network then resolves gaps and thin parts it filled at
full frame), and refines that map to the true boundary (``refine``: background key + GrabCut
+ closed-form matting by default). bench/extract_bench.py measures every refinement method
against exact alpha.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_segmentation.components import ProductRegion, find_products, mask_box
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from globalpic_segmentation.matting import warm_up
from globalpic_segmentation.refine import refine_alpha
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import build_segmenter
from globalpic_segmentation.zoom import zoom_in

# Smaller images carry too little to segment (the network alone upsamples them 10x).
MIN_SIDE = 16


class ExtractMode(StrEnum):
    SALIENT = "salient"  # keep the most salient product only
    ALL = "all"  # keep every product


@dataclass(frozen=True)
class Cutout:
    alpha: AlphaArray  # H x W float32 in [0, 1], same size as the image; soft at edges
    boxes: list[tuple[int, int, int, int]]  # (x0, y0, x1, y1) per product kept, salient first
    seconds: dict[str, float]  # wall seconds per stage


def _check_image(image: object) -> ImageArray:
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
    ):
        described = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image)
        raise BadInputError(
            f"extract needs an H x W x 3 uint8 RGB image, got {described}",
            code=errors.UNSUPPORTED_FORMAT,
        )
    if min(image.shape[:2]) < MIN_SIDE:
        raise BadInputError(
            f"image is {image.shape[1]} x {image.shape[0]}: extract needs at least "
            f"{MIN_SIDE} px per side",
            code=errors.IMAGE_TOO_SMALL,
        )
    return image


def _check_coarse(coarse: object, shape: tuple[int, int]) -> AlphaArray:
    if (
        not isinstance(coarse, np.ndarray)
        or coarse.shape != shape
        or not np.issubdtype(coarse.dtype, np.floating)
    ):
        described = (
            f"{coarse.shape} {coarse.dtype}" if isinstance(coarse, np.ndarray) else type(coarse)
        )
        raise BadInputError(
            f"coarse alpha must be a float H x W array of the image's size {shape}, "
            f"got {described}",
            code=errors.BAD_MASK,
        )
    values = coarse.astype(np.float32, copy=False)
    if not np.isfinite(values).all() or values.min() < 0.0 or values.max() > 1.0:
        raise BadInputError("coarse alpha must hold finite values in [0, 1]", code=errors.BAD_MASK)
    return values


def _mode(mode: object) -> ExtractMode:
    valid = {m.value: m for m in ExtractMode}
    if isinstance(mode, str) and mode in valid:
        return valid[mode]
    raise BadInputError(
        f"unknown extract mode {mode!r}: use one of {', '.join(valid)}", code=errors.BAD_OPTION
    )


def _boxes(alpha: AlphaArray, products: list[ProductRegion]) -> list[tuple[int, int, int, int]]:
    """Each product's box on the refined matte, in the products' (salience) order."""
    solid = alpha >= 0.5
    boxes = []
    for product in products:
        box = mask_box(solid & product.mask) or product.box
        boxes.append(box)
    return boxes


class Extractor:
    """Product cut-out: coarse U²-Net-p map -> kept products -> refined soft matte."""

    def __init__(self, segmenter: Segmenter, settings: ExtractSettings | None = None) -> None:
        self.segmenter = segmenter
        self.settings = settings or ExtractSettings()

    @classmethod
    def from_settings(cls) -> Extractor:
        """The segmenter from ``SegmentationSettings`` (U²-Net-p, or SAM prompted by it),
        refinement from ``ExtractSettings``."""
        return cls(build_segmenter(SegmentationSettings()), ExtractSettings())

    def load(self) -> None:
        """Load the model (once) and the matting library, ahead of the first image."""
        load = getattr(self.segmenter, "load", None)
        if callable(load):
            load()
        if self.settings.extract_refine in (RefineMethod.MATTING, RefineMethod.GRABCUT_MATTING):
            warm_up()

    def _products(self, coarse: AlphaArray, salient_only: bool) -> list[ProductRegion]:
        """The products in ``coarse`` under this extractor's settings, most salient first."""
        s = self.settings
        return find_products(
            coarse,
            salient_only=salient_only,
            threshold=s.extract_threshold,
            attach_threshold=s.extract_attach_threshold,
            attach_reach=s.extract_attach_reach,
            min_area=s.extract_min_area,
            min_relative_area=s.extract_min_relative_area,
        )

    def extract(
        self,
        image: ImageArray,
        mode: ExtractMode = ExtractMode.SALIENT,
        coarse: AlphaArray | None = None,
    ) -> Cutout:
        """Cut out the salient product (or all products) of ``image``.

        ``coarse`` is a U²-Net alpha the caller already has for this image; without it the
        segmenter runs. No product found gives an all-zero alpha and no boxes.
        """
        image = _check_image(image)
        kept = _mode(mode)
        shape = (image.shape[0], image.shape[1])
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        if coarse is None:
            coarse = _check_coarse(self.segmenter.segment(image), shape)
            seconds["segment"] = time.perf_counter() - start
            start = time.perf_counter()
        else:
            coarse = _check_coarse(coarse, shape)
        s = self.settings
        salient_only = kept is ExtractMode.SALIENT
        products = self._products(coarse, salient_only)
        seconds["components"] = time.perf_counter() - start
        if products and s.extract_zoom:
            start = time.perf_counter()
            zoomed = zoom_in(
                self.segmenter,
                image,
                coarse,
                products,
                s.extract_zoom_margin,
                keep_outside=not salient_only,
            )
            # The zoomed map decides the products' shapes; when it does not apply or sees none,
            # the full-frame map stands.
            refound = self._products(zoomed, salient_only) if zoomed is not None else []
            if zoomed is not None and refound:
                coarse, products = zoomed, refound
            seconds["zoom"] = time.perf_counter() - start
        if not products:
            return Cutout(np.zeros(shape, np.float32), [], seconds)
        region = np.logical_or.reduce([p.mask for p in products])
        start = time.perf_counter()
        refine_seconds: dict[str, float] = {}
        alpha = refine_alpha(image, coarse, region, s, refine_seconds)
        seconds.update(refine_seconds)
        seconds["refine"] = time.perf_counter() - start
        return Cutout(alpha, _boxes(alpha, products), seconds)

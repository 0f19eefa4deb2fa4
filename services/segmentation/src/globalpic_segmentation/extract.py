"""``extract``: cut the product out of a photo with a refined, soft alpha matte.

``Extractor.extract(image)`` runs the segmenter (or takes the coarse map the pipeline already
computed), finds its objects (``components``) and chooses which are the product from evidence
(``objects``: product print, repeated units, a person wearing it; not badges, splashes or
backdrops), cuts a worn garment away from the person wearing it, runs the segmenter again
on a crop around them (``zoom``: the network then resolves gaps and thin parts it filled at
full frame), and refines that map to the true boundary (``refine``: background key + GrabCut
+ closed-form matting by default). bench/extract_bench.py measures every refinement method
against exact alpha.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_common.models import load_all, unload_all
from globalpic_common.results import Cutout, ExtractMode, FoundObject
from globalpic_common.schemas import TextKind, TextRegion
from globalpic_segmentation.components import BoolMask, ProductRegion, find_products, mask_box
from globalpic_segmentation.extract_settings import ExtractSettings, ObjectChoice, RefineMethod
from globalpic_segmentation.matting import warm_up
from globalpic_segmentation.objects import choose, garment, measure
from globalpic_segmentation.refine import refine_alpha
from globalpic_segmentation.registry import build_segmenter
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.zoom import zoom_in

# The person around a worn garment is cut away this far (share of the image diagonal) beyond
# the object found on the full frame: the zoomed and refined matte may reach a little further.
WORN_REACH = 0.02
# Smaller images carry too little to segment (the network alone upsamples them 10x).
MIN_SIDE = 16


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
    """Product cut-out: coarse map (IS-Net) -> objects chosen as the product -> refined matte."""

    def __init__(self, segmenter: Segmenter, settings: ExtractSettings | None = None) -> None:
        self.segmenter = segmenter
        self.settings = settings or ExtractSettings()

    @classmethod
    def from_settings(cls) -> Extractor:
        """The segmenter from ``SegmentationSettings`` (IS-Net, U²-Net-p, or SAM prompted by
        U²-Net-p), refinement and object choice from ``ExtractSettings``."""
        return cls(build_segmenter(SegmentationSettings()), ExtractSettings())

    def load(self) -> None:
        """Load the model (once) and the matting library, ahead of the first image."""
        load_all(self.segmenter)
        if self.settings.extract_refine in (RefineMethod.MATTING, RefineMethod.GRABCUT_MATTING):
            warm_up()

    def unload(self) -> None:
        unload_all(self.segmenter)

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

    def _choose(
        self,
        image: ImageArray,
        coarse: AlphaArray,
        mode: ExtractMode,
        texts: Sequence[TextRegion],
    ) -> _Choice:
        """The objects of ``coarse`` and which of them are the product (``objects``), or the
        previous release's most salient component (``legacy``)."""
        salient_only = mode is ExtractMode.SALIENT
        if self.settings.extract_choice is ObjectChoice.LEGACY:
            # Exactly the previous release's products; every object only for the report.
            kept = self._products(coarse, salient_only)
            every = self._products(coarse, salient_only=False)
            top = every[0].salience if every and every[0].salience > 0 else 1.0
            # Both lists rank the same components by the same salience: the kept come first.
            found = [
                FoundObject(
                    (mask_box(r.core) if r.core is not None else None) or r.box,
                    round(r.salience / top, 4),
                    {},
                    i < len(kept),
                )
                for i, r in enumerate(every)
            ]
            return _Choice(kept, [], found, None)
        regions = self._products(coarse, salient_only=False)
        product_print = [t.box for t in texts if t.kind is TextKind.PRODUCT]
        overlay = [t.box for t in texts if t.kind is TextKind.OVERLAY]
        candidates = measure(image, regions, product_print, overlay)
        choose(candidates, keep_all=not salient_only, shape=(coarse.shape[0], coarse.shape[1]))
        candidates.sort(key=lambda c: -c.score)
        kept = [c.region for c in candidates if c.kept]
        dropped = [c.region for c in candidates if not c.kept]
        worn = None
        if self.settings.extract_worn_garment:
            # ``garment`` decides from the object's skin and shape whether a person wears it.
            worn = _worn(image, [c.region for c in candidates if c.kept])
        return _Choice(kept, dropped, [c.found() for c in candidates], worn)

    def extract(
        self,
        image: ImageArray,
        mode: ExtractMode = ExtractMode.SALIENT,
        coarse: AlphaArray | None = None,
        texts: Sequence[TextRegion] = (),
    ) -> Cutout:
        """Cut out the product (or every product-like object) of ``image``.

        ``coarse`` is a segmenter alpha the caller already has for this image; without it the
        segmenter runs. ``texts`` are clean's text lines on it: lines of kind ``product`` mark
        the product, lines of kind ``overlay`` mark badges and banners (``objects``). No
        product found gives an all-zero alpha and no boxes.
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
        choice = self._choose(image, coarse, kept, texts)
        products, dropped = choice.kept, choice.dropped
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
            # The zoomed map decides the products' shapes, not which objects are products: its
            # components are matched to the objects chosen on the full frame. When it does not
            # apply or sees none of them, the full-frame map stands.
            refound = (
                self._refind(zoomed, products, dropped, salient_only) if zoomed is not None else []
            )
            if zoomed is not None and refound:
                coarse, products = zoomed, refound
            seconds["zoom"] = time.perf_counter() - start
        if not products:
            return Cutout(np.zeros(shape, np.float32), [], seconds, choice.found)
        region = np.logical_or.reduce([p.mask for p in products])
        # A dropped object weakly joined to a kept one (a badge on the box's corner) stays out.
        for other in dropped:
            if other.core is not None:
                region &= ~other.core
        if choice.not_garment is not None:
            region &= ~choice.not_garment
            if not region.any():
                return Cutout(np.zeros(shape, np.float32), [], seconds, choice.found)
        start = time.perf_counter()
        refine_seconds: dict[str, float] = {}
        alpha = refine_alpha(image, coarse, region, s, refine_seconds)
        if choice.not_garment is not None:
            alpha = np.where(choice.not_garment, 0.0, alpha).astype(np.float32)
        seconds.update(refine_seconds)
        seconds["refine"] = time.perf_counter() - start
        return Cutout(alpha, _boxes(alpha, products), seconds, choice.found)

    def _refind(
        self,
        zoomed: AlphaArray,
        kept: list[ProductRegion],
        dropped: list[ProductRegion],
        salient_only: bool,
    ) -> list[ProductRegion]:
        """The zoomed map's products: under ``legacy`` its most salient (as before), else its
        components that lie mostly on the objects kept rather than on those dropped."""
        if self.settings.extract_choice is ObjectChoice.LEGACY:
            return self._products(zoomed, salient_only)
        on_kept = _union([r.mask for r in kept], zoomed.shape)
        on_dropped = _union(
            [r.core if r.core is not None else r.mask for r in dropped], zoomed.shape
        )
        refound = []
        for region in self._products(zoomed, salient_only=False):
            core = region.core if region.core is not None else region.mask
            inside, outside = int((core & on_kept).sum()), int((core & on_dropped).sum())
            if inside > outside:
                refound.append(region)
        return refound


def _worn(image: ImageArray, people: list[ProductRegion]) -> BoolMask | None:
    """What to cut away from the objects that are a person wearing the garment: everything
    near the person that is not the garment (``objects.garment``), or None."""
    away: BoolMask | None = None
    for person in people:
        worn = garment(image, person.mask)
        if worn is None:
            continue
        # Grown by the zoom and refinement's reach: the refined matte may shift the edge.
        reach = max(3, round(WORN_REACH * math.hypot(*person.mask.shape)))
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        near = np.asarray(cv2.dilate(person.mask.astype(np.uint8), disk), np.uint8) > 0
        cut = near & ~worn
        away = cut if away is None else away | cut
    return away


def _union(masks: list[BoolMask], shape: tuple[int, ...]) -> BoolMask:
    union = np.zeros(shape, bool)
    for mask in masks:
        union |= mask
    return union


@dataclass(frozen=True)
class _Choice:
    kept: list[ProductRegion]  # the products, best first
    dropped: list[ProductRegion]  # the other objects (empty under ``legacy``)
    found: list[FoundObject]  # every object, for the report
    # The person around a worn garment (skin, hair, shoes): never part of the cut-out.
    not_garment: BoolMask | None

"""The domain interfaces the pipeline depends on.

The in-process implementations (``globalpic_ocr``, ``globalpic_segmentation``,
``globalpic_generation``) and, later, their gRPC clients implement these, so the same
orchestration code runs in the CLI and across the cluster.

Images are ``numpy.uint8`` arrays, H x W x 3, RGB. Masks are ``numpy.uint8`` H x W with
0 / 255 unless stated otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from globalpic_common.copy_facts import CopyFacts
from globalpic_common.platforms import Platform
from globalpic_common.product_mask import Box
from globalpic_common.schemas import CopyReport, RuleResult, TextLine, TextRegion

ImageArray = npt.NDArray[np.uint8]
MaskArray = npt.NDArray[np.uint8]
AlphaArray = npt.NDArray[np.float32]


@runtime_checkable
class TextDetector(Protocol):
    """Finds text lines in an image."""

    name: str

    def detect(self, image: ImageArray) -> list[TextLine]: ...


@runtime_checkable
class Segmenter(Protocol):
    """Finds the product: a soft alpha in [0, 1], same size as the image."""

    name: str

    def segment(self, image: ImageArray) -> AlphaArray: ...


@runtime_checkable
class Inpainter(Protocol):
    """Rebuilds the masked pixels (mask 255) from their surroundings; others are untouched.

    ``product_alpha`` (the segmenter's alpha of ``image``, optional): where an overlay
    covers the product, its outline is completed under the mask and each side is rebuilt
    from its own pixels only (the product from the product, the background from the
    background). None: no product knowledge, every unmasked pixel may serve as a source.
    """

    name: str

    def inpaint(
        self, image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
    ) -> ImageArray: ...


@dataclass(frozen=True)
class FirstPassMasks:
    """What ``EraseMasker.first_pass`` decided (masks H x W uint8, 0 / 255)."""

    # Per line given: the user's keep mask covers half its box or more (so it is kept).
    protected: list[bool]
    mask: MaskArray  # what to erase
    protect: MaskArray  # never erased from now on: the keep mask and the kept lines
    erased: MaskArray  # the boxes of the lines to erase, less ``protect``


@dataclass(frozen=True)
class ResidualPassMasks:
    """What ``EraseMasker.residual_pass`` gives: this pass's extra erase mask, and the
    ``protect`` and ``erased`` masks brought up to date."""

    extra: MaskArray
    protect: MaskArray
    erased: MaskArray


@runtime_checkable
class EraseMasker(Protocol):
    """The mask geometry of the ``clean`` op, one call per step (each one RPC when remote):
    the erase masks of the first and the residual passes, where re-detected lines lie, and
    the final composite. The orchestration (which lines to erase, when to stop) stays with
    the caller; every pixel operation is here.
    """

    def first_pass(
        self,
        image: ImageArray,
        lines: Sequence[TextLine],
        wanted: Sequence[bool],
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
        add: MaskArray | None = None,
    ) -> FirstPassMasks:
        """The lines to erase are the ``wanted`` ones (one flag per line) the user's
        ``keep`` mask does not protect; the others are kept. ``add``: erased too."""
        ...

    def locate(
        self, lines: Sequence[TextLine], erased: MaskArray, known: MaskArray
    ) -> list[tuple[float, float]]:
        """Per line: the share of its box in ``erased`` (grown by the re-check's margin),
        and in ``known``."""
        ...

    def residual_pass(
        self,
        image: ImageArray,
        newly: Sequence[TextLine],
        residual: Sequence[TextLine],
        kept: Sequence[TextLine],
        product_alpha: AlphaArray | None,
        *,
        protect: MaskArray,
        erased: MaskArray,
        newly_kept: Sequence[TextLine] = (),
    ) -> ResidualPassMasks:
        """The extra mask on ``image`` (as erased so far) for the ``newly`` seen lines to
        erase and the ``residual`` lines found again; ``newly_kept`` (lines of ``kept`` first
        seen now) join ``protect`` first, ``newly`` joins ``erased``."""
        ...

    def finish(
        self,
        image: ImageArray,
        erased: ImageArray,
        mask: MaskArray,
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
    ) -> tuple[ImageArray, AlphaArray | None]:
        """``erased`` with the pixels of ``image`` back away from ``mask`` and its seam and
        in ``keep``; ``product_alpha`` completed under ``mask``."""
        ...


# --- Resize's frame fit and check's pixel rules (issue 13: the orchestrator has no OpenCV) ---


@dataclass(frozen=True)
class FitResult:
    """A photo fitted to a frame (``Framer.fit``)."""

    image: ImageArray  # height x width x 3
    alpha: AlphaArray  # the product alpha moved with the image (0 in synthesised areas)
    product_box: Box | None  # in the output frame; None when no product was found
    scale: float  # output px per input px
    extended: MaskArray  # 255 where pixels were synthesised (not from the input photo)


@runtime_checkable
class Framer(Protocol):
    """Fits a product photo into a frame without cropping the product (``resize``), and
    fine-tunes a finished image (``adjust``).

    In process: ``globalpic_generation.canvas.CanvasFramer`` (the classical fit, or the
    configured generative outpainter / upscaler); remote: the generation service's client
    (``Fit``, ``EnforceWhite``).
    """

    def fit(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        width: int,
        height: int,
        *,
        fill: float | None = None,
        background: Literal["extend", "white"] = "extend",
        white_background: bool = False,
    ) -> FitResult:
        """``image`` (product matte ``alpha``) fitted to ``width`` x ``height``: the product
        box spans ``fill`` of the frame (None: as large as fits with a margin); new area is
        white ("white", the product centred) or synthesised from the photo ("extend").
        ``white_background``: then every pixel away from the product becomes RGB 255
        (``enforce_white``)."""
        ...

    def enforce_white(self, image: ImageArray, alpha: AlphaArray) -> ImageArray:
        """Every pixel away from the product (``alpha``) exactly RGB 255, the product's edge
        faded to white; ``no_product`` when the alpha holds none."""
        ...

    def adjust(
        self,
        image: ImageArray,
        *,
        brightness: float = 0.0,
        saturation: float = 0.0,
        detail: float = 0.0,
        strength: float = 1.0,
        original: ImageArray | None = None,
        alpha: AlphaArray | None = None,
    ) -> ImageArray:
        """Fine-tuning of a finished image (``globalpic_generation.adjust.adjust``): the
        same image service finishes a frame and fine-tunes its result."""
        ...


@runtime_checkable
class RuleJudge(Protocol):
    """Judges a platform's pixel rules on an image (``check``): min size, white background,
    product fill, overlay text.

    In process: ``globalpic_segmentation.rules.PixelRules`` (``evaluate_rules``); remote: the
    segmentation service's client (``EvaluateRules``).
    """

    def evaluate(
        self,
        image: ImageArray,
        product_mask: MaskArray,
        platform: Platform,
        overlay_texts: list[TextRegion] | None = None,
        *,
        estimated_mask: bool = False,
    ) -> list[RuleResult]:
        """The rules of ``platform`` on ``image`` (product pixels: ``product_mask`` > 0);
        ``overlay_text`` only when ``overlay_texts`` is given; ``estimated_mask``: the mask is
        the judge's own guess, which a white background may complete."""
        ...


# --- copy ---------------------------------------------------------------------------------

DEFAULT_VARIANTS = 5


@runtime_checkable
class Copywriter(Protocol):
    """Writes ``n`` A/B variants of one product's copy for one platform.

    ``platform``: amazon, ebay, shopify, tiktok, instagram, facebook (or a preset id such as
    ``shopify-product``); an unknown one is ``BadInputError`` ``unknown_platform``. The report
    carries every rule and quality check; ``report.image`` is left for the caller.
    """

    name: str

    def load(self) -> None: ...

    def write(self, facts: CopyFacts, platform: str, n: int = DEFAULT_VARIANTS) -> CopyReport: ...

"""The domain interfaces the pipeline depends on.

The in-process implementations (``globalpic_ocr``, ``globalpic_segmentation``,
``globalpic_generation``) and, later, their gRPC clients implement these, so the same
orchestration code runs in the CLI and across the cluster.

Images are ``numpy.uint8`` arrays, H x W x 3, RGB. Masks are ``numpy.uint8`` H x W with
0 / 255 unless stated otherwise.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from globalpic_common.schemas import TextLine

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

"""What ``Localizer`` needs of its extractor and remixer, as protocols.

The in-process ``Extractor`` / ``Remixer`` and the gRPC ``SegmentationClient`` /
``GenerationClient`` all satisfy them, so the composition root (``backends``) may hand either
to the same orchestration code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.schemas import TextRegion

if TYPE_CHECKING:
    from globalpic_common.results import Cutout, ExtractMode, RemixResult


class CutoutExtractor(Protocol):
    def extract(
        self,
        image: ImageArray,
        mode: ExtractMode = ...,
        coarse: AlphaArray | None = None,
        texts: Sequence[TextRegion] = (),
    ) -> Cutout: ...


class BackgroundRemixer(Protocol):
    def remix(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        *,
        style_id: str | None = None,
        background: ImageArray | None = None,
        seed: int = 0,
        backgrounds_dir: Path | None = None,
    ) -> RemixResult: ...

    def candidates(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        style_id: str,
        n: int,
        *,
        seed: int = 0,
        backgrounds_dir: Path | None = None,
    ) -> list[RemixResult]: ...

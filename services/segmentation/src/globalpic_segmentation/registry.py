"""Which segmenter a name in the settings means: the one place that maps
``GLOBALPIC_SEGMENTATION__SEGMENTER`` to a class (the server, the extractor and the
composition roots all build through ``build_segmenter``).

Building is cheap and loads nothing: each class loads its weights in ``load()`` (SAM imports
torch there, not here)."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from globalpic_common.interfaces import Segmenter
from globalpic_segmentation.isnet import IsNetSegmenter
from globalpic_segmentation.sam import SamSegmenter
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter

SEGMENTERS: MappingProxyType[str, Callable[[SegmentationSettings], Segmenter]] = MappingProxyType(
    {
        "isnet": IsNetSegmenter,  # the default: DIS, 1024 px
        "u2netp": U2NetSegmenter,  # the fast fallback: 320 px
        "sam": SamSegmenter,  # GPU: prompted by U2-Net-p's salient box
    }
)


def build_segmenter(settings: SegmentationSettings | None = None) -> Segmenter:
    """The segmenter the settings name (``SegmentationSettings.segmenter``)."""
    settings = settings or SegmentationSettings()
    return SEGMENTERS[settings.segmenter](settings)

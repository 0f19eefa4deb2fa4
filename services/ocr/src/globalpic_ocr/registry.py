"""Which text detector a name in the settings means: the one place that maps
``GLOBALPIC_OCR__BACKEND`` to a class (the server and the composition roots build through
``build_detector``).

Building is cheap and loads nothing: each class loads its engine in ``load()`` (EasyOCR
imports torch there, not here)."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from globalpic_common.interfaces import TextDetector
from globalpic_ocr.detector import EasyOcrDetector, RapidOcrDetector
from globalpic_ocr.settings import OcrSettings

DETECTORS: MappingProxyType[str, Callable[[OcrSettings], TextDetector]] = MappingProxyType(
    {
        "rapidocr": RapidOcrDetector,  # the default: PP-OCR on onnxruntime
        "easyocr": EasyOcrDetector,  # opt-in extra (torch)
    }
)


def build_detector(settings: OcrSettings | None = None) -> TextDetector:
    """The detector the settings name (``OcrSettings.backend``)."""
    settings = settings or OcrSettings()
    return DETECTORS[settings.backend](settings)

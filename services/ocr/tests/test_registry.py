"""The OCR registry maps each backend the settings accept to its class, building nothing heavy."""

from __future__ import annotations

from typing import get_args

from globalpic_ocr.detector import EasyOcrDetector, RapidOcrDetector
from globalpic_ocr.registry import DETECTORS, build_detector
from globalpic_ocr.settings import OcrSettings


def test_every_backend_the_settings_accept_is_registered() -> None:
    accepted = set(get_args(OcrSettings.model_fields["backend"].annotation))
    assert accepted == set(DETECTORS)


def test_build_detector_follows_the_settings_and_loads_nothing() -> None:
    rapid = build_detector(OcrSettings())
    easy = build_detector(OcrSettings(backend="easyocr"))
    assert isinstance(rapid, RapidOcrDetector) and isinstance(easy, EasyOcrDetector)
    assert not rapid.loaded and not easy.loaded  # engines load in load(), not here

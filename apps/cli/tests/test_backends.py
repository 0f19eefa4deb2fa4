"""The composition root picks each backend from settings: in process, or the service's client."""

from __future__ import annotations

import pytest

from globalpic_cli.embedded import cleaner_from_settings, localizer_from_settings
from globalpic_clients.generation import GenerationClient
from globalpic_clients.ocr import OcrClient
from globalpic_clients.segmentation import SegmentationClient
from globalpic_generation.remix import Remixer
from globalpic_ocr.detector import RapidOcrDetector
from globalpic_orchestrator.pipeline.backends import PipelineSettings
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.isnet import IsNetSegmenter


def _default_segmenter(monkeypatch: pytest.MonkeyPatch) -> None:
    """IS-Net is the default product segmenter (an explicit U-2-Net-p model path picks that)."""
    for name in ("SEGMENTER", "MODEL_PATH", "ISNET_PATH"):
        monkeypatch.delenv(f"GLOBALPIC_SEGMENTATION__{name}", raising=False)


def test_no_addresses_means_everything_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    _default_segmenter(monkeypatch)
    for peer in ("OCR", "SEGMENTATION", "GENERATION"):
        monkeypatch.delenv(f"GLOBALPIC_PIPELINE__{peer}_ADDR", raising=False)
    localizer = localizer_from_settings()
    assert isinstance(localizer.cleaner.detector, RapidOcrDetector)
    assert isinstance(localizer.segmenter, IsNetSegmenter)
    assert isinstance(localizer.extractor, Extractor)
    assert localizer.extractor.segmenter is localizer.segmenter  # one model for every op
    assert isinstance(localizer.remixer, Remixer)


def test_addresses_from_the_environment_select_the_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens there: building a client connects lazily, so this needs no server.
    _default_segmenter(monkeypatch)
    monkeypatch.setenv("GLOBALPIC_PIPELINE__OCR_ADDR", "127.0.0.1:1")
    monkeypatch.setenv("GLOBALPIC_PIPELINE__GENERATION_ADDR", "127.0.0.1:3")
    monkeypatch.setenv("GLOBALPIC_PIPELINE__RPC_TIMEOUT_S", "7.5")
    monkeypatch.delenv("GLOBALPIC_PIPELINE__SEGMENTATION_ADDR", raising=False)
    localizer = localizer_from_settings()
    detector = localizer.cleaner.detector
    assert isinstance(detector, OcrClient)
    assert detector.addr == "127.0.0.1:1" and detector.timeout_s == 7.5
    assert isinstance(localizer.segmenter, IsNetSegmenter)  # a mix is fine
    assert isinstance(localizer.cleaner.inpainter, GenerationClient)
    assert localizer.remixer is localizer.cleaner.inpainter  # one client for both roles


def test_one_segmentation_client_serves_segment_and_extract() -> None:
    settings = PipelineSettings(segmentation_addr="127.0.0.1:2")
    localizer = localizer_from_settings(settings)
    assert isinstance(localizer.segmenter, SegmentationClient)
    assert localizer.extractor is localizer.segmenter
    assert isinstance(cleaner_from_settings(settings).segmenter, SegmentationClient)

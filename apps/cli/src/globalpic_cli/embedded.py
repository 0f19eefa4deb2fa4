"""The embedded composition root: the pipeline with its models in this process.

What the ``globalpic`` command and ``make demo`` run on (one process, no network), and the
tests' and benches' way to the real models. ``GLOBALPIC_PIPELINE__<SERVICE>_ADDR`` still
switches any one service to its gRPC client (``remote_*`` of the orchestrator's root); any mix
works. Unset, the model is built from its own service's settings (``GLOBALPIC_OCR__*``,
``GLOBALPIC_SEGMENTATION__*``, ``GLOBALPIC_GENERATION__*``, ``GLOBALPIC_COPYWRITING__*``).

This module and the CLI's commands are the one place, beside ``bench/`` and the tests, that
imports the model services' packages.
"""

from __future__ import annotations

from globalpic_common.interfaces import (
    Copywriter,
    EraseMasker,
    Framer,
    Inpainter,
    RuleJudge,
    Segmenter,
    TextDetector,
)
from globalpic_common.platforms import Platform
from globalpic_orchestrator.pipeline.backends import (
    Backends,
    PipelineSettings,
    assemble,
    remote_copywriter,
    remote_generation,
    remote_segmentation,
    remote_text,
)
from globalpic_orchestrator.pipeline.check import Checker
from globalpic_orchestrator.pipeline.clean import Cleaner
from globalpic_orchestrator.pipeline.localize import Localizer
from globalpic_orchestrator.pipeline.ports import BackgroundRemixer, CutoutExtractor
from globalpic_orchestrator.pipeline.texts import Classifier


def _text(settings: PipelineSettings) -> tuple[TextDetector, Classifier]:
    remote = remote_text(settings)
    if remote is not None:
        return remote
    from globalpic_ocr.overlay import classify_lines
    from globalpic_ocr.registry import build_detector

    return build_detector(), classify_lines


def _segmentation(settings: PipelineSettings) -> tuple[Segmenter, CutoutExtractor, RuleJudge]:
    remote = remote_segmentation(settings)
    if remote is not None:
        return remote
    from globalpic_segmentation.extract import Extractor
    from globalpic_segmentation.registry import build_segmenter
    from globalpic_segmentation.rules import PixelRules

    segmenter = build_segmenter()
    return segmenter, Extractor(segmenter), PixelRules()


def _generation(
    settings: PipelineSettings,
) -> tuple[Inpainter, BackgroundRemixer, EraseMasker, Framer]:
    remote = remote_generation(settings)
    if remote is not None:
        return remote
    from globalpic_generation.clean_mask import CleanMasker
    from globalpic_generation.registry import build_inpainter
    from globalpic_generation.remix import Remixer

    return build_inpainter(), Remixer.from_settings(), CleanMasker(), _local_framer()


def _local_framer() -> Framer:
    """Generation's canvas fit in process, generative as ``GLOBALPIC_GENERATION__*`` say."""
    from globalpic_generation.canvas import CanvasFramer, build_canvas_backends

    return CanvasFramer(build_canvas_backends())


def copywriter_from_settings(settings: PipelineSettings | None = None) -> Copywriter:
    """The configured ``Copywriter``: the service's client, or one in this process."""
    settings = settings or PipelineSettings()
    remote = remote_copywriter(settings)
    if remote is not None:
        return remote
    from globalpic_copywriting.registry import build_copywriter

    return build_copywriter()  # offline, or the model GLOBALPIC_COPYWRITING__* names


def framer_from_settings(settings: PipelineSettings | None = None) -> Framer:
    """Resize's frame fit: the generation service's, or generation's canvas in process (only
    the framer is built)."""
    remote = remote_generation(settings or PipelineSettings())
    return remote[3] if remote is not None else _local_framer()


def backends_from_settings(settings: PipelineSettings | None = None) -> Backends:
    """Every backend in this process, except the services ``settings`` give an address."""
    settings = settings or PipelineSettings()
    return assemble(
        _text(settings),
        _segmentation(settings),
        _generation(settings),
        copywriter_from_settings(settings),
    )


def cleaner_from_settings(settings: PipelineSettings | None = None) -> Cleaner:
    """A ``Cleaner`` building only what clean needs (OCR, segmenter, inpainter, masker)."""
    settings = settings or PipelineSettings()
    detector, classify = _text(settings)
    segmenter = _segmentation(settings)[0]
    inpainter, _, masker, _ = _generation(settings)
    return Cleaner(detector, segmenter, inpainter, classify=classify, masker=masker)


def checker_from_settings(platform: Platform, settings: PipelineSettings | None = None) -> Checker:
    return backends_from_settings(settings).checker(platform)


def localizer_from_settings(settings: PipelineSettings | None = None) -> Localizer:
    return backends_from_settings(settings).localizer()

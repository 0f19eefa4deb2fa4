"""The composition root: in-process models, or the services over gRPC, chosen by settings.

``GLOBALPIC_PIPELINE__OCR_ADDR``, ``__SEGMENTATION_ADDR``, ``__GENERATION_ADDR`` and
``__COPYWRITING_ADDR`` (``host:port``) each switch one backend to its service; unset, the
model runs in this process (the copywriter: ``GLOBALPIC_COPYWRITING__BACKEND``). Any mix
works: the pipeline only sees the domain interfaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from globalpic_common.interfaces import (
    EraseMasker,
    Framer,
    Inpainter,
    RuleJudge,
    Segmenter,
    TextDetector,
)
from globalpic_common.settings import ServiceSettings, settings_config
from globalpic_generation.canvas import CanvasBackends, build_canvas_backends
from globalpic_pipeline.clean import Cleaner
from globalpic_pipeline.localize import Localizer
from globalpic_pipeline.ports import BackgroundRemixer, CutoutExtractor
from globalpic_pipeline.texts import Classifier

if TYPE_CHECKING:
    from globalpic_common.platforms import Platform
    from globalpic_copywriting.copywriter import Copywriter
    from globalpic_generation.client import GenerationClient
    from globalpic_pipeline.check import Checker
    from globalpic_pipeline.frame import Frame


class PipelineSettings(ServiceSettings):
    model_config = settings_config("pipeline")

    ocr_addr: str | None = None
    segmentation_addr: str | None = None
    generation_addr: str | None = None
    copywriting_addr: str | None = None
    # Deadline of one call to a service; a CPU inpaint or remix of a large photo takes seconds.
    rpc_timeout_s: float = 60.0


def _text(settings: PipelineSettings) -> tuple[TextDetector, Classifier]:
    """The text detector and the overlay classifier: both the OCR service's when it is
    remote (``Detect`` and ``Classify``), else both in this process."""
    if settings.ocr_addr:
        from globalpic_ocr.client import OcrClient

        client = OcrClient(settings.ocr_addr, timeout_s=settings.rpc_timeout_s)
        return client, client.classify
    from globalpic_ocr.detector import build_detector
    from globalpic_ocr.overlay import classify_lines

    return build_detector(), classify_lines


def _segmentation(settings: PipelineSettings) -> tuple[Segmenter, CutoutExtractor]:
    if settings.segmentation_addr:
        from globalpic_segmentation.client import SegmentationClient

        client = SegmentationClient(settings.segmentation_addr, timeout_s=settings.rpc_timeout_s)
        return client, client
    from globalpic_segmentation.extract import Extractor
    from globalpic_segmentation.registry import build_segmenter

    segmenter = build_segmenter()
    return segmenter, Extractor(segmenter)


def _generation(
    settings: PipelineSettings,
) -> tuple[Inpainter, BackgroundRemixer, EraseMasker]:
    """The inpainter, the remixer and clean's erase masker: all the generation service's
    when it is remote (``Inpaint``, ``Remix``, ``EraseFirstPass`` / ``EraseLocate`` /
    ``EraseResidualPass`` / ``EraseFinish``), else all in this process."""
    if settings.generation_addr:
        from globalpic_generation.client import GenerationClient

        client = GenerationClient(settings.generation_addr, timeout_s=settings.rpc_timeout_s)
        return client, client, client
    from globalpic_generation.clean_mask import CleanMasker
    from globalpic_generation.registry import build_inpainter
    from globalpic_generation.remix import Remixer

    return build_inpainter(), Remixer.from_settings(), CleanMasker()


def canvas_from_settings(
    settings: PipelineSettings | None = None, remote: GenerationClient | None = None
) -> CanvasBackends:
    """Resize's generative backends, as ``GLOBALPIC_GENERATION__OUTPAINTER`` / ``__UPSCALER``
    say (classical by default). With ``GENERATION_ADDR`` a generative one is the service
    (``remote``, or a new client: the server runs the model, configured the same way);
    otherwise this process loads it."""
    settings = settings or PipelineSettings()
    local = build_canvas_backends()
    if not settings.generation_addr or not local.generative:
        return local
    if remote is None:
        from globalpic_generation.client import GenerationClient

        remote = GenerationClient(settings.generation_addr, timeout_s=settings.rpc_timeout_s)
    return CanvasBackends(
        outpainter=remote if local.outpainter is not None else None,
        upscaler=remote if local.upscaler is not None else None,
    )


# --- Resize's frame fit and check's pixel rules (the services' Fit and EvaluateRules) ---


def framer_from_settings(
    settings: PipelineSettings | None = None, remote: GenerationClient | None = None
) -> Framer:
    """Resize's frame fit: the generation service's (``Fit``, ``EnforceWhite``; ``remote``,
    or a new client) with ``GENERATION_ADDR``, where the server's outpainter / upscaler
    settings apply; otherwise generation's canvas in this process, generative as
    ``GLOBALPIC_GENERATION__OUTPAINTER`` / ``__UPSCALER`` say (classical by default)."""
    settings = settings or PipelineSettings()
    if settings.generation_addr:
        if remote is None:
            from globalpic_generation.client import GenerationClient

            remote = GenerationClient(settings.generation_addr, timeout_s=settings.rpc_timeout_s)
        return remote
    from globalpic_generation.canvas import CanvasFramer

    return CanvasFramer(build_canvas_backends())


def _segmentation_and_rules(
    settings: PipelineSettings,
) -> tuple[Segmenter, CutoutExtractor, RuleJudge]:
    """The segmenter, the extractor and check's pixel rules: all the segmentation service's
    when it is remote (one client: ``Segment``, ``Extract``, ``EvaluateRules``), else all in
    this process (``rules.PixelRules``)."""
    if settings.segmentation_addr:
        from globalpic_segmentation.client import SegmentationClient

        client = SegmentationClient(settings.segmentation_addr, timeout_s=settings.rpc_timeout_s)
        return client, client, client
    from globalpic_segmentation.rules import PixelRules

    segmenter, extractor = _segmentation(settings)
    return segmenter, extractor, PixelRules()


def copywriter_from_settings(settings: PipelineSettings | None = None) -> Copywriter:
    """The configured ``Copywriter``: the service's client, or one in this process."""
    settings = settings or PipelineSettings()
    if settings.copywriting_addr:
        from globalpic_copywriting.client import CopywritingClient

        return CopywritingClient(settings.copywriting_addr, timeout_s=settings.rpc_timeout_s)
    from globalpic_copywriting.copywriter import build_copywriter

    return build_copywriter()  # offline, or the model GLOBALPIC_COPYWRITING__* names


def cleaner_from_settings(settings: PipelineSettings | None = None) -> Cleaner:
    """A ``Cleaner`` on the configured backends (only OCR, segmenter, inpainter are built)."""
    settings = settings or PipelineSettings()
    segmenter, _ = _segmentation(settings)
    inpainter, _, masker = _generation(settings)
    detector, classify = _text(settings)
    return Cleaner(detector, segmenter, inpainter, classify=classify, masker=masker)


def checker_from_settings(platform: Platform, settings: PipelineSettings | None = None) -> Checker:
    """A ``Checker`` judging the product by the refined matte (as ``extract`` cuts it)."""
    from globalpic_pipeline.check import Checker

    settings = settings or PipelineSettings()
    segmenter, extractor, judge = _segmentation_and_rules(settings)
    detector, classify = _text(settings)
    return Checker(
        platform, detector, segmenter, classify=classify, judge=judge, extractor=extractor
    )


def localizer_from_settings(settings: PipelineSettings | None = None) -> Localizer:
    """A ``Localizer`` whose OCR, segmentation and generation run in process or remotely,
    per ``PipelineSettings``; one detector and one segmenter serve every op. Resize's fit
    follows ``framer_from_settings``, check's rules ``_segmentation_and_rules``."""
    from globalpic_pipeline.check import Checker

    settings = settings or PipelineSettings()
    segmenter, extractor, judge = _segmentation_and_rules(settings)
    inpainter, remixer, masker = _generation(settings)
    detector, classify = _text(settings)
    cleaner = Cleaner(detector, segmenter, inpainter, classify=classify, masker=masker)
    remote = None  # the generation service's client: resize shares its channel
    if settings.generation_addr:
        from globalpic_generation.client import GenerationClient

        assert isinstance(remixer, GenerationClient)
        remote = remixer

    def checker_for(frame: Frame) -> Checker | None:
        if frame.platform is None:
            return None
        return Checker(
            frame.platform,
            cleaner.detector,
            cleaner.segmenter,
            classify=cleaner.classify,
            judge=judge,
            extractor=extractor,
        )

    return Localizer(
        cleaner,
        extractor,
        remixer,
        checker_for,
        copywriter_from_settings(settings),
        framer=framer_from_settings(settings, remote=remote),
    )

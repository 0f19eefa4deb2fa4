"""The pipeline's backends, and the orchestrator's composition root: every one a service's
client.

``Backends`` bundles what the ops run on (OCR detector and overlay classifier; segmenter,
extractor and check's pixel rules; inpainter, remixer, clean's erase masker and resize's
framer; the copywriter) and assembles the ``Cleaner``, ``Checker`` and ``Localizer`` from
them, whoever built them. ``remote_backends`` builds them all from the services' gRPC clients
(``GLOBALPIC_PIPELINE__<SERVICE>_ADDR``, ``host:port`` or a replica list, see
``globalpic_common.grpc_client``): this package never imports a model. The embedded root,
with the models in one process (the CLI, ``make demo``), is ``globalpic_cli.embedded``; it
uses the ``remote_*`` builders below for whichever services have an address.
"""

from __future__ import annotations

from dataclasses import dataclass

from globalpic_clients.copywriting import CopywritingClient
from globalpic_clients.generation import GenerationClient
from globalpic_clients.ocr import OcrClient
from globalpic_clients.segmentation import SegmentationClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError
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
from globalpic_common.settings import ServiceSettings, settings_config
from globalpic_orchestrator.pipeline.check import Checker
from globalpic_orchestrator.pipeline.clean import Cleaner
from globalpic_orchestrator.pipeline.frame import Frame
from globalpic_orchestrator.pipeline.localize import Localizer
from globalpic_orchestrator.pipeline.ports import BackgroundRemixer, CutoutExtractor
from globalpic_orchestrator.pipeline.texts import Classifier


class PipelineSettings(ServiceSettings):
    model_config = settings_config("pipeline")

    ocr_addr: str | None = None
    segmentation_addr: str | None = None
    generation_addr: str | None = None
    copywriting_addr: str | None = None
    # Deadline of one call to a service; a CPU inpaint or remix of a large photo takes seconds.
    rpc_timeout_s: float = 60.0


@dataclass(frozen=True)
class Backends:
    detector: TextDetector
    classify: Classifier  # the overlay / product / scene decision per line
    segmenter: Segmenter
    extractor: CutoutExtractor
    judge: RuleJudge  # check's pixel rules
    inpainter: Inpainter
    remixer: BackgroundRemixer
    masker: EraseMasker  # clean's erase masks
    framer: Framer  # resize's frame fit
    copywriter: Copywriter

    def cleaner(self) -> Cleaner:
        return Cleaner(
            self.detector,
            self.segmenter,
            self.inpainter,
            classify=self.classify,
            masker=self.masker,
        )

    def checker(self, platform: Platform) -> Checker:
        """A ``Checker`` judging the product by the refined matte (as ``extract`` cuts it)."""
        return Checker(
            platform,
            self.detector,
            self.segmenter,
            classify=self.classify,
            judge=self.judge,
            extractor=self.extractor,
        )

    def localizer(self) -> Localizer:
        """One detector and one segmenter serve every op."""

        def checker_for(frame: Frame) -> Checker | None:
            return None if frame.platform is None else self.checker(frame.platform)

        return Localizer(
            self.cleaner(),
            self.extractor,
            self.remixer,
            checker_for,
            self.copywriter,
            framer=self.framer,
        )


def remote_text(settings: PipelineSettings) -> tuple[TextDetector, Classifier] | None:
    """The OCR service's ``Detect`` and ``Classify``; None without its address."""
    if not settings.ocr_addr:
        return None
    client = OcrClient(settings.ocr_addr, timeout_s=settings.rpc_timeout_s)
    return client, client.classify


def remote_segmentation(
    settings: PipelineSettings,
) -> tuple[Segmenter, CutoutExtractor, RuleJudge] | None:
    """One segmentation client for ``Segment``, ``Extract`` and ``EvaluateRules``."""
    if not settings.segmentation_addr:
        return None
    client = SegmentationClient(settings.segmentation_addr, timeout_s=settings.rpc_timeout_s)
    return client, client, client


def remote_generation(
    settings: PipelineSettings,
) -> tuple[Inpainter, BackgroundRemixer, EraseMasker, Framer] | None:
    """One generation client for ``Inpaint``, ``Remix``, the ``Erase*`` mask steps and
    ``Fit`` / ``EnforceWhite`` (where the server's outpainter / upscaler settings apply)."""
    if not settings.generation_addr:
        return None
    client = GenerationClient(settings.generation_addr, timeout_s=settings.rpc_timeout_s)
    return client, client, client, client


def remote_copywriter(settings: PipelineSettings) -> Copywriter | None:
    if not settings.copywriting_addr:
        return None
    return CopywritingClient(settings.copywriting_addr, timeout_s=settings.rpc_timeout_s)


def remote_backends(settings: PipelineSettings | None = None) -> Backends:
    """Every backend a service's client; ``bad_option`` naming each address not set."""
    settings = settings or PipelineSettings()
    text = remote_text(settings)
    segmentation = remote_segmentation(settings)
    generation = remote_generation(settings)
    copywriter = remote_copywriter(settings)
    missing = [
        f"GLOBALPIC_PIPELINE__{name.upper()}_ADDR"
        for name, built in (
            ("ocr", text),
            ("segmentation", segmentation),
            ("generation", generation),
            ("copywriting", copywriter),
        )
        if built is None
    ]
    if text is None or segmentation is None or generation is None or copywriter is None:
        raise BadInputError(
            f"the orchestrator reaches its models only through their services: set "
            f"{', '.join(missing)} (host:port); globalpic_cli.embedded runs them in process",
            code=errors.BAD_OPTION,
        )
    return assemble(text, segmentation, generation, copywriter)


def assemble(
    text: tuple[TextDetector, Classifier],
    segmentation: tuple[Segmenter, CutoutExtractor, RuleJudge],
    generation: tuple[Inpainter, BackgroundRemixer, EraseMasker, Framer],
    copywriter: Copywriter,
) -> Backends:
    """``Backends`` from what each service (its client, or its models in process) provides."""
    detector, classify = text
    segmenter, extractor, judge = segmentation
    inpainter, remixer, masker, framer = generation
    return Backends(
        detector=detector,
        classify=classify,
        segmenter=segmenter,
        extractor=extractor,
        judge=judge,
        inpainter=inpainter,
        remixer=remixer,
        masker=masker,
        framer=framer,
        copywriter=copywriter,
    )

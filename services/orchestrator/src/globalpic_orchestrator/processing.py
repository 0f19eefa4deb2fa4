"""What the runner does to one image: decode, run ``localize``, encode the finals.

``ImageProcessor`` is the seam between the runner (messages, records, events) and the pipeline.
``LocalizerProcessor`` is the real one: the pipeline's ``Localizer``, in the orchestrator on
the services' clients (``from_settings``: ``GLOBALPIC_PIPELINE__<SERVICE>_ADDR``), or on models
in one process when an embedded root builds it (``make dev --in-process``, the tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from globalpic_common.imageio import ImageLimits, decode_image, encode_image
from globalpic_common.schemas import ImageReport, ProgressStage
from globalpic_jobs.options import JobOptions
from globalpic_orchestrator.pipeline.backends import PipelineSettings, remote_backends

if TYPE_CHECKING:
    from globalpic_orchestrator.pipeline.localize import Localizer

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}

ProgressFn = Callable[[ProgressStage], None]


def backend_label(pipeline: PipelineSettings) -> str:
    """``globalpic_stage_seconds``' backend label: the services called over gRPC, or
    ``in-process``."""
    remote = [
        name
        for name, addr in (
            ("ocr", pipeline.ocr_addr),
            ("segmentation", pipeline.segmentation_addr),
            ("generation", pipeline.generation_addr),
        )
        if addr
    ]
    return "grpc:" + "+".join(remote) if remote else "in-process"


@dataclass
class ProcessedImage:
    finals: list[bytes]  # encoded, one per candidate
    content_type: str
    report: ImageReport  # outputs filled in by the runner once stored
    seconds: dict[str, float] = field(default_factory=dict)


class ImageProcessor(Protocol):
    backend: str

    def process(
        self, data: bytes, filename: str, options: JobOptions, on_progress: ProgressFn
    ) -> ProcessedImage:
        """Blocking and CPU-bound: the runner calls it in a worker thread. Bad input raises
        ``BadInputError`` (the image fails for good); anything else is retried."""
        ...


class LocalizerProcessor:
    def __init__(
        self,
        localizer: Localizer,
        limits: ImageLimits,
        output_format: str,
        backend: str = "in-process",
    ) -> None:
        self.localizer = localizer
        self.limits = limits
        self.output_format = output_format
        self.backend = backend  # the label of globalpic_stage_seconds
        self._loaded: set[tuple[str, ...]] = set()
        self._load_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, limits: ImageLimits, output_format: str, pipeline: PipelineSettings | None = None
    ) -> LocalizerProcessor:
        """The orchestrator's: every model behind its service (``remote_backends``; a missing
        ``GLOBALPIC_PIPELINE__*_ADDR`` is ``bad_option``, named)."""
        pipeline = pipeline or PipelineSettings()
        localizer = remote_backends(pipeline).localizer()
        return cls(localizer, limits, output_format, backend_label(pipeline))

    def process(
        self, data: bytes, filename: str, options: JobOptions, on_progress: ProgressFn
    ) -> ProcessedImage:
        from globalpic_common.schemas import Op, parse_ops
        from globalpic_common.timing import StageTimer
        from globalpic_orchestrator.pipeline.frame import frame_for
        from globalpic_orchestrator.pipeline.localize import LocalizeOptions

        timer = StageTimer()
        with timer.stage("decode"):
            loaded = decode_image(data, filename, self.limits)
        ops = parse_ops(options.ops_text)
        with self._load_lock:  # models load once, whichever thread asks first
            if ops not in self._loaded:
                self.localizer.load(ops)
                self._loaded.add(ops)
        frame = frame_for(options.platform, None) if Op.RESIZE in ops else None
        localize_options = LocalizeOptions(
            ops=ops, style=options.style, candidates=options.candidates, frame=frame
        )
        result = self.localizer.run(loaded.rgb, localize_options, on_progress)

        fmt = self.output_format
        alpha = None
        if result.final_alpha is not None:
            alpha = np.clip(np.round(result.final_alpha * 255.0), 0, 255).astype(np.uint8)
            fmt = "png" if fmt == "jpg" else fmt  # a cut-out keeps its alpha
        with timer.stage("encode"):
            finals = [encode_image(image, fmt, alpha=alpha) for image in result.finals]
        seconds = {"decode": timer.seconds["decode"], **result.seconds}
        seconds["encode"] = timer.seconds["encode"]
        report = ImageReport(
            input=filename,
            width=int(result.finals[0].shape[1]),
            height=int(result.finals[0].shape[0]),
            texts=result.texts,
            style=result.style,
            platform=frame.platform.id if frame and frame.platform else None,
            checks=[rule for rules in result.checks for rule in rules],
            copy_report=result.copy,
            seconds=seconds,
            objects=result.objects,
        )
        return ProcessedImage(finals, CONTENT_TYPES[fmt], report, seconds)

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

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import ImageLimits, decode_image, encode_image
from globalpic_common.schemas import ImageReport, Op, ProgressStage
from globalpic_jobs.options import Adjustment, JobOptions
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


@dataclass(frozen=True)
class ImageInputs:
    """One image's bytes and the other files its processing reads (None: not given)."""

    data: bytes
    filename: str
    mask: bytes | None = None  # brush: white = erase this too
    keep_mask: bytes | None = None  # brush: white = never touch
    background: bytes | None = None  # remix: the seller's own background
    reference: bytes | None = None  # adjust: the photo strength blends back toward


@dataclass
class ProcessedImage:
    finals: list[bytes]  # encoded, one per candidate
    content_type: str
    report: ImageReport  # outputs filled in by the runner once stored
    seconds: dict[str, float] = field(default_factory=dict)


class ImageProcessor(Protocol):
    backend: str

    def process(
        self, inputs: ImageInputs, options: JobOptions, on_progress: ProgressFn
    ) -> ProcessedImage:
        """Blocking and CPU-bound: the runner calls it in a worker thread. Bad input raises
        ``BadInputError`` (the image fails for good); anything else is retried."""
        ...


def reference_at(reference: np.ndarray, width: int, height: int) -> np.ndarray:
    """The original photo at the result's size, for strength's blend. A remix keeps the
    aspect ratio; a platform frame may not, and another framing is another picture."""
    rh, rw = reference.shape[:2]
    if abs(rw / rh - width / height) > 0.01:
        raise BadInputError(
            f"strength below 1 blends toward the original photo ({rw}x{rh}), but this result "
            f"is {width}x{height}, framed for a marketplace: keep strength at 1",
            code=errors.BAD_OPTION,
        )
    if (rw, rh) == (width, height):
        return reference
    from PIL import Image

    resized = Image.fromarray(reference).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


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
        self, inputs: ImageInputs, options: JobOptions, on_progress: ProgressFn
    ) -> ProcessedImage:
        if options.adjust is not None:
            return self._adjust(inputs, options.adjust, on_progress)
        from globalpic_common.imageio import decode_mask
        from globalpic_common.schemas import Op, parse_ops
        from globalpic_common.timing import StageTimer
        from globalpic_orchestrator.pipeline.clean import CleanOptions
        from globalpic_orchestrator.pipeline.frame import frame_for
        from globalpic_orchestrator.pipeline.localize import LocalizeOptions

        timer = StageTimer()
        with timer.stage("decode"):
            loaded = decode_image(inputs.data, inputs.filename, self.limits)
            size = (loaded.width, loaded.height)
            add_mask = keep_mask = background = None
            if inputs.mask is not None:
                add_mask = decode_mask(inputs.mask, "mask", size)
            if inputs.keep_mask is not None:
                keep_mask = decode_mask(inputs.keep_mask, "keep_mask", size)
            if inputs.background is not None:
                background = decode_image(inputs.background, "background", self.limits).rgb
        ops = parse_ops(options.ops_text)
        self._load(ops)
        frame = frame_for(options.platform, None) if Op.RESIZE in ops else None
        platforms = options.copy_platforms
        localize_options = LocalizeOptions(
            ops=ops,
            clean=CleanOptions(add_mask=add_mask, keep_mask=keep_mask),
            style=options.style,
            background=background,
            candidates=options.candidates,
            frame=frame,
            copy_platform=platforms[0] if platforms else None,
            more_copy_platforms=platforms[1:],
            keywords=options.keywords,
            facts=options.facts,
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
            input=inputs.filename,
            width=int(result.finals[0].shape[1]),
            height=int(result.finals[0].shape[0]),
            texts=result.texts,
            style=result.style,
            platform=frame.platform.id if frame and frame.platform else None,
            checks=[rule for rules in result.checks for rule in rules],
            copy_report=result.copies[0] if result.copies else None,
            copies=result.copies,
            seconds=seconds,
            objects=result.objects,
        )
        return ProcessedImage(finals, CONTENT_TYPES[fmt], report, seconds)

    def _load(self, ops: tuple[Op, ...]) -> None:
        with self._load_lock:  # models load once, whichever thread asks first
            if ops not in self._loaded:
                self.localizer.load(ops)
                self._loaded.add(ops)

    def _adjust(
        self, inputs: ImageInputs, values: Adjustment, on_progress: ProgressFn
    ) -> ProcessedImage:
        """An adjust re-run: fine-tune one result (the input) the way ``globalpic adjust``
        does; strength below 1 blends its background back toward the reference photo (the
        parent's original), the product kept out of the blend by its matte."""
        from globalpic_common.timing import StageTimer

        timer = StageTimer()
        on_progress(ProgressStage.ANALYZE)
        with timer.stage("decode"):
            loaded = decode_image(inputs.data, inputs.filename, self.limits)
            original = None
            if values.strength < 1.0:
                if inputs.reference is None:
                    raise BadInputError(
                        "strength < 1 needs the original photo", code=errors.BAD_OPTION
                    )
                reference = decode_image(inputs.reference, "original", self.limits).rgb
                original = reference_at(reference, loaded.width, loaded.height)
        alpha = None
        if original is not None:
            if loaded.alpha is not None:
                alpha = loaded.alpha.astype(np.float32) / 255.0
            else:
                self._load(())
                with timer.stage("segment"):
                    alpha = self.localizer.segmenter.segment(loaded.rgb)
        on_progress(ProgressStage.RESIZE)  # 90 %: "optimizing the image"
        with timer.stage("adjust"):
            self._load((Op.RESIZE,))  # the generation backend that finishes images
            image = self.localizer.framer.adjust(
                loaded.rgb,
                brightness=values.brightness,
                saturation=values.saturation,
                detail=values.detail,
                strength=values.strength,
                original=original,
                alpha=alpha,
            )
        fmt = (
            "png"
            if loaded.alpha is not None and self.output_format == "jpg"
            else self.output_format
        )
        with timer.stage("encode"):
            final = encode_image(image, fmt, alpha=loaded.alpha)
        on_progress(ProgressStage.DONE)
        report = ImageReport(
            input=inputs.filename,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            seconds=timer.seconds,
        )
        return ProcessedImage([final], CONTENT_TYPES[fmt], report, timer.seconds)

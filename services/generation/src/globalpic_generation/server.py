"""The generation gRPC service (``globalpic-generation-server``): ``BuildEraseMask``, clean's
mask steps (``EraseFirstPass``, ``EraseLocate``, ``EraseResidualPass``, ``EraseFinish``),
``Inpaint``, ``Remix``, resize's ``Fit`` / ``EnforceWhite`` and its generative ``Outpaint`` /
``Upscale``.

Thin adapters over ``erase_mask.build_erase_mask``, ``clean_mask.CleanMasker``, the
configured ``Inpainter``
(``build_inpainter``), the ``Remixer`` and the
resize backends (``canvas.build_canvas_backends``: ``GLOBALPIC_GENERATION__OUTPAINTER`` /
``__UPSCALER``; a classical one has nothing to serve, so its RPC answers
FAILED_PRECONDITION / ``model_unavailable``: the caller fills or upscales classically).
The background library of approximate styles is the server's own directory
(``GLOBALPIC_GENERATION__BACKGROUNDS_DIR``), never a path sent by a caller: a caller's path
means nothing on another machine, and a server must not read directories a request names.
Settings: ``GLOBALPIC_GENERATION__PORT`` (50053), ``__METRICS_PORT`` (9453),
``__MAX_WORKERS``, ``__GRACE_S``, ``__LOG_LEVEL``, plus the inpainter's own settings.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

import grpc

from globalpic.generation.v1 import generation_pb2, generation_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError, ModelUnavailableError
from globalpic_common.grpc_server import GrpcServerSettings, Register, load_models, run_service
from globalpic_common.interfaces import Inpainter
from globalpic_common.metrics import observe_stages
from globalpic_common.models import unload_all
from globalpic_common.results import RemixResult
from globalpic_common.settings import settings_config
from globalpic_common.timing import StageTimer
from globalpic_common.wire import (
    alpha_from_proto,
    alpha_to_proto,
    box_to_proto,
    image_from_proto,
    image_to_proto,
    mask_from_proto,
    mask_to_proto,
    optional_alpha_from_proto,
    optional_mask_from_proto,
    same_size_image_from_proto,
    text_lines_from_proto,
)
from globalpic_generation.canvas import (
    CLASSICAL,
    CanvasBackends,
    CanvasFramer,
    build_canvas_backends,
)
from globalpic_generation.clean_mask import CleanMasker
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer

SERVICE = "generation"
# The metrics label of the CPU compositor (generated scenes report "zimage").
REMIX_BACKEND = "composite"
HEALTH_NAME = generation_pb2.DESCRIPTOR.services_by_name["GenerationService"].full_name


class GenerationServerSettings(GrpcServerSettings):
    model_config = settings_config(SERVICE)

    port: int = 50053
    metrics_port: int = 9453
    # Photos for approximate styles, one folder per style id (the CLI's --backgrounds).
    backgrounds_dir: Path | None = None


def _candidate(result: RemixResult) -> generation_pb2.RemixCandidate:
    return generation_pb2.RemixCandidate(
        image=image_to_proto(result.image),
        style_id=result.style_id,
        seed=result.seed,
        source=result.source,
        plate=image_to_proto(result.plate),
        seconds=result.seconds,
    )


def _seed(seed: int) -> int:
    if seed < 0:
        raise BadInputError(f"seed {seed} must be >= 0", code=errors.BAD_OPTION)
    return seed


class GenerationServicer(generation_pb2_grpc.GenerationServiceServicer):
    def __init__(
        self,
        inpainter: Inpainter,
        remixer: Remixer,
        backgrounds_dir: Path | None = None,
        canvas: CanvasBackends = CLASSICAL,
    ) -> None:
        self.inpainter = inpainter
        self.remixer = remixer
        self.backgrounds_dir = backgrounds_dir
        self.canvas = canvas
        # The mask settings (GLOBALPIC_GENERATION__MASK_*, __GLYPH_*, __BACKING_*) are this
        # process's, read at each call as in-process clean reads them from its environment.
        self.masker = CleanMasker()

    def BuildEraseMask(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: generation_pb2.BuildEraseMaskRequest, context: grpc.ServicerContext
    ) -> generation_pb2.BuildEraseMaskResponse:
        image = image_from_proto(request.image)
        lines = text_lines_from_proto(request.lines)
        protect = (
            mask_from_proto(request.protect, (image.shape[0], image.shape[1]), what="protect")
            if request.HasField("protect")
            else None
        )
        timer = StageTimer(backend="erase_mask")
        with timer.stage("mask"):
            # The mask settings (GLOBALPIC_GENERATION__MASK_*, __GLYPH_*, __BACKING_*) are this
            # process's, as in-process clean reads them from its own environment.
            mask = build_erase_mask(
                image, lines, protect=protect, backings=not request.strokes_only
            )
        return generation_pb2.BuildEraseMaskResponse(mask=mask_to_proto(mask))

    def EraseFirstPass(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: generation_pb2.EraseFirstPassRequest, context: grpc.ServicerContext
    ) -> generation_pb2.EraseFirstPassResponse:
        image = image_from_proto(request.image)
        shape = (image.shape[0], image.shape[1])
        lines = text_lines_from_proto(entry.line for entry in request.lines)
        timer = StageTimer(backend="erase_mask")
        with timer.stage("mask"):
            first = self.masker.first_pass(
                image,
                lines,
                [entry.wanted for entry in request.lines],
                optional_alpha_from_proto(
                    request.product_alpha, request.HasField("product_alpha"), shape
                ),
                keep=optional_mask_from_proto(
                    request.keep, request.HasField("keep"), shape, "keep"
                ),
                add=optional_mask_from_proto(request.add, request.HasField("add"), shape, "add"),
            )
        return generation_pb2.EraseFirstPassResponse(
            protected=first.protected,
            mask=mask_to_proto(first.mask),
            protect=mask_to_proto(first.protect),
            erased=mask_to_proto(first.erased),
        )

    def EraseLocate(  # noqa: N802
        self, request: generation_pb2.EraseLocateRequest, context: grpc.ServicerContext
    ) -> generation_pb2.EraseLocateResponse:
        lines = text_lines_from_proto(request.lines)
        erased = mask_from_proto(request.erased, what="erased")
        known = mask_from_proto(request.known, (erased.shape[0], erased.shape[1]), what="known")
        timer = StageTimer(backend="erase_mask")
        with timer.stage("locate"):
            overlaps = self.masker.locate(lines, erased, known)
        return generation_pb2.EraseLocateResponse(
            overlaps=[generation_pb2.LineOverlap(erased=e, known=k) for e, k in overlaps]
        )

    def EraseResidualPass(  # noqa: N802
        self, request: generation_pb2.EraseResidualPassRequest, context: grpc.ServicerContext
    ) -> generation_pb2.EraseResidualPassResponse:
        image = image_from_proto(request.image)
        shape = (image.shape[0], image.shape[1])
        newly = text_lines_from_proto(request.newly)
        residual = text_lines_from_proto(request.residual)
        kept = text_lines_from_proto(request.kept)
        newly_kept = text_lines_from_proto(request.newly_kept)
        timer = StageTimer(backend="erase_mask")
        with timer.stage("mask"):
            step = self.masker.residual_pass(
                image,
                newly,
                residual,
                kept,
                optional_alpha_from_proto(
                    request.product_alpha, request.HasField("product_alpha"), shape
                ),
                protect=mask_from_proto(request.protect, shape, what="protect"),
                erased=mask_from_proto(request.erased, shape, what="erased"),
                newly_kept=newly_kept,
            )
        return generation_pb2.EraseResidualPassResponse(
            extra=mask_to_proto(step.extra),
            protect=mask_to_proto(step.protect),
            erased=mask_to_proto(step.erased),
        )

    def EraseFinish(  # noqa: N802
        self, request: generation_pb2.EraseFinishRequest, context: grpc.ServicerContext
    ) -> generation_pb2.EraseFinishResponse:
        image = image_from_proto(request.image)
        shape = (image.shape[0], image.shape[1])
        erased = same_size_image_from_proto(request.erased, shape, what="erased")
        mask = mask_from_proto(request.mask, shape)
        timer = StageTimer(backend="erase_mask")
        with timer.stage("finish"):
            out, alpha = self.masker.finish(
                image,
                erased,
                mask,
                optional_alpha_from_proto(
                    request.product_alpha, request.HasField("product_alpha"), shape
                ),
                keep=optional_mask_from_proto(
                    request.keep, request.HasField("keep"), shape, "keep"
                ),
            )
        reply = generation_pb2.EraseFinishResponse(image=image_to_proto(out))
        if alpha is not None:
            reply.product_alpha.CopyFrom(alpha_to_proto(alpha))
        return reply

    def Inpaint(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: generation_pb2.InpaintRequest, context: grpc.ServicerContext
    ) -> generation_pb2.InpaintResponse:
        image = image_from_proto(request.image)
        mask = mask_from_proto(request.mask)
        product_alpha = (
            alpha_from_proto(
                request.product_alpha, (image.shape[0], image.shape[1]), what="product_alpha"
            )
            if request.HasField("product_alpha")
            else None
        )
        timer = StageTimer(backend=self.inpainter.name)
        with timer.stage("inpaint"):
            out = self.inpainter.inpaint(image, mask, product_alpha=product_alpha)
        return generation_pb2.InpaintResponse(
            image=image_to_proto(out), backend=self.inpainter.name
        )

    def Remix(  # noqa: N802
        self, request: generation_pb2.RemixRequest, context: grpc.ServicerContext
    ) -> generation_pb2.RemixResponse:
        image = image_from_proto(request.image)
        alpha = alpha_from_proto(request.alpha)
        scene = request.WhichOneof("scene")
        style_id = request.style_id if scene == "style_id" else None
        background = (
            image_from_proto(request.background, what="background")
            if scene == "background"
            else None
        )
        if request.HasField("n"):
            if style_id is None:
                raise BadInputError("candidates need a style id", code=errors.BAD_OPTION)
            results = self.remixer.candidates(
                image,
                alpha,
                style_id,
                request.n,
                seed=request.seed,
                backgrounds_dir=self.backgrounds_dir,
            )
        else:
            results = [
                self.remixer.remix(
                    image,
                    alpha,
                    style_id=style_id,
                    background=background,
                    seed=request.seed,
                    backgrounds_dir=self.backgrounds_dir,
                )
            ]
        for result in results:
            backend = "zimage" if result.source == "zimage" else REMIX_BACKEND
            observe_stages({f"remix.{k}": v for k, v in result.seconds.items()}, backend)
        return generation_pb2.RemixResponse(candidates=[_candidate(r) for r in results])

    def Outpaint(  # noqa: N802
        self, request: generation_pb2.OutpaintRequest, context: grpc.ServicerContext
    ) -> generation_pb2.OutpaintResponse:
        outpainter = self.canvas.outpainter
        if outpainter is None:
            raise ModelUnavailableError(
                "this generation server has no generative outpainter "
                "(GLOBALPIC_GENERATION__OUTPAINTER=zimage on the server)"
            )
        image = image_from_proto(request.image)
        known = mask_from_proto(request.known, (image.shape[0], image.shape[1]), what="known")
        if not (known > 0).any():
            raise BadInputError("outpaint needs some photo to continue", code=errors.BAD_MASK)
        timer = StageTimer(backend=outpainter.name)
        with timer.stage("outpaint"):
            out = outpainter.outpaint(image, known > 0, _seed(request.seed))
        observe_stages(timer.seconds, outpainter.name)
        return generation_pb2.OutpaintResponse(image=image_to_proto(out), backend=outpainter.name)

    def Upscale(  # noqa: N802
        self, request: generation_pb2.UpscaleRequest, context: grpc.ServicerContext
    ) -> generation_pb2.UpscaleResponse:
        upscaler = self.canvas.upscaler
        if upscaler is None:
            raise ModelUnavailableError(
                "this generation server has no generative upscaler "
                "(GLOBALPIC_GENERATION__UPSCALER=zimage on the server)"
            )
        image = image_from_proto(request.image)
        alpha = alpha_from_proto(request.alpha, (image.shape[0], image.shape[1]))
        if not request.scale > 0:
            raise BadInputError(f"scale {request.scale} must be > 0", code=errors.BAD_OPTION)
        timer = StageTimer(backend=upscaler.name)
        with timer.stage("upscale"):
            out = upscaler.upscale(image, alpha, request.scale, _seed(request.seed))
        observe_stages(timer.seconds, upscaler.name)
        return generation_pb2.UpscaleResponse(image=image_to_proto(out), backend=upscaler.name)

    # --- Resize's frame fit: ``canvas.CanvasFramer`` on this server's canvas backends ---

    def Fit(  # noqa: N802
        self, request: generation_pb2.FitRequest, context: grpc.ServicerContext
    ) -> generation_pb2.FitResponse:
        image = image_from_proto(request.image)
        alpha = alpha_from_proto(request.alpha, (image.shape[0], image.shape[1]))
        if request.background not in ("extend", "white"):
            raise BadInputError(
                f"background {request.background!r}: use 'extend' or 'white'",
                code=errors.BAD_OPTION,
            )
        background: Literal["extend", "white"] = (
            "white" if request.background == "white" else "extend"
        )
        timer = StageTimer(backend="canvas")
        with timer.stage("fit"):
            fitted = CanvasFramer(self.canvas).fit(
                image,
                alpha,
                request.width,
                request.height,
                fill=request.fill if request.HasField("fill") else None,
                background=background,
                white_background=request.white_background,
            )
        box = fitted.product_box
        return generation_pb2.FitResponse(
            image=image_to_proto(fitted.image),
            alpha=alpha_to_proto(fitted.alpha),
            product_box=box_to_proto(box) if box is not None else None,
            scale=fitted.scale,
            extended=mask_to_proto(fitted.extended),
        )

    def EnforceWhite(  # noqa: N802
        self, request: generation_pb2.EnforceWhiteRequest, context: grpc.ServicerContext
    ) -> generation_pb2.EnforceWhiteResponse:
        image = image_from_proto(request.image)
        alpha = alpha_from_proto(request.alpha, (image.shape[0], image.shape[1]))
        timer = StageTimer(backend="canvas")
        with timer.stage("enforce_white"):
            out = CanvasFramer(self.canvas).enforce_white(image, alpha)
        return generation_pb2.EnforceWhiteResponse(image=image_to_proto(out))

    def Adjust(  # noqa: N802
        self, request: generation_pb2.AdjustRequest, context: grpc.ServicerContext
    ) -> generation_pb2.AdjustResponse:
        image = image_from_proto(request.image)
        size = (image.shape[0], image.shape[1])
        original = image_from_proto(request.original) if request.HasField("original") else None
        alpha = alpha_from_proto(request.alpha, size) if request.HasField("alpha") else None
        timer = StageTimer(backend="classical")
        with timer.stage("adjust"):
            out = CanvasFramer(self.canvas).adjust(
                image,
                brightness=request.brightness,
                saturation=request.saturation,
                detail=request.detail,
                strength=request.strength,
                original=original,
                alpha=alpha,
            )
        return generation_pb2.AdjustResponse(image=image_to_proto(out))


def registrar(
    inpainter: Inpainter,
    remixer: Remixer,
    backgrounds_dir: Path | None = None,
    canvas: CanvasBackends = CLASSICAL,
) -> Register:
    def register(server: grpc.Server) -> None:
        servicer = GenerationServicer(inpainter, remixer, backgrounds_dir, canvas)
        generation_pb2_grpc.add_GenerationServiceServicer_to_server(servicer, server)

    return register


def main() -> None:
    settings = GenerationServerSettings()
    inpainter, remixer = build_inpainter(), Remixer.from_settings()
    canvas = build_canvas_backends()
    run_service(
        SERVICE,
        registrar(inpainter, remixer, settings.backgrounds_dir, canvas),
        settings,
        load=load_models(inpainter, remixer, canvas),
        unload=partial(unload_all, inpainter, remixer, canvas),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

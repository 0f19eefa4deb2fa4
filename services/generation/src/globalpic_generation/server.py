"""The generation gRPC service (``globalpic-generation-server``): ``Inpaint`` and ``Remix``.

Thin adapters over the configured ``Inpainter`` (``build_inpainter``) and the ``Remixer``.
The background library of approximate styles is the server's own directory
(``GLOBALPIC_GENERATION__BACKGROUNDS_DIR``), never a path sent by a caller: a caller's path
means nothing on another machine, and a server must not read directories a request names.
Settings: ``GLOBALPIC_GENERATION__PORT`` (50053), ``__METRICS_PORT`` (9453),
``__MAX_WORKERS``, ``__GRACE_S``, ``__LOG_LEVEL``, plus the inpainter's own settings.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from globalpic.generation.v1 import generation_pb2, generation_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import GrpcServerSettings, Register, load_models, run_service
from globalpic_common.interfaces import Inpainter
from globalpic_common.metrics import observe_stages
from globalpic_common.settings import settings_config
from globalpic_common.timing import StageTimer
from globalpic_common.wire import (
    alpha_from_proto,
    image_from_proto,
    image_to_proto,
    mask_from_proto,
)
from globalpic_generation.inpaint import build_inpainter
from globalpic_generation.remix import Remixer, RemixResult

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


class GenerationServicer(generation_pb2_grpc.GenerationServiceServicer):
    def __init__(
        self, inpainter: Inpainter, remixer: Remixer, backgrounds_dir: Path | None = None
    ) -> None:
        self.inpainter = inpainter
        self.remixer = remixer
        self.backgrounds_dir = backgrounds_dir

    def Inpaint(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: generation_pb2.InpaintRequest, context: grpc.ServicerContext
    ) -> generation_pb2.InpaintResponse:
        image = image_from_proto(request.image)
        mask = mask_from_proto(request.mask)
        timer = StageTimer(backend=self.inpainter.name)
        with timer.stage("inpaint"):
            out = self.inpainter.inpaint(image, mask)
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


def registrar(
    inpainter: Inpainter, remixer: Remixer, backgrounds_dir: Path | None = None
) -> Register:
    def register(server: grpc.Server) -> None:
        servicer = GenerationServicer(inpainter, remixer, backgrounds_dir)
        generation_pb2_grpc.add_GenerationServiceServicer_to_server(servicer, server)

    return register


def main() -> None:
    settings = GenerationServerSettings()
    inpainter, remixer = build_inpainter(), Remixer.from_settings()
    run_service(
        SERVICE,
        registrar(inpainter, remixer, settings.backgrounds_dir),
        settings,
        load=load_models(inpainter, remixer),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

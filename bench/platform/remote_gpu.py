"""The I/O-bound configuration of ``make bench-platform``: a generation service that answers
like a remote GPU node.

It is the real ``globalpic-generation-server`` (same servicer, same CPU inpainting and
compositing, same health / metrics / shutdown), except that every ``Inpaint`` and ``Remix``
call first sleeps ``BENCH_REMOTE_GPU_SECONDS`` (default 2.0): the time a request would spend
queued and computed on a GPU elsewhere. The sleep uses no CPU, so while it lasts the runner
that called waits on its gRPC socket — real I/O waiting from the runner's side — and the
machine's cores are free for another runner's OCR or segmentation. That is the situation in
which a second runner process should pay off.

``python -m bench.platform.remote_gpu`` (settings as ``globalpic-generation-server``:
``GLOBALPIC_GENERATION__PORT``, ``__MAX_WORKERS``, ...).
"""

from __future__ import annotations

import os
import time

import grpc

from globalpic.generation.v1 import generation_pb2, generation_pb2_grpc
from globalpic_common.grpc_server import Register, load_models, run_service
from globalpic_common.interfaces import Inpainter
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer
from globalpic_generation.server import (
    HEALTH_NAME,
    SERVICE,
    GenerationServerSettings,
    GenerationServicer,
)

LATENCY_ENV = "BENCH_REMOTE_GPU_SECONDS"


class RemoteGpuServicer(GenerationServicer):
    def __init__(self, latency: float, inpainter: Inpainter, remixer: Remixer) -> None:
        super().__init__(inpainter, remixer)
        self.latency = latency

    def Inpaint(  # noqa: N802 - the RPC's name
        self, request: generation_pb2.InpaintRequest, context: grpc.ServicerContext
    ) -> generation_pb2.InpaintResponse:
        time.sleep(self.latency)
        return super().Inpaint(request, context)

    def Remix(  # noqa: N802
        self, request: generation_pb2.RemixRequest, context: grpc.ServicerContext
    ) -> generation_pb2.RemixResponse:
        time.sleep(self.latency)
        return super().Remix(request, context)


def registrar(latency: float, inpainter: Inpainter, remixer: Remixer) -> Register:
    def register(server: grpc.Server) -> None:
        servicer = RemoteGpuServicer(latency, inpainter, remixer)
        generation_pb2_grpc.add_GenerationServiceServicer_to_server(servicer, server)

    return register


def main() -> None:
    settings = GenerationServerSettings()
    latency = float(os.environ.get(LATENCY_ENV, "2.0"))
    inpainter, remixer = build_inpainter(), Remixer.from_settings()
    run_service(
        SERVICE,
        registrar(latency, inpainter, remixer),
        settings,
        load=load_models(inpainter, remixer),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

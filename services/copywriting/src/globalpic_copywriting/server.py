"""The copywriting gRPC service (``globalpic-copywriting-server``): ``Write`` over the writer.

A thin adapter: decode the facts, run the configured ``Copywriter`` (``build_copywriter``:
``GLOBALPIC_COPYWRITING__BACKEND`` offline or openai), encode the report. Settings:
``GLOBALPIC_COPYWRITING__PORT`` (50056), ``__METRICS_PORT`` (9456), ``__MAX_WORKERS``,
``__GRACE_S``, ``__LOG_LEVEL``, plus the writer's own ``GLOBALPIC_COPYWRITING__*``.
"""

from __future__ import annotations

from functools import partial

import grpc

from globalpic.copywriting.v1 import copywriting_pb2, copywriting_pb2_grpc
from globalpic_common.copy_wire import facts_from_proto, report_to_proto
from globalpic_common.grpc_server import GrpcServerSettings, Register, load_models, run_service
from globalpic_common.interfaces import DEFAULT_VARIANTS, Copywriter
from globalpic_common.models import unload_all
from globalpic_common.settings import settings_config
from globalpic_common.timing import StageTimer
from globalpic_copywriting.registry import build_copywriter

SERVICE = "copywriting"
HEALTH_NAME = copywriting_pb2.DESCRIPTOR.services_by_name["CopywritingService"].full_name


class CopywritingServerSettings(GrpcServerSettings):
    model_config = settings_config(SERVICE)

    port: int = 50056
    metrics_port: int = 9456
    # Writing is light (templates, or waiting on the model's HTTP answer): more at once.
    max_workers: int = 8


class CopywritingServicer(copywriting_pb2_grpc.CopywritingServiceServicer):
    def __init__(self, writer: Copywriter) -> None:
        self.writer = writer

    def Write(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: copywriting_pb2.WriteRequest, context: grpc.ServicerContext
    ) -> copywriting_pb2.WriteResponse:
        facts = facts_from_proto(request.facts)
        timer = StageTimer(backend=self.writer.name)
        with timer.stage("copy"):
            report = self.writer.write(
                facts, request.platform, request.variants or DEFAULT_VARIANTS
            )
        return report_to_proto(report)


def registrar(writer: Copywriter) -> Register:
    def register(server: grpc.Server) -> None:
        copywriting_pb2_grpc.add_CopywritingServiceServicer_to_server(
            CopywritingServicer(writer), server
        )

    return register


def main() -> None:
    writer = build_copywriter()
    run_service(
        SERVICE,
        registrar(writer),
        CopywritingServerSettings(),
        load=load_models(writer),
        unload=partial(unload_all, writer),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

"""The OCR gRPC service (``globalpic-ocr-server``): ``OcrService.Detect`` over the detector,
``OcrService.Classify`` over the overlay / product / scene classifier.

A thin adapter: decode the image, run the configured ``TextDetector`` (``build_detector``) or
``overlay.classify_lines``, encode the lines or the decisions. Settings:
``GLOBALPIC_OCR__PORT`` (50051), ``__METRICS_PORT`` (9451), ``__MAX_WORKERS``, ``__GRACE_S``,
``__LOG_LEVEL``, plus the detector's own ``GLOBALPIC_OCR__*``.
"""

from __future__ import annotations

from functools import partial

import grpc

from globalpic.ocr.v1 import ocr_pb2, ocr_pb2_grpc
from globalpic_common.grpc_server import GrpcServerSettings, Register, load_models, run_service
from globalpic_common.interfaces import TextDetector
from globalpic_common.models import unload_all
from globalpic_common.ocr_wire import decision_to_proto
from globalpic_common.settings import settings_config
from globalpic_common.timing import StageTimer
from globalpic_common.wire import (
    alpha_from_proto,
    image_from_proto,
    text_line_to_proto,
    text_lines_from_proto,
)
from globalpic_ocr.overlay import classify_lines
from globalpic_ocr.registry import build_detector

SERVICE = "ocr"
HEALTH_NAME = ocr_pb2.DESCRIPTOR.services_by_name["OcrService"].full_name


class OcrServerSettings(GrpcServerSettings):
    model_config = settings_config(SERVICE)

    port: int = 50051
    metrics_port: int = 9451


class OcrServicer(ocr_pb2_grpc.OcrServiceServicer):
    def __init__(self, detector: TextDetector) -> None:
        self.detector = detector

    def Detect(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: ocr_pb2.DetectRequest, context: grpc.ServicerContext
    ) -> ocr_pb2.DetectResponse:
        image = image_from_proto(request.image)
        timer = StageTimer(backend=self.detector.name)
        with timer.stage("ocr"):
            lines = self.detector.detect(image)
        return ocr_pb2.DetectResponse(
            lines=[text_line_to_proto(line) for line in lines], backend=self.detector.name
        )

    def Classify(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: ocr_pb2.ClassifyRequest, context: grpc.ServicerContext
    ) -> ocr_pb2.ClassifyResponse:
        image = image_from_proto(request.image)
        lines = text_lines_from_proto(request.lines)
        alpha = (
            alpha_from_proto(request.product_alpha, shape=image.shape[:2], what="product_alpha")
            if request.HasField("product_alpha")
            else None
        )
        timer = StageTimer(backend="overlay")
        with timer.stage("classify"):
            decisions = classify_lines(image, lines, alpha)
        return ocr_pb2.ClassifyResponse(decisions=[decision_to_proto(d) for d in decisions])


def registrar(detector: TextDetector) -> Register:
    def register(server: grpc.Server) -> None:
        ocr_pb2_grpc.add_OcrServiceServicer_to_server(OcrServicer(detector), server)

    return register


def main() -> None:
    detector = build_detector()
    run_service(
        SERVICE,
        registrar(detector),
        OcrServerSettings(),
        load=load_models(detector),
        unload=partial(unload_all, detector),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

"""``OcrClient``: the OCR service over gRPC, behind the same ``TextDetector`` interface.

The pipeline cannot tell it from ``RapidOcrDetector``: same ``detect(image)``, same
``TextLine`` values, same ``BadInputError`` codes; an unreachable service raises
``ServiceUnavailableError``. ``classify(image, lines, product_alpha)`` is the service's
``overlay.classify_lines`` (the pipeline's ``Classifier``), so ``clean`` decides over the wire
too.
"""

from __future__ import annotations

from collections.abc import Sequence

from globalpic.ocr.v1 import ocr_pb2, ocr_pb2_grpc
from globalpic_common.grpc_client import DEFAULT_TIMEOUT_S, GrpcClient
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.ocr_wire import decision_from_proto
from globalpic_common.schemas import LineDecision, TextLine
from globalpic_common.wire import (
    alpha_to_proto,
    image_to_proto,
    text_line_from_proto,
    text_line_to_proto,
)

HEALTH_NAME = ocr_pb2.DESCRIPTOR.services_by_name["OcrService"].full_name


class OcrClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = ocr_pb2_grpc.OcrServiceStub(self.channel)
        # The remote detector's name ("rapidocr", ...), known after the first answer.
        self.name = "ocr-service"

    def detect(self, image: ImageArray) -> list[TextLine]:
        request = ocr_pb2.DetectRequest(image=image_to_proto(image))
        reply = self.call(self._stub.Detect, request)
        self.name = reply.backend or self.name
        return [text_line_from_proto(line) for line in reply.lines]

    def classify(
        self, image: ImageArray, lines: Sequence[TextLine], product_alpha: AlphaArray | None
    ) -> list[LineDecision]:
        if not lines:
            return []  # nothing to decide: no round trip
        request = ocr_pb2.ClassifyRequest(
            image=image_to_proto(image), lines=[text_line_to_proto(line) for line in lines]
        )
        if product_alpha is not None:
            request.product_alpha.CopyFrom(alpha_to_proto(product_alpha))
        reply = self.call(self._stub.Classify, request)
        return [decision_from_proto(d) for d in reply.decisions]

"""The segmentation gRPC service (``globalpic-segmentation-server``).

``Segment`` runs the configured segmenter (IS-Net by default, U²-Net-p or SAM); ``Extract``
the refined cut-out (``Extractor``) on the same segmenter, so the model is loaded once;
``EvaluateRules`` check's pixel rules (``rules.evaluate_rules``, no model).
Settings: ``GLOBALPIC_SEGMENTATION__PORT`` (50052), ``__METRICS_PORT`` (9452), ``__MAX_WORKERS``,
``__GRACE_S``, ``__LOG_LEVEL``, plus the model's and the extractor's own
``GLOBALPIC_SEGMENTATION__*`` settings.
"""

from __future__ import annotations

from functools import partial

import grpc

from globalpic.common.v1 import common_pb2
from globalpic.segmentation.v1 import segmentation_pb2, segmentation_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import GrpcServerSettings, Register, load_models, run_service
from globalpic_common.interfaces import Segmenter
from globalpic_common.metrics import observe_stages
from globalpic_common.models import unload_all
from globalpic_common.platforms import get_platform
from globalpic_common.results import ExtractMode
from globalpic_common.schemas import TextAction, TextKind, TextRegion
from globalpic_common.settings import settings_config
from globalpic_common.timing import StageTimer
from globalpic_common.wire import (
    alpha_from_proto,
    alpha_to_proto,
    box_to_proto,
    image_from_proto,
    mask_from_proto,
    rule_result_to_proto,
    text_line_from_proto,
    text_regions_from_proto,
)
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings
from globalpic_segmentation.registry import build_segmenter
from globalpic_segmentation.rules import evaluate_rules

SERVICE = "segmentation"
HEALTH_NAME = segmentation_pb2.DESCRIPTOR.services_by_name["SegmentationService"].full_name


class SegmentationServerSettings(GrpcServerSettings):
    model_config = settings_config(SERVICE)

    port: int = 50052
    metrics_port: int = 9452


def _mode(name: str) -> ExtractMode:
    """The request's mode; empty is the default (proto3 strings cannot be absent)."""
    try:
        return ExtractMode(name or ExtractMode.SALIENT)
    except ValueError:
        valid = ", ".join(m.value for m in ExtractMode)
        raise BadInputError(
            f"unknown extract mode {name!r}: use one of {valid}", code=errors.BAD_OPTION
        ) from None


def _text(line: common_pb2.TextLine, kind: TextKind) -> TextRegion:
    """A text line of the request as the region ``Extractor.extract`` takes."""
    read = text_line_from_proto(line)
    action = TextAction.KEPT if kind is TextKind.PRODUCT else TextAction.ERASED
    score = 0.0 if kind is TextKind.PRODUCT else 1.0
    return TextRegion(
        box=read.box,
        text=read.text,
        confidence=read.confidence,
        kind=kind,
        action=action,
        overlay_score=score,
    )


class SegmentationServicer(segmentation_pb2_grpc.SegmentationServiceServicer):
    def __init__(self, segmenter: Segmenter, extractor: Extractor) -> None:
        self.segmenter = segmenter
        self.extractor = extractor

    def Segment(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: segmentation_pb2.SegmentRequest, context: grpc.ServicerContext
    ) -> segmentation_pb2.SegmentResponse:
        image = image_from_proto(request.image)
        timer = StageTimer(backend=self.segmenter.name)
        with timer.stage("segment"):
            alpha = self.segmenter.segment(image)
        return segmentation_pb2.SegmentResponse(
            alpha=alpha_to_proto(alpha), backend=self.segmenter.name
        )

    def Extract(  # noqa: N802
        self, request: segmentation_pb2.ExtractRequest, context: grpc.ServicerContext
    ) -> segmentation_pb2.ExtractResponse:
        image = image_from_proto(request.image)
        coarse = (
            alpha_from_proto(request.coarse, what="coarse alpha")
            if request.HasField("coarse")
            else None
        )
        # The product's own print and the overlays, as the client's clean judged them.
        texts = [_text(line, TextKind.PRODUCT) for line in request.product_print] + [
            _text(line, TextKind.OVERLAY) for line in request.overlay_text
        ]
        cutout = self.extractor.extract(image, _mode(request.mode), coarse, texts)
        observe_stages({f"extract.{k}": v for k, v in cutout.seconds.items()}, self.segmenter.name)
        return segmentation_pb2.ExtractResponse(
            alpha=alpha_to_proto(cutout.alpha),
            boxes=[box_to_proto(box) for box in cutout.boxes],
            seconds=cutout.seconds,
            objects=[
                segmentation_pb2.ProductObject(
                    box=box_to_proto(o.box), score=o.score, cues=o.cues, kept=o.kept
                )
                for o in cutout.objects
            ],
        )

    def EvaluateRules(  # noqa: N802
        self, request: segmentation_pb2.EvaluateRulesRequest, context: grpc.ServicerContext
    ) -> segmentation_pb2.EvaluateRulesResponse:
        image = image_from_proto(request.image)
        mask = mask_from_proto(
            request.product_mask, (image.shape[0], image.shape[1]), what="product_mask"
        )
        platform = get_platform(request.platform_id)
        texts = (
            text_regions_from_proto(request.overlay_texts.regions)
            if request.HasField("overlay_texts")
            else None
        )
        timer = StageTimer(backend="rules")
        with timer.stage("rules"):
            results = evaluate_rules(
                image, mask, platform, texts, estimated_mask=request.estimated_mask
            )
        return segmentation_pb2.EvaluateRulesResponse(
            rules=[rule_result_to_proto(r) for r in results]
        )


def registrar(segmenter: Segmenter, extractor: Extractor) -> Register:
    def register(server: grpc.Server) -> None:
        servicer = SegmentationServicer(segmenter, extractor)
        segmentation_pb2_grpc.add_SegmentationServiceServicer_to_server(servicer, server)

    return register


def build() -> tuple[Segmenter, Extractor]:
    """One segmenter, shared by ``Segment`` and the extractor (the model loads once)."""
    segmenter = build_segmenter()
    return segmenter, Extractor(segmenter, ExtractSettings())


def main() -> None:
    segmenter, extractor = build()
    run_service(
        SERVICE,
        registrar(segmenter, extractor),
        SegmentationServerSettings(),
        load=load_models(extractor),  # loads the segmenter and warms the matting code
        unload=partial(unload_all, segmenter, extractor),
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

"""``SegmentationClient``: the segmentation service over gRPC.

One object stands in for the in-process classes the pipeline uses: the ``Segmenter``
(``segment``), the ``Extractor`` (``extract``) and check's ``RuleJudge`` (``evaluate``:
``rules.PixelRules``), so ``Localizer`` and ``Checker`` take it for all three.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from globalpic.segmentation.v1 import segmentation_pb2, segmentation_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_client import DEFAULT_TIMEOUT_S, GrpcClient
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.platforms import PLATFORMS, Platform
from globalpic_common.results import Cutout, ExtractMode, FoundObject
from globalpic_common.schemas import RuleResult, TextKind, TextLine, TextRegion
from globalpic_common.wire import (
    alpha_from_proto,
    alpha_to_proto,
    box_from_proto,
    image_to_proto,
    mask_to_proto,
    rule_result_from_proto,
    text_line_to_proto,
    text_region_to_proto,
)

HEALTH_NAME = segmentation_pb2.DESCRIPTOR.services_by_name["SegmentationService"].full_name


class SegmentationClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = segmentation_pb2_grpc.SegmentationServiceStub(self.channel)
        # The remote segmenter's name ("u2netp"), known after the first Segment.
        self.name = "segmentation-service"

    def segment(self, image: ImageArray) -> AlphaArray:
        request = segmentation_pb2.SegmentRequest(image=image_to_proto(image))
        reply = self.call(self._stub.Segment, request)
        self.name = reply.backend or self.name
        return alpha_from_proto(reply.alpha)

    def extract(
        self,
        image: ImageArray,
        mode: ExtractMode = ExtractMode.SALIENT,
        coarse: AlphaArray | None = None,
        texts: Sequence[TextRegion] = (),
    ) -> Cutout:
        request = segmentation_pb2.ExtractRequest(image=image_to_proto(image), mode=str(mode))
        if coarse is not None:
            request.coarse.CopyFrom(alpha_to_proto(coarse))
        # The evidence of which object is the product (see ``objects``).
        for t in texts:
            confidence = min(1.0, max(0.0, t.confidence))
            line = text_line_to_proto(TextLine(box=t.box, text=t.text, confidence=confidence))
            if t.kind is TextKind.PRODUCT:
                request.product_print.append(line)
            elif t.kind is TextKind.OVERLAY:
                request.overlay_text.append(line)
        reply = self.call(self._stub.Extract, request)
        return Cutout(
            alpha=alpha_from_proto(reply.alpha),
            boxes=[box_from_proto(box) for box in reply.boxes],
            seconds=dict(reply.seconds),
            objects=[
                FoundObject(box_from_proto(o.box), o.score, dict(o.cues), o.kept)
                for o in reply.objects
            ],
        )

    def evaluate(
        self,
        image: ImageArray,
        product_mask: MaskArray,
        platform: Platform,
        overlay_texts: list[TextRegion] | None = None,
        *,
        estimated_mask: bool = False,
    ) -> list[RuleResult]:
        """``rules.evaluate_rules`` on the service (check's ``RuleJudge``). The platform
        travels by id: one that is not the catalog's own is ``bad_option`` here, never
        judged by other rules there."""
        if PLATFORMS.get(platform.id) != platform:
            raise BadInputError(
                f"platform {platform.id!r} is not the catalog's: the segmentation service "
                "judges catalog platforms only (they travel by id)",
                code=errors.BAD_OPTION,
            )
        if product_mask.dtype == np.bool_:
            product_mask = np.where(product_mask, 255, 0).astype(np.uint8)
        request = segmentation_pb2.EvaluateRulesRequest(
            image=image_to_proto(image),
            product_mask=mask_to_proto(product_mask),
            platform_id=platform.id,
            estimated_mask=estimated_mask,
        )
        if overlay_texts is not None:  # sent even when empty: OCR ran and found nothing
            request.overlay_texts.SetInParent()
            request.overlay_texts.regions.extend(text_region_to_proto(t) for t in overlay_texts)
        reply = self.call(self._stub.EvaluateRules, request)
        return [rule_result_from_proto(r) for r in reply.rules]

"""The OCR service's own message in Python and back: the classifier's ``LineDecision`` (shared
by its server and its client)."""

from __future__ import annotations

from globalpic.ocr.v1 import ocr_pb2
from globalpic_common.schemas import LineDecision, TextKind


def decision_to_proto(decision: LineDecision) -> ocr_pb2.LineDecision:
    return ocr_pb2.LineDecision(
        kind=decision.kind.value,
        overlay_score=decision.overlay_score,
        cues=decision.cues,
        uncertain=decision.uncertain,
    )


def decision_from_proto(message: ocr_pb2.LineDecision) -> LineDecision:
    return LineDecision(
        kind=TextKind(message.kind),
        overlay_score=message.overlay_score,
        cues=dict(message.cues),
        uncertain=message.uncertain,
    )

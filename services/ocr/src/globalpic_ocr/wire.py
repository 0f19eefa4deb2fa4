"""The OCR service's own messages in Python and back: the classifier's ``LineDecision`` and
the lines a ``Classify`` call brings (checked: a bad quad is ``bad_text_line``, not a crash
deep in the classifier)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import ValidationError

from globalpic.common.v1 import common_pb2
from globalpic.ocr.v1 import ocr_pb2
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.schemas import LineDecision, TextKind, TextLine
from globalpic_common.wire import text_line_from_proto


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


def checked_lines(messages: Iterable[common_pb2.TextLine]) -> list[TextLine]:
    """The lines of a request, each a quad of 4 finite points with a confidence in [0, 1]."""
    lines = []
    for i, message in enumerate(messages):
        try:
            line = text_line_from_proto(message)
        except ValidationError as exc:
            raise BadInputError(
                f"line {i}: {exc.errors()[0]['msg']}", code=errors.BAD_TEXT_LINE
            ) from exc
        points = [v for point in line.box for v in point]
        if len(line.box) != 4 or not all(math.isfinite(v) for v in points):
            raise BadInputError(
                f"line {i}: a box is 4 finite (x, y) points, got {line.box}",
                code=errors.BAD_TEXT_LINE,
            )
        lines.append(line)
    return lines

"""Detected text lines as the reports carry them (``ImageReport.texts``), shared by the ops."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.models import load_all
from globalpic_common.schemas import LineDecision, TextAction, TextLine, TextRegion

Classifier = Callable[[ImageArray, Sequence[TextLine], AlphaArray | None], list[LineDecision]]


def text_region(line: TextLine, decision: LineDecision, action: TextAction) -> TextRegion:
    """A detected line with the classifier's decision and what the op did with it."""
    return TextRegion(
        box=line.box,
        text=line.text,
        confidence=line.confidence,
        kind=decision.kind,
        action=action,
        overlay_score=decision.overlay_score,
        cues=decision.cues,
    )


def kept_action(decision: LineDecision, erased: bool) -> TextAction:
    """``erased`` when the op erased the line; else ``kept_uncertain`` when the classifier
    was unsure (a middle score, or an overlay-like line with product-print evidence: the
    client offers a one-click erase), ``kept`` when it was sure."""
    if erased:
        return TextAction.ERASED
    return TextAction.KEPT_UNCERTAIN if decision.uncertain else TextAction.KEPT


def load_backends(*components: object) -> None:
    """Load every model now (the first image pays nothing; a missing model fails early).

    Backends with nothing to load (pure functions) are passed over (``models.load_all``)."""
    load_all(*components)

"""The objects extract found, as the report schema lists them (``--json``, the job view)."""

from __future__ import annotations

from collections.abc import Iterable

from globalpic_common.results import FoundObject
from globalpic_common.schemas import ProductObject


def report_objects(found: Iterable[FoundObject]) -> list[ProductObject]:
    return [ProductObject(box=o.box, score=o.score, cues=o.cues, kept=o.kept) for o in found]

"""What the model services hand back to the ops that call them: a cut-out, a remix.

Plain data, shared by a service's in-process class and its gRPC client (both return these),
so the orchestrator's code needs neither the service nor its models to read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.product_mask import Box


class ExtractMode(StrEnum):
    SALIENT = "salient"  # keep the product (its best object and every unit of it)
    ALL = "all"  # keep every product-like object


@dataclass(frozen=True)
class FoundObject:
    """What the report says of one object: its box, score, cues and whether it was kept."""

    box: Box
    score: float
    cues: dict[str, float]
    kept: bool


@dataclass(frozen=True)
class Cutout:
    alpha: AlphaArray  # H x W float32 in [0, 1], same size as the image; soft at edges
    boxes: list[tuple[int, int, int, int]]  # (x0, y0, x1, y1) per product kept, salient first
    seconds: dict[str, float]  # wall seconds per stage
    # Every object of the coarse map, measured and scored, best first; ``kept`` marks those
    # in the matte.
    objects: list[FoundObject] = field(default_factory=list)


@dataclass(frozen=True)
class RemixResult:
    image: ImageArray
    style_id: str  # a catalog id, or CUSTOM_STYLE
    seed: int
    source: str  # "render", "library:<file>[:mirrored]" or "upload"
    # The new background as placed behind the product, with its shadow (and reflection):
    # what the product's surroundings were composited from (for --keep-steps, the bench).
    plate: ImageArray
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, wall time

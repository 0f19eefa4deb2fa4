"""Photos whose product is known exactly, for the marketplace-rule tests (the segmentation
service's pixel rules, the orchestrator's ``Checker``)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.schemas import RuleResult

Rgb = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]


def disc_photo(size: int = 1000, radius: int = 450, bg: int = 255) -> tuple[Rgb, Mask]:
    """A dark product disc centred on a flat background of grey level ``bg``."""
    img = np.full((size, size, 3), bg, np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, 255, -1)
    img[mask > 0] = (40, 60, 90)
    return img, mask


def by_id(results: list[RuleResult]) -> dict[str, RuleResult]:
    return {r.rule: r for r in results}

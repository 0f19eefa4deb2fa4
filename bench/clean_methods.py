"""The clean methods every bench compares (``bench.clean_bench``, ``bench.realworld``): ours
(the working tree's ``Cleaner`` on the configured backends) and the naive OCR-box baseline.
Each maps an RGB image to (output RGB, the text regions the method reports)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from globalpic_common.interfaces import ImageArray, TextDetector
from globalpic_common.schemas import TextAction, TextKind, TextRegion
from globalpic_generation.quads import fill_quads

CleanFn = Callable[[ImageArray], tuple[ImageArray, list[TextRegion]]]


def baseline_fn(detector: TextDetector) -> CleanFn:
    """The naive baseline: erase every detected line's quad with one TELEA inpaint (r = 3)."""

    def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        lines = detector.detect(rgb)
        mask = fill_quads(rgb.shape[:2], [line.box for line in lines])
        out = rgb.copy() if not mask.any() else np.asarray(
            cv2.inpaint(rgb, mask, 3, cv2.INPAINT_TELEA), np.uint8
        )  # fmt: skip
        regions = [
            TextRegion(box=line.box, text=line.text, confidence=line.confidence,
                       kind=TextKind.OVERLAY, action=TextAction.ERASED, overlay_score=1.0)
            for line in lines
        ]  # fmt: skip
        return out, regions

    return run


def ours_fn() -> CleanFn:
    """The working tree's ``Cleaner`` with default settings and options (models loaded once)."""
    from globalpic_cli.embedded import cleaner_from_settings
    from globalpic_orchestrator.pipeline.clean import CleanOptions

    cleaner = cleaner_from_settings()
    cleaner.load()

    def run(rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        result = cleaner.clean(rgb, CleanOptions())
        return result.image, list(result.regions)

    return run

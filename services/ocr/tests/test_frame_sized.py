"""A detection whose box is most of the photo is no text line (PP-OCR returns the whole frame
as one region on some photos filled by one plain object, and reads it as a glyph)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from globalpic_ocr.detector import RapidOcrDetector, _frame_sized


def test_frame_sized_boxes() -> None:
    whole = [(0, 0), (767, 0), (767, 1023), (0, 1023)]
    headline = [(40, 20), (740, 20), (740, 160), (40, 160)]  # a big headline: 12 % of the frame
    assert _frame_sized(whole, 1024, 768)
    assert not _frame_sized(headline, 1024, 768)


class _Engine:
    """RapidOCR's result shape for one frame-sized "T" and one real line."""

    def __call__(self, image: Any, **_: Any) -> SimpleNamespace:
        h, w = image.shape[:2]
        boxes = [
            [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]],
            [[10, 10], [110, 10], [110, 40], [10, 40]],
        ]
        return SimpleNamespace(
            boxes=np.asarray(boxes, np.float32),
            txts=("T", "包邮"),
            scores=(0.96, 0.93),
            word_results=None,
        )


def test_the_colour_pass_drops_a_frame_sized_line() -> None:
    detector = RapidOcrDetector()
    detector._engine = _Engine()
    lines = detector._colour_pass(np.zeros((300, 200, 3), np.uint8))
    assert [line.text for line in lines] == ["包邮"]

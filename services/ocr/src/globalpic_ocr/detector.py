"""Text detectors behind the ``TextDetector`` interface.

RapidOCR (PP-OCR ONNX models shipped inside the ``rapidocr`` wheel) is the default; EasyOCR is
an optional backend for sites that have its weights on disk. Each model is loaded once, under a
lock, on first use, and reused for every image after that (immich's model lifecycle).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import ImageArray, TextDetector
from globalpic_common.schemas import TextLine
from globalpic_ocr.merged import CharBox, split_merged_lines
from globalpic_ocr.settings import OcrSettings


def _quad(points: Any) -> list[tuple[float, float]]:
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in arr[:4]]


class RapidOcrDetector:
    """PP-OCR (det + cls + rec) through RapidOCR on onnxruntime."""

    name = "rapidocr"

    def __init__(self, settings: OcrSettings | None = None, **engine_params: Any) -> None:
        self.settings = settings or OcrSettings()
        self._engine_params = engine_params
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            from rapidocr import RapidOCR  # imported late: loading the package costs ~1 s

            params: dict[str, Any] = {
                "Global.log_level": "error",  # "no text found" is not a warning for us
                "Global.text_score": self.settings.min_confidence,
                "Global.max_side_len": self.settings.max_side,
            }
            if self.settings.threads:
                params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.settings.threads
            params.update(self._engine_params)
            self._engine = RapidOCR(params=params)

    def detect(self, image: ImageArray) -> list[TextLine]:
        self.load()
        # RapidOCR takes OpenCV's BGR order for ndarray input.
        # Character boxes let a line that merged a watermark tile with the product's print
        # be split (``merged``); they cost a few ms per image.
        result = self._engine(np.ascontiguousarray(image[:, :, ::-1]), return_word_box=True)
        if result.boxes is None or result.txts is None:
            return []
        words = result.word_results or ((),) * len(result.txts)
        lines: list[TextLine] = []
        chars: list[list[CharBox] | None] = []
        for box, text, score, word in zip(
            result.boxes, result.txts, result.scores, words, strict=True
        ):
            if not str(text).strip():
                continue
            conf = float(min(1.0, max(0.0, float(score))))
            lines.append(TextLine(box=_quad(box), text=str(text), confidence=conf))
            chars.append([CharBox(str(w[0]), _quad(w[2])) for w in word] if word else None)
        return split_merged_lines(lines, chars)


class EasyOcrDetector:
    """EasyOCR (CRAFT + CRNN); optional, needs ``pip install globalpic-ocr[easyocr]``."""

    name = "easyocr"

    def __init__(self, settings: OcrSettings | None = None) -> None:
        self.settings = settings or OcrSettings()
        self._reader: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._reader is not None:
                return
            model_dir = self.settings.easyocr_model_dir
            if model_dir is None or not (model_dir / "craft_mlt_25k.pth").is_file():
                raise ModelUnavailableError(
                    "EasyOCR needs its weights on disk: set GLOBALPIC_OCR__EASYOCR_MODEL_DIR to a "
                    "directory holding craft_mlt_25k.pth and zh_sim_g2.pth"
                )
            try:
                import easyocr
            except ImportError as exc:
                raise ModelUnavailableError(
                    "EasyOCR backend not installed: pip install 'globalpic-ocr[easyocr]'"
                ) from exc
            self._reader = easyocr.Reader(
                ["ch_sim", "en"],
                gpu=False,
                model_storage_directory=str(model_dir),
                download_enabled=False,
            )

    def detect(self, image: ImageArray) -> list[TextLine]:
        self.load()
        lines = []
        for box, text, score in self._reader.readtext(image):
            if float(score) < self.settings.min_confidence or not str(text).strip():
                continue
            lines.append(TextLine(box=_quad(box), text=str(text), confidence=float(score)))
        return lines


def build_detector(settings: OcrSettings | None = None) -> TextDetector:
    """The configured backend (composition roots call this, never the classes directly)."""
    settings = settings or OcrSettings()
    if settings.backend == "easyocr":
        return EasyOcrDetector(settings)
    return RapidOcrDetector(settings)

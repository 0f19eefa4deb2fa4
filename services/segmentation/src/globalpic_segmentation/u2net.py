"""Product masks from U²-Net-p (salient-object detection, 4.5 MB ONNX) on onnxruntime's CPU.

Pre- and post-processing follow rembg's ``u2netp`` session so the masks match what that tool
gives: resize to the network's input size, divide by the image's max, ImageNet mean/std, NCHW
float32; then the first (fused) output, min-max normalised and resized back to the image.
The session is created once, under a lock, on first use, and reused for every image after that.
``registry.build_segmenter`` picks the configured network (``isnet`` by default, see isnet.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray

# cpu_session is re-exported: it was defined here before onnx_segmenter.py took it.
from globalpic_segmentation.onnx_segmenter import OnnxSegmenter
from globalpic_segmentation.onnx_segmenter import cpu_session as cpu_session

_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# Used only when the model declares a dynamic spatial size (the shipped u2netp is fixed 320).
DEFAULT_INPUT_SIDE = 320

_MISSING_HINT = (
    "run `make models` (globalpic-fetch-models) or set GLOBALPIC_SEGMENTATION__MODEL_PATH"
)


def preprocess(image: ImageArray, height: int, width: int) -> npt.NDArray[np.float32]:
    """RGB uint8 H x W x 3 -> 1 x 3 x height x width float32, normalised like rembg."""
    # INTER_AREA anti-aliases when shrinking a large photo, as rembg's Lanczos resize does.
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    # rembg divides by the image's max, not 255; guard the all-black image.
    small /= max(float(small.max()), 1.0)
    small = (small - _MEAN) / _STD
    return np.ascontiguousarray(small.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def postprocess(prediction: npt.NDArray[Any], height: int, width: int) -> AlphaArray:
    """The network's 1 x 1 x h x w map -> H x W float32 alpha in [0, 1]."""
    pred = np.asarray(prediction, dtype=np.float32).reshape(prediction.shape[-2:])
    lo, hi = float(pred.min()), float(pred.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo < 1e-12:
        # A flat map carries no product/background split; call it all background.
        pred = np.zeros_like(pred)
    else:
        pred = (pred - lo) / (hi - lo)
    alpha = cv2.resize(pred, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)


def product_mask(alpha: AlphaArray, threshold: float = 0.5) -> MaskArray:
    """Hard 0/255 mask of the pixels whose alpha is at least ``threshold``."""
    return np.where(alpha >= threshold, 255, 0).astype(np.uint8)


class U2NetSegmenter(OnnxSegmenter):
    """U²-Net-p salient-object segmenter behind the ``Segmenter`` interface."""

    name = "u2netp"
    label = "U²-Net-p"
    missing_hint = _MISSING_HINT
    default_side = DEFAULT_INPUT_SIDE
    # U²-Net returns the fused map first, then the six side outputs; the base class runs them
    # all (the default ``_output_names``) and postprocesses only the first.

    def _weights_path(self) -> Path:
        return self.settings.u2netp_path()

    def _check_input(self, path: Path, model_input: Any, shape: list[Any]) -> None:
        if len(shape) != 4:
            raise ModelUnavailableError(
                f"{path}: expected an NCHW image input, got shape {shape}; {_MISSING_HINT}"
            )

    def _preprocess(self, image: ImageArray, height: int, width: int) -> npt.NDArray[np.float32]:
        return preprocess(image, height, width)

    def _postprocess(self, prediction: npt.NDArray[Any], height: int, width: int) -> AlphaArray:
        return postprocess(prediction, height, width)

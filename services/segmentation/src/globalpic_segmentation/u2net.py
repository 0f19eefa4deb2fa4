"""Product masks from U²-Net-p (salient-object detection, 4.5 MB ONNX) on onnxruntime's CPU.

Pre- and post-processing follow rembg's ``u2netp`` session so the masks match what that tool
gives: resize to the network's input size, divide by the image's max, ImageNet mean/std, NCHW
float32; then the first (fused) output, min-max normalised and resized back to the image.
The session is created once, under a lock, on first use, and reused for every image after that.
``build_segmenter`` picks the configured network (``isnet`` by default, see isnet.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray, Segmenter
from globalpic_segmentation.settings import SegmentationSettings

_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# Used only when the model declares a dynamic spatial size (the shipped u2netp is fixed 320).
DEFAULT_INPUT_SIDE = 320

_MISSING_HINT = (
    "run `make models` (globalpic-fetch-models) or set GLOBALPIC_SEGMENTATION__MODEL_PATH"
)


def cpu_session(path: Path, threads: int, label: str, hint: str) -> Any:
    """An onnxruntime CPU session on ``path`` (``threads`` intra-op threads; 0: all cores)."""
    import onnxruntime as ort  # imported late: most commands never segment

    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own, unexported exception types
        raise ModelUnavailableError(f"cannot load {label} model {path}: {exc}; {hint}") from exc


def _static_dim(dim: Any) -> int:
    """onnxruntime reports dynamic dimensions as strings or None."""
    return dim if isinstance(dim, int) and dim > 0 else DEFAULT_INPUT_SIDE


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


class U2NetSegmenter:
    """U²-Net-p salient-object segmenter behind the ``Segmenter`` interface."""

    name = "u2netp"

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        self.settings = settings or SegmentationSettings()
        self._session: Any = None
        self._input_name = ""
        self._input_hw = (DEFAULT_INPUT_SIDE, DEFAULT_INPUT_SIDE)
        self._lock = threading.Lock()

    @property
    def model_path(self) -> str:
        return str(self.settings.u2netp_path())

    def load(self) -> None:
        """Create the onnxruntime session once; later calls return at once."""
        with self._lock:
            if self._session is not None:
                return
            path = self.settings.u2netp_path()
            if not path.is_file():
                raise ModelUnavailableError(
                    f"U²-Net-p weights not found at {path}: {_MISSING_HINT}"
                )
            session = cpu_session(path, self.settings.threads, "U²-Net-p", _MISSING_HINT)
            model_input = session.get_inputs()[0]
            shape = list(model_input.shape)
            if len(shape) != 4:
                raise ModelUnavailableError(
                    f"{path}: expected an NCHW image input, got shape {shape}; {_MISSING_HINT}"
                )
            self._input_name = model_input.name
            self._input_hw = (_static_dim(shape[2]), _static_dim(shape[3]))
            self._session = session

    def segment(self, image: ImageArray) -> AlphaArray:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}"
            )
        self.load()
        height, width = image.shape[:2]
        batch = preprocess(image, *self._input_hw)
        # U²-Net returns the fused map first, then the six side outputs; only the first is used.
        outputs = self._session.run(None, {self._input_name: batch})
        return postprocess(outputs[0], height, width)


def build_segmenter(settings: SegmentationSettings | None = None) -> Segmenter:
    """The segmenter the settings describe: IS-Net (the default), U²-Net-p, or SAM prompted
    by U²-Net-p."""
    settings = settings or SegmentationSettings()
    if settings.segmenter == "sam":
        # Imported here: SAM pulls torch when it loads.
        from globalpic_segmentation.sam import SamSegmenter

        return SamSegmenter(settings)
    if settings.segmenter == "isnet":
        from globalpic_segmentation.isnet import IsNetSegmenter

        return IsNetSegmenter(settings)
    return U2NetSegmenter(settings)

"""Product masks from IS-Net (DIS, xuebinqin/DIS) at 1024 x 1024 on onnxruntime's CPU.

IS-Net was trained for dichotomous image segmentation: a crisp object/background split at high
resolution, so thin parts (spokes, straps), frosted or clear glass and white-on-white products
come out where U²-Net-p at 320 px fills or loses them. The weights are fetched by
``globalpic-fetch-models`` (isnet_fetch.py) and converted to fp32, which onnxruntime runs about
twice as fast as the shipped fp16 graph on CPU (1.6-2.2 s a photo on 2 cores).

Pre- and post-processing follow @imgly/background-removal's ``runInference`` (the source of the
weights): RGB resized to the network's 1024 x 1024 input, ``(x - 128) / 256`` per channel,
NCHW float32; the first output is the mask, already a probability in [0, 1] (a sigmoid), used
as is (no min-max stretch: a photo with no clear object keeps a weak map) and resized back.
The session is created once, under a lock, on first use.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import cpu_session

INPUT_SIDE = 1024  # the shipped model's fixed input; read from the model when it declares one
_MEAN = 128.0
_SCALE = 256.0

_MISSING_HINT = (
    "run `make models` (globalpic-fetch-models), set GLOBALPIC_SEGMENTATION__ISNET_PATH, or "
    "choose the U²-Net-p fallback with GLOBALPIC_SEGMENTATION__SEGMENTER=u2netp"
)


def _static_dim(dim: Any) -> int:
    """onnxruntime reports dynamic dimensions as strings or None."""
    return dim if isinstance(dim, int) and dim > 0 else INPUT_SIDE


def preprocess(image: ImageArray, height: int, width: int) -> npt.NDArray[np.float32]:
    """RGB uint8 H x W x 3 -> 1 x 3 x height x width float32, ``(x - 128) / 256``."""
    h, w = image.shape[:2]
    # INTER_AREA anti-aliases when shrinking a large photo (imgly's point-sampled bilinear
    # resize aliases fine texture); enlarging a small one, bilinear is the right filter.
    shrink = h * w >= height * width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    small = cv2.resize(image, (width, height), interpolation=interpolation).astype(np.float32)
    small = (small - _MEAN) / _SCALE
    return np.ascontiguousarray(small.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def postprocess(prediction: npt.NDArray[Any], height: int, width: int) -> AlphaArray:
    """The network's 1 x 1 x h x w probability map -> H x W float32 alpha in [0, 1]."""
    pred = np.asarray(prediction, dtype=np.float32).reshape(prediction.shape[-2:])
    # A non-finite value would poison the resize around it; treat it as background.
    pred = np.nan_to_num(pred, nan=0.0, posinf=1.0, neginf=0.0)
    alpha = cv2.resize(pred, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)


class IsNetSegmenter:
    """IS-Net (DIS) product segmenter behind the ``Segmenter`` interface."""

    name = "isnet"

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        self.settings = settings or SegmentationSettings()
        self._session: Any = None
        self._input_name = ""
        self._input_hw = (INPUT_SIDE, INPUT_SIDE)
        self._lock = threading.Lock()

    @property
    def model_path(self) -> str:
        return str(self.settings.isnet_model_path())

    def load(self) -> None:
        """Create the onnxruntime session once; later calls return at once."""
        with self._lock:
            if self._session is not None:
                return
            path = self.settings.isnet_model_path()
            if not path.is_file():
                raise ModelUnavailableError(f"IS-Net weights not found at {path}: {_MISSING_HINT}")
            session = cpu_session(path, self.settings.threads, "IS-Net", _MISSING_HINT)
            model_input = session.get_inputs()[0]
            shape = list(model_input.shape)
            if len(shape) != 4 or model_input.type != "tensor(float)":
                raise ModelUnavailableError(
                    f"{path}: expected a float NCHW image input, got {model_input.type} {shape} "
                    "(the fp16 model must be converted: globalpic-fetch-models does it)"
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
        # The mask comes first; the other outputs are side maps and features for training.
        (mask,) = self._session.run([self._output_name()], {self._input_name: batch})
        return postprocess(mask, height, width)

    def _output_name(self) -> str:
        return str(self._session.get_outputs()[0].name)

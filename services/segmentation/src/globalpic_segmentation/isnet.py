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

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_segmentation.onnx_segmenter import OnnxSegmenter

INPUT_SIDE = 1024  # the shipped model's fixed input; read from the model when it declares one
_MEAN = 128.0
_SCALE = 256.0

_MISSING_HINT = (
    "run `make models` (globalpic-fetch-models), set GLOBALPIC_SEGMENTATION__ISNET_PATH, or "
    "choose the U²-Net-p fallback with GLOBALPIC_SEGMENTATION__SEGMENTER=u2netp"
)


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


class IsNetSegmenter(OnnxSegmenter):
    """IS-Net (DIS) product segmenter behind the ``Segmenter`` interface."""

    name = "isnet"
    label = "IS-Net"
    missing_hint = _MISSING_HINT
    default_side = INPUT_SIDE

    def _weights_path(self) -> Path:
        return self.settings.isnet_model_path()

    def _check_input(self, path: Path, model_input: Any, shape: list[Any]) -> None:
        # The published graph is fp16; fed our float32 batch it fails at run time, so say
        # here how to get the fp32 one.
        if len(shape) != 4 or model_input.type != "tensor(float)":
            raise ModelUnavailableError(
                f"{path}: expected a float NCHW image input, got {model_input.type} {shape} "
                "(the fp16 model must be converted: globalpic-fetch-models does it)"
            )

    def _preprocess(self, image: ImageArray, height: int, width: int) -> npt.NDArray[np.float32]:
        return preprocess(image, height, width)

    def _postprocess(self, prediction: npt.NDArray[Any], height: int, width: int) -> AlphaArray:
        return postprocess(prediction, height, width)

    def _output_names(self) -> list[str] | None:
        # The mask comes first; the other outputs are side maps and features for training,
        # so only the first is computed.
        return [str(self._session.get_outputs()[0].name)]

"""The skeleton shared by the single-image ONNX segmenters (IS-Net, U²-Net-p).

Both load one .onnx file into an onnxruntime CPU session, once (``Model``: under a lock, on
``load()`` or first use; ``unload()`` drops it);
read the network's NCHW input size from the model; and segment an RGB uint8 photo as
preprocess -> run -> postprocess. What differs (which weights file, the names and hints in
their errors, the default input side, the input-type check, the pre/post-processing and
which outputs to fetch) is left to small hooks, so each network's module keeps only its own
maths.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.models import Model
from globalpic_segmentation.settings import SegmentationSettings


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


def _static_dim(dim: Any, default: int) -> int:
    """onnxruntime reports dynamic dimensions as strings or None; those get ``default``."""
    return dim if isinstance(dim, int) and dim > 0 else default


class OnnxSegmenter(Model):
    """An ONNX image segmenter behind the ``Segmenter`` interface; subclasses fill the hooks."""

    name: str
    # Shown in errors: "<label> weights not found ...", "cannot load <label> model ...".
    label: ClassVar[str]
    # How to get the weights, appended to the errors that a missing or bad file raises.
    missing_hint: ClassVar[str]
    # The input side used until the model is loaded, and for a dynamic spatial dimension.
    default_side: ClassVar[int]

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or SegmentationSettings()
        self._session: Any = None
        self._input_name = ""
        self._input_hw = (self.default_side, self.default_side)

    @abstractmethod
    def _weights_path(self) -> Path:
        """The .onnx file the settings point at."""

    @abstractmethod
    def _check_input(self, path: Path, model_input: Any, shape: list[Any]) -> None:
        """Raise ``ModelUnavailableError`` when the model's first input is not one this
        network's preprocessing can feed (``shape`` is ``model_input.shape`` as a list)."""

    @abstractmethod
    def _preprocess(self, image: ImageArray, height: int, width: int) -> npt.NDArray[np.float32]:
        """RGB uint8 H x W x 3 -> the 1 x 3 x height x width batch the network takes."""

    @abstractmethod
    def _postprocess(self, prediction: npt.NDArray[Any], height: int, width: int) -> AlphaArray:
        """The network's mask output -> H x W float32 alpha in [0, 1]."""

    def _output_names(self) -> list[str] | None:
        """The outputs to compute (None: all); ``segment`` uses the first one returned."""
        return None

    @property
    def model_path(self) -> str:
        return str(self._weights_path())

    def _load(self) -> None:
        """Create the onnxruntime session."""
        path = self._weights_path()
        if not path.is_file():
            raise ModelUnavailableError(
                f"{self.label} weights not found at {path}: {self.missing_hint}"
            )
        session = cpu_session(path, self.settings.threads, self.label, self.missing_hint)
        model_input = session.get_inputs()[0]
        shape = list(model_input.shape)
        self._check_input(path, model_input, shape)
        self._input_name = model_input.name
        self._input_hw = (
            _static_dim(shape[2], self.default_side),
            _static_dim(shape[3], self.default_side),
        )
        self._session = session

    def _unload(self) -> None:
        self._session = None

    def segment(self, image: ImageArray) -> AlphaArray:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}"
            )
        self.load()
        height, width = image.shape[:2]
        batch = self._preprocess(image, *self._input_hw)
        outputs = self._session.run(self._output_names(), {self._input_name: batch})
        return self._postprocess(outputs[0], height, width)

"""SAM (Segment Anything) product masks, prompted by the CPU segmenter's salient box.

Needs the ``sam`` extra (``pip install 'globalpic-segmentation[sam]'``: torch,
segment-anything); torch is imported in ``load()`` only. Only SAM's model classes
(``segment_anything.modeling``) are used, with the predictor's steps done here (resize the
longer side to the encoder's size, normalise and pad, encode, prompt, decode, upscale the
logits): segment-anything's package ``__init__`` imports torchvision for its automatic mask
generator, which this backend does not need (and which CPU-only torch installs lack).

U²-Net-p (the CPU ``Segmenter``) finds the salient product; its box (pixels with alpha >=
0.5) and one positive point deep inside it (the maximum of the distance transform) prompt
SAM, whose mask logits, through a sigmoid, are the alpha. SAM traces the product boundary
far more precisely than U²-Net-p's 320 px map (claimed, not measured here); U²-Net-p decides
*which* object is the product.

The checkpoint is a state dict (the official ``sam_vit_h_4b8939.pth`` etc.) at
``sam_checkpoint`` (default ``<model_dir>/sam_vit_h_4b8939.pth``), for the architecture
``sam_model_type`` (``vit_h``, ``vit_l``, ``vit_b``: a name in segment-anything's
``sam_model_registry``). Loaded once, under a lock, onto ``sam_device``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray, Segmenter
from globalpic_common.models import Model, load_all
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter

EXTRA_HINT = "install SAM with: pip install 'globalpic-segmentation[sam]'"
# Below this, the coarse map holds no product: its alpha is returned unchanged.
PRODUCT_THRESHOLD = 0.5


def sam_module(name: str) -> Any:
    """``segment_anything.<name>`` (``modeling``, ``build_sam``) without requiring the
    package ``__init__`` to import: when torchvision is missing or unusable, the package is
    registered bare (its submodules need no torchvision)."""
    if "segment_anything" not in sys.modules:
        spec = importlib.util.find_spec("segment_anything")
        if spec is None or spec.submodule_search_locations is None:
            raise ModelUnavailableError(f"SAM needs segment-anything: {EXTRA_HINT}")
        try:
            importlib.import_module("segment_anything")
        except Exception:  # torchvision absent, or a build that does not match torch
            bare = types.ModuleType("segment_anything")
            bare.__path__ = list(spec.submodule_search_locations)
            bare.__spec__ = spec
            sys.modules["segment_anything"] = bare
    return importlib.import_module(f"segment_anything.{name}")


def sam_builders() -> dict[str, Callable[..., Any]]:
    """Architecture name -> builder (``checkpoint=None``: random weights, loaded after):
    segment-anything's own ``sam_model_registry``, which is also where another architecture
    is registered (the tests add their tiny one there)."""
    registry: dict[str, Callable[..., Any]] = sam_module("build_sam").sam_model_registry
    return registry


def salient_prompt(coarse: AlphaArray) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """(box ``[x0, y0, x1, y1]``, point ``[[x, y]]``) of the product in ``coarse``, or None.

    The box spans the largest connected component of alpha >= 0.5 (inclusive ends, SAM's
    convention); the point is its pixel farthest from the component's edge."""
    solid = (coarse >= PRODUCT_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if n <= 1:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[biggest, :4])
    box = np.array([x, y, x + w - 1, y + h - 1], np.float32)
    inside = np.pad((labels == biggest).astype(np.uint8), 1)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)[1:-1, 1:-1]
    py, px = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return box, np.array([[px, py]], np.float32)


class SamSegmenter(Model):
    """SAM behind the ``Segmenter`` interface, prompted by ``prompter`` (U²-Net-p)."""

    name = "sam"

    def __init__(
        self, settings: SegmentationSettings | None = None, prompter: Segmenter | None = None
    ) -> None:
        super().__init__()
        self.settings = settings or SegmentationSettings()
        if prompter is None:
            prompter = U2NetSegmenter(self.settings)
        self.prompter = prompter
        self._model: Any = None
        self._device = "cpu"
        self._lock = threading.Lock()  # one inference at a time on the shared module

    def load(self) -> None:
        """Load the prompter, then the SAM checkpoint (once); ``ModelUnavailableError`` when
        the checkpoint or the extra is missing."""
        load_all(self.prompter)
        super().load()

    def _load(self) -> None:
        path = self.settings.sam_checkpoint_path()
        if not path.is_file():
            raise ModelUnavailableError(
                f"SAM checkpoint not found at {path}: download it (e.g. sam_vit_h_4b8939.pth)"
                " and set GLOBALPIC_SEGMENTATION__SAM_CHECKPOINT"
            )
        builders = sam_builders()
        if self.settings.sam_model_type not in builders:
            raise ModelUnavailableError(
                f"unknown SAM model type {self.settings.sam_model_type!r}: one of "
                f"{', '.join(sorted(builders))}"
            )
        import torch

        device = self.settings.sam_device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model = builders[self.settings.sam_model_type](checkpoint=None)
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # a corrupt file or another architecture's weights
            raise ModelUnavailableError(
                f"cannot load SAM checkpoint {path} as {self.settings.sam_model_type}: {exc}"
            ) from exc
        self._model = model.to(device).eval()
        self._device = device

    def _unload(self) -> None:
        self._model = None
        if self._device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()  # the weights' memory back to the GPU, not the cache

    def segment(self, image: ImageArray) -> AlphaArray:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}"
            )
        self.load()
        coarse = self.prompter.segment(image)
        prompt = salient_prompt(coarse)
        if prompt is None:
            return coarse
        box, point = prompt
        return self.predict(image, box, point)

    def predict(
        self, image: ImageArray, box: np.ndarray[Any, Any], point: np.ndarray[Any, Any]
    ) -> AlphaArray:
        """SAM's alpha (sigmoid of the mask logits) for one box and positive points, in
        image pixels; the steps of segment-anything's ``SamPredictor``."""
        import torch

        self.load()
        sam = self._model
        h, w = image.shape[:2]
        side = int(sam.image_encoder.img_size)
        scale = side / max(h, w)
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        sx, sy = nw / w, nh / h
        boxes = np.asarray(box, np.float32).reshape(1, 4) * np.array([sx, sy, sx, sy], np.float32)
        points = np.asarray(point, np.float32).reshape(1, -1, 2) * np.array([sx, sy], np.float32)
        dev = torch.device(self._device)
        with self._lock, torch.inference_mode():
            pixels = torch.as_tensor(resized, device=dev).permute(2, 0, 1)[None].float()
            embedding = sam.image_encoder(sam.preprocess(pixels))
            labels = torch.ones(points.shape[:2], dtype=torch.int64, device=dev)
            sparse, dense = sam.prompt_encoder(
                points=(torch.as_tensor(points, device=dev), labels),
                boxes=torch.as_tensor(boxes, device=dev),
                masks=None,
            )
            low_res, _iou = sam.mask_decoder(
                image_embeddings=embedding,
                image_pe=sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
            )
            logits = sam.postprocess_masks(low_res, (nh, nw), (h, w))[0, 0]
            alpha = torch.sigmoid(logits.float()).cpu().numpy()
        return np.asarray(alpha, np.float32)

"""Z-Image-Turbo backends: the model lifecycle and the generative inpainter of ``clean``.

Needs the ``zimage`` extra (``pip install 'globalpic-generation[zimage]'``: torch, diffusers,
transformers, accelerate). torch and diffusers are imported inside the loader only, so the CPU
backends, the server's other paths and the CLI start without paying for them.

- ``load_zimage(settings)``: the pipeline for ``settings.model`` (hub id or local directory),
  on ``settings.device`` in ``settings.dtype`` (bfloat16 on cuda, float32 on cpu), optionally
  with regional ``torch.compile``, an attention backend and CPU offload; loaded once per
  process and configuration under a lock, then warmed up with one generation. Missing weights
  or a missing extra raise ``ModelUnavailableError``.
- ``ZImageInpainter`` (``GenerationSettings.inpainter = "zimage"``): ``ZImageInpaintPipeline``
  on a crop around each group of erase regions (never the whole frame), resized to a
  multiple of the model's pixel factor, with the Turbo settings (9 steps, guidance 0) and a
  seeded generator per region; only the masked pixels are pasted back. Given the product's
  alpha, the product side of each hole is rebuilt from product pixels first
  (``inpaint.rebuild_product_sides``) and the model generates the background side only.
- ``generate_inpaint`` / ``generate_img2img``: one batched, seeded call of the inpaint or
  img2img pipeline (remix's scenes and resize's outpainting / upscaling:
  ``zimage_remix``, ``zimage_resize``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.models import Model
from globalpic_generation.inpaint import Region, check_inputs, rebuild_product_sides, regions
from globalpic_generation.quads import Roi
from globalpic_generation.settings import GenerationSettings

log = logging.getLogger(__name__)

EXTRA_HINT = "install the generative backends with: pip install 'globalpic-generation[zimage]'"


@dataclass
class ZImageModels:
    """One loaded Z-Image pipeline and what callers need to drive it.

    ``inpaint`` is a ``diffusers.ZImageInpaintPipeline``; ``text_to_image`` (a
    ``ZImagePipeline``) and ``img2img`` (a ``ZImageImg2ImgPipeline``, resize's upscaler)
    share its modules, so they cost no memory. Diffusers pipelines keep per-call state (the
    scheduler's timesteps, shared by all three): every call must hold ``lock``.
    """

    inpaint: Any
    text_to_image: Any
    device: str
    dtype: str
    # Pixel sizes must be multiples of this: VAE downsampling x transformer patch size.
    factor: int
    img2img: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: dict[tuple[str, str, str, bool, str | None, bool, bool], ZImageModels] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(requested: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(requested: str, device: str) -> str:
    """``"auto"`` becomes bfloat16 on cuda and float32 elsewhere."""
    if requested != "auto":
        return requested
    return "bfloat16" if device.startswith("cuda") else "float32"


def _looks_like_path(model: str) -> bool:
    """A local path rather than a hub id ("org/name")."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model


def model_source(settings: GenerationSettings) -> str:
    """Where the weights come from: a local directory (checked here) or a hub id.

    Raises ``ModelUnavailableError`` for a local path that holds no diffusers pipeline.
    """
    model = settings.model.strip()
    if not model:
        raise ModelUnavailableError("GLOBALPIC_GENERATION__MODEL is empty: set a hub id or a path")
    local = Path(model).expanduser()
    if local.exists() or _looks_like_path(model):
        if not (local / "model_index.json").is_file():
            raise ModelUnavailableError(
                f"no Z-Image weights at {local} (expected a diffusers pipeline directory with "
                "model_index.json); set GLOBALPIC_GENERATION__MODEL to a hub id or a "
                "save_pretrained directory"
            )
        return str(local)
    return model


def _import_stack() -> tuple[Any, Any, Any, Any]:
    try:
        import torch
        from diffusers import ZImageImg2ImgPipeline, ZImageInpaintPipeline, ZImagePipeline
    except ImportError as exc:
        raise ModelUnavailableError(f"Z-Image needs torch and diffusers: {EXTRA_HINT}") from exc
    return torch, ZImageInpaintPipeline, ZImagePipeline, ZImageImg2ImgPipeline


def _load(settings: GenerationSettings, device: str, dtype_name: str) -> ZImageModels:
    torch, inpaint_cls, _t2i_cls, _i2i_cls = _import_stack()
    source = model_source(settings)
    try:
        pipe = inpaint_cls.from_pretrained(
            source, dtype=getattr(torch, dtype_name), local_files_only=settings.local_files_only
        )
    except ModelUnavailableError:
        raise
    except Exception as exc:  # hub / file errors come in many types: all mean "no weights"
        raise ModelUnavailableError(
            f"cannot load Z-Image weights from {source!r} ({type(exc).__name__}: {exc}); "
            "set GLOBALPIC_GENERATION__MODEL to a local save_pretrained directory or a hub id "
            "reachable from this machine"
        ) from exc
    return prepare_models(pipe, settings, device, dtype_name)


def prepare_models(
    pipe: Any, settings: GenerationSettings, device: str, dtype_name: str
) -> ZImageModels:
    """A loaded ``ZImageInpaintPipeline`` set up as the settings say: attention backend,
    device (or model CPU offload), regional compile; plus the text-to-image and img2img
    pipelines sharing its modules. The loader calls it; so does ``bench/gpu_bench.py`` for
    pipelines built in memory (full-size random weights)."""
    torch, _inpaint_cls, t2i_cls, i2i_cls = _import_stack()
    pipe.set_progress_bar_config(disable=True)
    if settings.attention_backend:
        pipe.transformer.set_attention_backend(settings.attention_backend)
    if settings.offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    if settings.compile:
        if hasattr(pipe.transformer, "compile_repeated_blocks"):
            pipe.transformer.compile_repeated_blocks(fullgraph=True)
        else:  # pragma: no cover - older diffusers
            pipe.transformer = torch.compile(pipe.transformer)
    t2i = t2i_cls(**pipe.components)
    t2i.set_progress_bar_config(disable=True)
    i2i = i2i_cls(**pipe.components)
    i2i.set_progress_bar_config(disable=True)
    factor = int(pipe.vae_scale_factor) * 2
    return ZImageModels(pipe, t2i, device, dtype_name, factor, img2img=i2i)


def warm_up(models: ZImageModels, settings: GenerationSettings) -> None:
    """One inpaint at ``warmup_px``² (rounded to the pixel factor): lazy CUDA init, kernel
    selection and compilation happen here rather than in the first request."""
    side = max(models.factor, settings.warmup_px // models.factor * models.factor)
    image = np.full((side, side, 3), 128, np.uint8)
    mask = np.zeros((side, side), np.uint8)
    mask[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 255
    generate_inpaint(models, settings, [image], [mask], [settings.seed], settings.clean_prompt)


def load_zimage(settings: GenerationSettings | None = None) -> ZImageModels:
    """The Z-Image pipeline for these settings: loaded (and warmed up) once per process.

    Concurrent first calls wait on one lock; later calls with the same model, device, dtype,
    compile, attention and offload settings get the same object.
    """
    settings = settings or GenerationSettings()
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    key = (
        settings.model,
        device,
        dtype,
        settings.compile,
        settings.attention_backend,
        settings.offload,
        settings.local_files_only,
    )
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        log.info("loading Z-Image from %s on %s (%s)", settings.model, device, dtype)
        models = _load(settings, device, dtype)
        if settings.warmup:
            warm_up(models, settings)
        _CACHE[key] = models
        return models


def unload_all() -> None:
    """Drop every cached pipeline (tests; a server swapping models)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def generate_inpaint(
    models: ZImageModels,
    settings: GenerationSettings,
    images: list[ImageArray],
    masks: list[MaskArray],
    seeds: list[int],
    prompt: str,
) -> list[ImageArray]:
    """Inpaint equally sized images (sides multiples of ``models.factor``) in one batch.

    Masks are 0 / 255 (255 = generate). One seeded CPU generator per image: the same seed
    gives the same image on any device and in any batch.
    """
    mask_batch = (np.stack(masks) > 0).astype(np.float32)[..., None]
    return _run_batch(
        models.inpaint, models, settings, images, seeds, prompt, mask_image=mask_batch, strength=1.0
    )


def generate_img2img(
    models: ZImageModels,
    settings: GenerationSettings,
    images: list[ImageArray],
    seeds: list[int],
    prompt: str,
    strength: float,
) -> list[ImageArray]:
    """img2img of equally sized images (sides multiples of ``models.factor``) in one batch:
    each image is noised to ``strength`` of the Turbo schedule and denoised from there (9
    steps at strength 0.3 run 3 forwards). Seeded per image like ``generate_inpaint``."""
    if models.img2img is None:  # pragma: no cover - ZImageModels built without prepare_models
        raise ModelUnavailableError("this Z-Image pipeline has no img2img part")
    return _run_batch(models.img2img, models, settings, images, seeds, prompt, strength=strength)


def _run_batch(
    pipeline: Any,
    models: ZImageModels,
    settings: GenerationSettings,
    images: list[ImageArray],
    seeds: list[int],
    prompt: str,
    **inputs: Any,
) -> list[ImageArray]:
    """One call of an image-conditioned Z-Image pipeline on a batch, with the Turbo settings,
    a seeded CPU generator per image, under the models' lock; uint8 images back."""
    import torch

    h, w = images[0].shape[:2]
    if h % models.factor or w % models.factor:
        raise ValueError(f"{w}x{h} is not a multiple of {models.factor}")
    batch = np.stack(images).astype(np.float32) / 255.0
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    with models.lock, torch.inference_mode():
        result = pipeline(
            prompt=[prompt] * len(images),
            image=batch,
            height=h,
            width=w,
            num_inference_steps=settings.steps,
            guidance_scale=settings.guidance_scale,
            generator=generators,
            max_sequence_length=settings.max_sequence_length,
            output_type="np",
            **inputs,
        )
    out = np.asarray(result.images, np.float32)
    return [np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8) for img in out]


@dataclass(frozen=True)
class CropPlan:
    """Where a group of erase regions is generated: its crop of the image, the size the crop
    is resized to for the model, and the pixels of this group to paste back."""

    roi: Roi
    work_size: tuple[int, int]  # (height, width), multiples of the pixel factor
    hole: np.ndarray[Any, np.dtype[np.bool_]]  # this group's pixels, crop coordinates


def round_to(value: float, factor: int) -> int:
    return max(factor, round(value / factor) * factor)


def plan_crop(
    region: Region, image_shape: tuple[int, int], factor: int, settings: GenerationSettings
) -> CropPlan:
    """The crop around ``region`` (its bounding box plus context, clipped to the image) and
    its working size: longer side scaled into ``zimage_side_px``, sides rounded to ``factor``."""
    h, w = image_shape
    bb = region.roi
    lo, hi = settings.zimage_context_px
    context = int(np.clip(settings.zimage_context_share * max(bb.shape), lo, hi))
    roi = Roi(max(0, bb.y0 - context), min(h, bb.y1 + context),
              max(0, bb.x0 - context), min(w, bb.x1 + context))  # fmt: skip
    ch, cw = roi.shape
    side_lo, side_hi = settings.zimage_side_px
    longer = max(ch, cw)
    scale = float(np.clip(longer, side_lo, side_hi)) / longer
    work = (round_to(ch * scale, factor), round_to(cw * scale, factor))
    hole = np.zeros(roi.shape, bool)
    hole[bb.y0 - roi.y0 : bb.y1 - roi.y0, bb.x0 - roi.x0 : bb.x1 - roi.x0] = region.hole
    return CropPlan(roi, work, hole)


def _resize(array: np.ndarray[Any, Any], size: tuple[int, int]) -> Any:
    """cv2.resize to (height, width): area averaging down, bicubic up; no-op at equal size."""
    if array.shape[:2] == size:
        return array
    shrink = size[0] * size[1] < array.shape[0] * array.shape[1]
    flag = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return cv2.resize(array, (size[1], size[0]), interpolation=flag)


class ZImageBackend(Model):
    """What every Z-Image backend shares: settings, and the pipeline loaded on ``load()``
    (the gRPC server calls it after opening its port and reports SERVING once it returns)
    or on first use. Construction is cheap and imports no torch; backends with the same
    settings share one pipeline (``load_zimage`` caches per configuration)."""

    def __init__(
        self, settings: GenerationSettings | None = None, models: ZImageModels | None = None
    ) -> None:
        super().__init__()
        self.settings = settings or GenerationSettings()
        self._models = models

    def _load(self) -> None:
        """Load (and warm up) the pipeline; ``ModelUnavailableError`` without weights."""
        if self._models is None:
            self._models = load_zimage(self.settings)

    def _unload(self) -> None:
        # This backend lets go; the pipeline itself is freed once no backend holds it and
        # ``unload_all`` empties the per-configuration cache.
        self._models = None

    @property
    def models(self) -> ZImageModels:
        self.load()
        assert self._models is not None
        return self._models


class ZImageInpainter(ZImageBackend):
    """Generative fill of the erase mask with Z-Image-Turbo, crop by crop.

    Each group of mask components (``inpaint.regions``) gets a crop with context around it,
    resized so its longer side lies in ``zimage_side_px`` and its sides are multiples of the
    model's pixel factor; every masked pixel of the crop is generated (other groups' overlay
    pixels must not serve as context), and only the group's own pixels are pasted back, so
    everything outside the mask stays bit-identical. Group ``i`` uses seed ``seed + i``.

    The model loads on ``load()`` (the gRPC server calls it after opening its port, and
    reports SERVING once it returns) or on the first ``inpaint``; construction is cheap.
    """

    name = "zimage"

    def plans(self, image: ImageArray, mask: MaskArray) -> list[CropPlan]:
        shape = (int(image.shape[0]), int(image.shape[1]))
        return [plan_crop(r, shape, self.models.factor, self.settings) for r in regions(mask, 0)]

    def inpaint(
        self, image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
    ) -> ImageArray:
        check_inputs(image, mask, product_alpha)
        if product_alpha is not None:
            # The product side of each hole is rebuilt from product pixels first (its outline
            # completed, its structure continued: no hallucinated print on the product); the
            # model generates the background side only, with the rebuilt product as context.
            image, mask = rebuild_product_sides(image, mask, product_alpha, self.settings)
        out = image.copy()
        for i, plan in enumerate(self.plans(image, mask)):
            crop = image[plan.roi.slices]
            # Any coverage makes a working pixel a hole: no overlay colour leaks into context.
            crop_mask = (mask[plan.roi.slices] > 0).astype(np.float32)
            work_mask = (_resize(crop_mask, plan.work_size) > 0).astype(np.uint8) * 255
            work = np.asarray(_resize(crop, plan.work_size), np.uint8)
            (generated,) = generate_inpaint(
                self.models,
                self.settings,
                [work],
                [work_mask],
                [self.settings.seed + i],
                self.settings.clean_prompt,
            )
            back = np.asarray(_resize(generated, plan.roi.shape), np.uint8)
            out[plan.roi.slices][plan.hole] = back[plan.hole]
        return out

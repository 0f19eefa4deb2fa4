"""Generation service settings (``GLOBALPIC_GENERATION__<FIELD>``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from globalpic_common.settings import ServiceSettings, settings_config


class GenerationSettings(ServiceSettings):
    model_config = settings_config("generation")

    # Which inpainter rebuilds the erased pixels: "auto" chooses per group of regions;
    # "zimage" is the generative backend (needs the ``zimage`` extra and the weights).
    inpainter: Literal["auto", "opencv", "pushpull", "patchmatch", "zimage"] = "auto"

    # --- erase mask -------------------------------------------------------------------------
    # Extra margin (px) around the detected overlay pixels: anti-aliasing and JPEG ringing.
    mask_dilate_px: int = 2
    # How far (in text heights) outlines, shadows and strokes may reach outside the OCR quad.
    glyph_search_pad: float = 0.35
    # A flood of the backing colour is a badge only if it is at most this many times the
    # quad's area (larger = it leaked into a plain photo background).
    backing_max_area_ratio: float = 30.0
    # ... and at most this share of the whole image.
    backing_max_image_share: float = 0.25
    # Median colour distance (0-441 RGB) between a backing and the photo just outside it.
    backing_min_contrast: float = 60.0
    # Lowest deviation from the estimated background that can seed an overlay pixel.
    glyph_min_contrast: float = 14.0

    # --- inpainting -------------------------------------------------------------------------
    # Regions thinner than this (px, twice the largest distance to a known pixel) are strokes:
    # OpenCV's diffusion rebuilds them; wider ones go to push-pull or PatchMatch.
    wide_region_px: int = 16
    # Wide regions whose surroundings have at least this texture energy (mean squared
    # luminance gradient, levels^2) go to PatchMatch; smooth ones to push-pull.
    patchmatch_min_texture: float = 20.0
    # PatchMatch pixels (crop area after scaling) that "auto" may spend per image: it costs
    # ~100x the other fills. 0 turns PatchMatch off in "auto".
    patchmatch_budget_px: int = 40_000
    # PatchMatch patch radius; 3 is the library's own example setting.
    patchmatch_patch_size: int = 3
    # PatchMatch works on a crop scaled down to at most this many pixels (its cost is
    # proportional to the crop's area; the texture lost by scaling is restored as grain).
    patchmatch_max_px: int = 25_600
    # OpenCV fill: radius of the neighbourhood each rebuilt pixel is interpolated from.
    opencv_radius: int = 3
    # Add grain to the fills so they carry the texture energy of their surroundings.
    grain: bool = True
    # Seed of the grain and of PatchMatch's random search: equal inputs give equal outputs.
    seed: int = 1234

    # --- Z-Image (the ``zimage`` extra: torch, diffusers, transformers) ------------------------
    # The weights: a Hugging Face hub id or a local directory laid out by ``save_pretrained``
    # (model_index.json, transformer/, vae/, text_encoder/, tokenizer/, scheduler/).
    model: str = "Tongyi-MAI/Z-Image-Turbo"
    # Never reach the hub: a hub id must already be in the local Hugging Face cache.
    local_files_only: bool = False
    # "auto": cuda when torch sees a GPU, else cpu. Or "cuda", "cuda:1", "cpu".
    device: str = "auto"
    # "auto": bfloat16 on cuda, float32 on cpu (Z-Image does not support float16).
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    # Regional torch.compile of the transformer's repeated blocks (slow first call, then faster).
    compile: bool = False
    # A diffusers attention backend ("flash", "_flash_3", "native", ...); None keeps the default.
    attention_backend: str | None = None
    # Model CPU offload (accelerate): fits small GPUs, costs transfers on every call.
    offload: bool = False
    # One generation at load time, so the first request does not pay for lazy init / compile.
    warmup: bool = True
    # Side (px) of the square warm-up image.
    warmup_px: int = 512
    # Turbo sampling: 9 scheduler steps = 8 transformer forwards, no classifier-free guidance.
    steps: int = 9
    guidance_scale: float = 0.0
    # Prompt for rebuilding the background behind erased overlays.
    clean_prompt: str = (
        "clean product photo, seamless continuation of the surrounding background and surface, "
        "no text, no logo, no watermark, no sticker"
    )
    # Tokens of the prompt the text encoder reads.
    max_sequence_length: int = 256
    # Crops around each erase region: context on every side is this share of the region's
    # longer side, clamped to zimage_context_px.
    zimage_context_share: float = 0.5
    zimage_context_px: tuple[int, int] = (32, 256)
    # Crops are resized so their longer side lies in this range (px) before generation: the
    # model is poor below ~512 px and its cost grows with the square of the side.
    zimage_side_px: tuple[int, int] = (512, 1024)

    # --- remix backgrounds --------------------------------------------------------------------
    # "composite": CPU-drawn styles (or library photos); "zimage": approximate (scene) styles
    # are generated around the product by Z-Image (exact styles stay drawn: pure white is
    # a marketplace rule a generator cannot promise).
    remixer: Literal["composite", "zimage"] = "composite"
    # The frame is generated at this longer side (px), then resized back.
    remix_side_px: tuple[int, int] = (768, 1024)
    # Candidates per pipeline call at most; on cuda also limited by free memory.
    remix_batch_max: int = 4
    # GPU memory one image of a batch needs (GiB per megapixel of working size) beyond the
    # weights: the batch limit on cuda is free memory / this. To be measured (bench-gpu).
    remix_gib_per_megapixel: float = 2.0

    # --- resize (``canvas.fit_to_canvas``: the photo on a marketplace frame) -------------------
    # Who fills the frame's area beyond the photo when the background is extended (never on
    # white-background platforms, cut-outs or a given background image): "classical" mirrors
    # and smooths the photo's border; "zimage" outpaints it with Z-Image from
    # ``outpaint_prompt``. The photo's own pixels stay exact either way.
    outpainter: Literal["classical", "zimage"] = "classical"
    # The frame is generated at this longer side (px), then resized back.
    outpaint_side_px: tuple[int, int] = (768, 1024)
    outpaint_prompt: str = (
        "product photograph, seamless continuation of the same background, surface, lighting "
        "and perspective, empty space, no other objects, no text, no logo, no watermark"
    )
    # Who upscales small photos: "classical" is Lanczos + edge-aware sharpen; "zimage" runs
    # img2img (``ZImageImg2ImgPipeline``, ``upscale_strength``) on that upscale to add
    # detail, on extended backgrounds only (like outpainting).
    upscaler: Literal["classical", "zimage"] = "classical"
    # Upscales by less than this factor stay classical (img2img would change pixels for
    # little gain).
    upscale_min_scale: float = 1.5
    # img2img strength: the share of the schedule re-run (0.3 of 9 steps: 3 forwards).
    upscale_strength: float = Field(default=0.3, gt=0.0, le=1.0)
    # The photo is generated at this longer side (px), then resized to its place.
    upscale_side_px: tuple[int, int] = (512, 1536)
    upscale_prompt: str = (
        "high resolution product photograph, sharp focus, fine detail, clean background"
    )
    # Pixels of the product (alpha == 1) keep the classical upscale bit for bit and its soft
    # edge blends by alpha: img2img must not redraw a label, a logo or a texture the seller
    # sells. False: the whole photo is img2img'd.
    upscale_keep_product: bool = True

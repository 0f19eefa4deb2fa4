"""Generation service settings (``GLOBALPIC_GENERATION__<FIELD>``)."""

from __future__ import annotations

from typing import Literal

from globalpic_common.settings import ServiceSettings, settings_config


class GenerationSettings(ServiceSettings):
    model_config = settings_config("generation")

    # Which inpainter rebuilds the erased pixels: "auto" chooses per group of regions.
    inpainter: Literal["auto", "opencv", "pushpull", "patchmatch"] = "auto"

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

"""Marketplace and social presets: the one registry of target sizes and the rules that apply.

``resize --platform`` takes its frame from here, ``check --platform`` its rules. The figures
follow each platform's published image guidelines; where a platform only recommends a size
(Shopify, Instagram, Facebook), ``min_side`` is the size below which it visibly upscales the
photo (or disables zoom), so ``check`` can warn before the image looks soft.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common import errors
from globalpic_common.errors import BadInputError

# Sizes ``--size WxH`` accepts: below 64 px nothing is recognisable; above 8192 px no
# marketplace accepts the file and one frame would take hundreds of MB to process.
MIN_SIZE_PX = 64
MAX_SIZE_PX = 8192

_MB = 1024 * 1024


class Platform(BaseModel):
    """A target frame and the rules the platform enforces on it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id used on the command line: amazon, ebay, ...")
    name: str
    width: int = Field(gt=0, description="Frame width written by resize (px)")
    height: int = Field(gt=0, description="Frame height written by resize (px)")
    white_background: bool = Field(
        False, description="Everything outside the product (and its shadow) must be RGB 255"
    )
    min_fill: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Smallest share of the frame the product box must span (its longer side "
        "against the frame's matching side)",
    )
    forbid_overlay_text: bool = Field(
        False, description="No text, badges or watermarks added on top of the photo"
    )
    min_side: int = Field(gt=0, description="Smallest allowed longer side of the image (px)")
    max_bytes: int = Field(gt=0, description="Largest file the platform accepts (bytes)")
    notes: str = ""


def _preset(**fields: object) -> Platform:
    return Platform.model_validate(fields)


_PRESETS = (
    _preset(
        id="amazon",
        name="Amazon main image",
        width=1000,
        height=1000,
        white_background=True,
        min_fill=0.85,
        forbid_overlay_text=True,
        min_side=1000,
        max_bytes=10 * _MB,
        notes="Pure white background (RGB 255,255,255) outside the product and its shadow; "
        "product fills >= 85% of the frame; no text, logos or badges; >= 1000 px on the "
        "longer side enables zoom.",
    ),
    _preset(
        id="ebay",
        name="eBay listing photo",
        width=1600,
        height=1600,
        min_side=500,
        max_bytes=12 * _MB,
        notes="At least 500 px on the longer side; 1600 px recommended for zoom.",
    ),
    _preset(
        id="shopify-product",
        name="Shopify product image",
        width=2048,
        height=2048,
        min_side=800,
        max_bytes=20 * _MB,
        notes="2048 x 2048 recommended for square product images; zoom needs >= 800 px.",
    ),
    _preset(
        id="shopify-banner",
        name="Shopify banner / slideshow",
        width=1920,
        height=1080,
        min_side=1200,
        max_bytes=20 * _MB,
        notes="Full-width theme banner; narrower images are upscaled by the theme.",
    ),
    _preset(
        id="tiktok",
        name="TikTok (vertical 9:16)",
        width=1080,
        height=1920,
        min_side=1280,
        max_bytes=5 * _MB,
        notes="Full-screen vertical; 720 x 1280 is the smallest that is not upscaled.",
    ),
    _preset(
        id="facebook",
        name="Facebook feed (4:5)",
        width=1080,
        height=1350,
        min_side=1080,
        max_bytes=8 * _MB,
        notes="Portrait feed image; smaller images are upscaled to 1080 px wide.",
    ),
    _preset(
        id="instagram-square",
        name="Instagram post (square)",
        width=1080,
        height=1080,
        min_side=1080,
        max_bytes=8 * _MB,
        notes="Instagram stores posts 1080 px wide; smaller images are upscaled.",
    ),
    _preset(
        id="instagram-portrait",
        name="Instagram post (portrait 4:5)",
        width=1080,
        height=1350,
        min_side=1080,
        max_bytes=8 * _MB,
        notes="The tallest feed format; smaller images are upscaled.",
    ),
    _preset(
        id="instagram-story",
        name="Instagram story / reel (9:16)",
        width=1080,
        height=1920,
        min_side=1280,
        max_bytes=8 * _MB,
        notes="Full-screen vertical; keep text out of the top and bottom 250 px.",
    ),
)

PLATFORMS: MappingProxyType[str, Platform] = MappingProxyType({p.id: p for p in _PRESETS})


def platform_ids() -> list[str]:
    return list(PLATFORMS)


def get_platform(platform_id: str) -> Platform:
    """The preset called ``platform_id`` (case-insensitive); ``unknown_platform`` otherwise."""
    found = PLATFORMS.get(platform_id.strip().lower())
    if found is None:
        raise BadInputError(
            f"unknown platform {platform_id!r}; use one of: {', '.join(PLATFORMS)}",
            code=errors.UNKNOWN_PLATFORM,
        )
    return found


_SIZE_RE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x800"`` -> ``(1200, 800)`` (width, height); ``bad_size`` when malformed or out
    of ``MIN_SIZE_PX``..``MAX_SIZE_PX``."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise BadInputError(
            f"size {text!r} is not WIDTHxHEIGHT (e.g. 1200x800)", code=errors.BAD_SIZE
        )
    width, height = int(match.group(1)), int(match.group(2))
    for side in (width, height):
        if not MIN_SIZE_PX <= side <= MAX_SIZE_PX:
            raise BadInputError(
                f"size {width}x{height}: each side must be {MIN_SIZE_PX}..{MAX_SIZE_PX} px",
                code=errors.BAD_SIZE,
            )
    return width, height

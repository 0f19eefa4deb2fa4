"""The remix style catalog: data only, so the gateway and the web app can list styles without
importing any renderer.

Each style carries the text-to-image prompt the GPU backend (Z-Image-Turbo) will use, and
says whether our CPU renderer draws it exactly (``exact``: a solid colour, a gradient, a
studio sweep are what they are) or only approximates the scene the prompt describes
(``approximate``: a blurred interior, a garden). Prompts describe the setting, the light and
the camera, never the product: the product is composited in from the seller's own photo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common import errors
from globalpic_common.errors import BadInputError

Rendering = Literal["exact", "approximate"]
Family = Literal["solid", "gradient", "studio", "tabletop", "interior", "outdoor"]

# Shared by every prompt: what a product backdrop must never contain.
_NEGATIVE = (
    "text, letters, watermark, logo, signature, price tag, people, hands, faces, animals, "
    "extra products, clutter, cartoon, illustration, 3d render look, oversaturated, "
    "overexposed, harsh flash, lens flare, distorted perspective, tilted horizon, "
    "low resolution, jpeg artifacts, noise, blurry foreground"
)


class Style(BaseModel):
    """One background style of the ``remix`` operation."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="Stable kebab-case id")
    name_en: str
    name_zh: str
    prompt: str = Field(description="Text-to-image prompt of the GPU backend (no product in it)")
    negative_prompt: str
    rendering: Rendering = Field(
        description="exact: the CPU renderer draws it exactly; approximate: it approximates "
        "the scene the prompt describes"
    )
    family: Family
    description: str = Field(description="One line for the style picker")


def _style(**fields: object) -> Style:
    fields.setdefault("negative_prompt", _NEGATIVE)
    return Style.model_validate(fields)


STYLES: tuple[Style, ...] = (
    _style(
        id="amazon-white",
        name_en="Amazon white",
        name_zh="亚马逊纯白底",
        prompt="professional e-commerce product photograph on a seamless pure white background, "
        "RGB 255 255 255 white, high-key studio lighting, soft diffused light from large "
        "softboxes, subtle natural contact shadow under the object, sharp focus, 100mm macro "
        "lens, f/8, neutral colour balance",
        rendering="exact",
        family="solid",
        description="Pure RGB 255 white with a soft contact shadow: Amazon's main-image rule.",
    ),
    _style(
        id="minimal-white",
        name_en="Minimal white",
        name_zh="极简白",
        prompt="minimalist product photograph on a plain soft off-white backdrop, even diffused "
        "studio light, gentle natural shadow, clean negative space, sharp focus, 85mm lens, "
        "f/8, neutral colours, catalogue style",
        rendering="exact",
        family="solid",
        description="Soft off-white, calmer than pure white, for shops and social posts.",
    ),
    _style(
        id="minimal-grey",
        name_en="Minimal grey",
        name_zh="极简灰",
        prompt="minimalist product photograph on a plain light grey seamless backdrop, soft "
        "diffused studio light, subtle contact shadow, clean negative space, sharp focus, "
        "85mm lens, f/8, neutral cool tones",
        rendering="exact",
        family="solid",
        description="Light neutral grey: white and metallic products stand out on it.",
    ),
    _style(
        id="minimal-beige",
        name_en="Minimal beige",
        name_zh="极简米色",
        prompt="minimalist product photograph on a plain warm beige backdrop, soft warm "
        "diffused light, gentle contact shadow, clean negative space, sharp focus, 85mm lens, "
        "f/8, warm neutral tones, calm aesthetic",
        rendering="exact",
        family="solid",
        description="Warm sand beige: cosmetics, textiles, home goods.",
    ),
    _style(
        id="pastel-gradient",
        name_en="Pastel gradient",
        name_zh="马卡龙渐变",
        prompt="product photograph on a smooth pastel gradient backdrop blending two soft "
        "pastel colours, seamless paper, soft even studio light, gentle shadow, sharp focus, "
        "85mm lens, modern clean commercial look",
        rendering="exact",
        family="gradient",
        description="A smooth two-colour pastel gradient; the colour pair changes per variant.",
    ),
    _style(
        id="studio-sweep",
        name_en="Studio sweep",
        name_zh="影棚无缝背景",
        prompt="product photograph in a professional photo studio on a seamless light grey "
        "paper sweep curving from floor to wall, single large softbox key light from above, "
        "soft light falloff towards the edges, natural contact shadow, sharp focus, 90mm "
        "lens, f/8",
        rendering="exact",
        family="studio",
        description="Seamless paper sweep with soft light falloff; the light moves per variant.",
    ),
    _style(
        id="studio-dark",
        name_en="Dark studio",
        name_zh="暗调影棚",
        prompt="low-key product photograph on a seamless charcoal grey sweep, a soft spotlight "
        "pool on the backdrop behind the object, dark moody studio, subtle reflection on a "
        "satin floor, sharp focus, 100mm lens, premium look",
        rendering="exact",
        family="studio",
        description="Charcoal sweep with a spotlight pool: electronics, watches, perfume.",
    ),
    _style(
        id="modern-home",
        name_en="Modern home",
        name_zh="现代家居",
        prompt="lifestyle product photograph on a light oak table in a bright modern living "
        "room, white walls, a sofa, a potted plant and framed art softly out of focus behind, "
        "natural daylight from a large window, shallow depth of field, 50mm lens, f/2.8, "
        "warm inviting atmosphere",
        rendering="approximate",
        family="interior",
        description="Light oak table in a bright living room, blurred sofa, plant and window.",
    ),
    _style(
        id="business-desk",
        name_en="Business desk",
        name_zh="商务办公桌",
        prompt="product photograph on a clean office desk, walnut or white desk surface, "
        "a monitor, books and window blinds softly out of focus behind, cool daylight, "
        "professional corporate atmosphere, shallow depth of field, 50mm lens, f/2.8",
        rendering="approximate",
        family="interior",
        description="Office desk with a blurred monitor, bookshelf and window blinds.",
    ),
    _style(
        id="natural-outdoor",
        name_en="Natural outdoor",
        name_zh="自然户外",
        prompt="outdoor product photograph on a weathered wooden bench or flat stone in a "
        "garden, green foliage and sunlight bokeh behind, warm natural sunlight, soft "
        "shadows, shallow depth of field, 85mm lens, f/2, golden hour",
        rendering="approximate",
        family="outdoor",
        description="Wood or stone in a sunny garden with green foliage bokeh.",
    ),
    _style(
        id="tiktok-vivid",
        name_en="TikTok vivid",
        name_zh="抖音炫彩",
        prompt="eye-catching product photograph on a colourful podium, bold saturated gradient "
        "backdrop in vivid pink, orange, purple or teal, glowing light streaks and bokeh, "
        "punchy contrast, trendy social media look, sharp focus, 35mm lens",
        rendering="approximate",
        family="studio",
        description="Saturated colour-block podium and glow for short-video feeds.",
    ),
    _style(
        id="instagram-lifestyle",
        name_en="Instagram lifestyle",
        name_zh="Ins风生活",
        prompt="aesthetic lifestyle product photograph on cream linen fabric, soft morning "
        "sunlight through a window casting gentle window-frame shadows on a pale wall, "
        "a vase with dried flowers softly out of focus, warm muted tones, film look, "
        "shallow depth of field, 50mm lens, f/2",
        rendering="approximate",
        family="interior",
        description="Cream linen, pale wall with window shadows, warm muted film tones.",
    ),
    _style(
        id="brand-store",
        name_en="Brand store",
        name_zh="品牌独立站",
        prompt="premium product photograph on a stone display plinth in an upscale brand "
        "boutique, softly lit shelf niches and warm spotlights out of focus behind, "
        "elegant neutral palette, shallow depth of field, 50mm lens, f/2.8, editorial look",
        rendering="approximate",
        family="interior",
        description="Boutique display plinth, lit shelf niches and warm spots, for own stores.",
    ),
    _style(
        id="marble-luxury",
        name_en="Marble luxury",
        name_zh="大理石轻奢",
        prompt="luxury product photograph on a polished white marble surface with grey veins, "
        "subtle reflection, dark elegant backdrop with soft warm bokeh, refined moody "
        "lighting, sharp focus, 100mm lens, f/4, premium cosmetics advertising",
        rendering="approximate",
        family="tabletop",
        description="Polished white marble with a faint reflection, dark elegant backdrop.",
    ),
    _style(
        id="wood-rustic",
        name_en="Rustic wood",
        name_zh="复古木纹",
        prompt="product photograph on a rustic reclaimed wooden table with visible grain, "
        "warm dark plaster wall behind, warm tungsten light with soft bokeh, cosy "
        "handcrafted atmosphere, shallow depth of field, 50mm lens, f/2.8",
        rendering="approximate",
        family="tabletop",
        description="Reclaimed wood planks and a warm dark wall: food, crafts, leather.",
    ),
    _style(
        id="kitchen-counter",
        name_en="Kitchen counter",
        name_zh="厨房台面",
        prompt="product photograph on a bright kitchen counter, white quartz or butcher-block "
        "worktop, white subway tile backsplash, herbs and utensils softly out of focus, "
        "natural window light, fresh clean atmosphere, shallow depth of field, 50mm lens",
        rendering="approximate",
        family="interior",
        description="Quartz or butcher-block counter with a blurred tiled backsplash.",
    ),
)

_BY_ID = {s.id: s for s in STYLES}
if len(_BY_ID) != len(STYLES):  # pragma: no cover - a catalog typo, caught at import
    raise RuntimeError("duplicate style ids in STYLES")


# A small JPEG per style, rendered by our own remixer (bench/style_previews.py): the web
# app's gallery, served by the gateway at GET /v1/styles/{id}/preview.
PREVIEWS = Path(__file__).resolve().parent / "style_previews"


def preview_path(style_id: str) -> Path:
    """The style's preview file (``unknown_style`` for an id not in the catalog)."""
    return PREVIEWS / f"{get_style(style_id).id}.jpg"


def style_ids() -> list[str]:
    return [s.id for s in STYLES]


def get_style(style_id: str) -> Style:
    """The style called ``style_id`` (case-insensitive); ``unknown_style`` otherwise."""
    found = _BY_ID.get(style_id.strip().lower())
    if found is None:
        raise BadInputError(
            f"unknown style {style_id!r}; use one of: {', '.join(_BY_ID)}",
            code=errors.UNKNOWN_STYLE,
        )
    return found

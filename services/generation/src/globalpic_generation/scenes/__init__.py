"""CPU renderers of the remix styles: ``render_background(style_id, width, height, ...)``.

One renderer per style of ``globalpic_common.styles.STYLES`` (a test keeps the two in step).
Exact styles (solid colours, gradients, studio sweeps) are drawn exactly; approximate ones
(rooms, gardens, tabletops) are plausible backdrops: a surface in perspective whose far edge
sits behind the product's base, light falloff, out-of-focus props, film grain. Everything is
drawn by our code at any size, and the same (style, size, seed, product box) always gives
the same pixels.

Seeds: approximate styles and the gradient / sweep styles draw a different backdrop per seed
(palette, props, light position); the solid styles (``amazon-white``, ``minimal-*``) draw the
same flat colour for every seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import ImageArray
from globalpic_common.styles import get_style
from globalpic_generation.scenes import interior, outdoor, solid, studio, tabletop
from globalpic_generation.scenes.stage import (
    Box,
    DrawFn,
    clip_levels,
    plan_stage,
    to_levels,
    upsample,
)

# Largest side drawn (px): no marketplace takes more, and one frame would take ~1 GB.
MAX_SIDE = 8192


@dataclass(frozen=True)
class SceneRenderer:
    draw: DrawFn
    scale: float  # working canvas size / output size (blurry backdrops are drawn small)
    grain: float  # film grain std in levels at output size; 0 keeps colours exact
    seeded: bool  # whether the seed changes the backdrop
    glossy: bool = False  # a polished surface: the composite adds a faint reflection
    # The shadow must stay within a few px of the product (a pure white marketplace
    # background is judged from just outside the product's edge).
    tight_shadow: bool = False


def _room(draw: DrawFn) -> SceneRenderer:
    return SceneRenderer(draw, 0.5, 2.0, True)


RENDERERS: MappingProxyType[str, SceneRenderer] = MappingProxyType({
    "amazon-white": SceneRenderer(
        solid.solid(solid.AMAZON_WHITE), 0.125, 0.0, False, tight_shadow=True
    ),
    "minimal-white": SceneRenderer(solid.solid(solid.MINIMAL_WHITE), 0.125, 0.0, False),
    "minimal-grey": SceneRenderer(solid.solid(solid.MINIMAL_GREY), 0.125, 0.0, False),
    "minimal-beige": SceneRenderer(solid.solid(solid.MINIMAL_BEIGE), 0.125, 0.0, False),
    # Gradients and sweeps get a trace of grain: it dithers away banding in 8-bit ramps.
    "pastel-gradient": SceneRenderer(solid.pastel_gradient, 0.25, 0.5, True),
    "studio-sweep": SceneRenderer(studio.sweep(studio.LIGHT_GREY_PAPER), 0.25, 0.6, True),
    "studio-dark": SceneRenderer(
        studio.sweep(studio.CHARCOAL_PAPER, spot=0.6), 0.25, 0.8, True, glossy=True
    ),
    "tiktok-vivid": SceneRenderer(studio.vivid, 0.5, 1.2, True, glossy=True),
    "modern-home": _room(interior.modern_home),
    "business-desk": _room(interior.business_desk),
    "instagram-lifestyle": SceneRenderer(interior.instagram_lifestyle, 0.5, 2.6, True),
    "brand-store": _room(interior.brand_store),
    "kitchen-counter": _room(interior.kitchen_counter),
    "natural-outdoor": SceneRenderer(outdoor.natural_outdoor, 0.5, 2.2, True),
    "marble-luxury": SceneRenderer(tabletop.marble_luxury, 0.5, 1.8, True, glossy=True),
    "wood-rustic": SceneRenderer(tabletop.wood_rustic, 0.5, 2.2, True),
})  # fmt: skip


def renderer(style_id: str) -> SceneRenderer:
    """The renderer of a catalog style (``unknown_style`` for ids not in the catalog)."""
    style = get_style(style_id)
    found = RENDERERS.get(style.id)
    if found is None:  # pragma: no cover - the catalog and RENDERERS are tested to match
        raise BadInputError(f"style {style.id!r} has no CPU renderer", code=errors.UNKNOWN_STYLE)
    return found


def _check(width: int, height: int, seed: int, product_box: Box | None) -> None:
    for side in (width, height):
        if not 1 <= side <= MAX_SIDE:
            raise BadInputError(
                f"background size {width}x{height}: each side must be 1..{MAX_SIDE} px",
                code=errors.BAD_SIZE,
            )
    if seed < 0:
        raise BadInputError(f"seed must be >= 0, got {seed}", code=errors.BAD_OPTION)
    if product_box is not None:
        x0, y0, x1, y1 = product_box
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise BadInputError(
                f"product box {product_box} is not inside the {width}x{height} frame",
                code=errors.BAD_OPTION,
            )


def render_background(
    style_id: str,
    width: int,
    height: int,
    seed: int = 0,
    product_box: Box | None = None,
) -> ImageArray:
    """The backdrop of ``style_id`` at ``width`` x ``height`` (uint8 RGB), deterministic in
    ``seed``. ``product_box`` (x0, y0, x1, y1, output px) is where the product will stand:
    scenes put their tabletop's far edge behind its base and centre podiums under it."""
    scene = renderer(style_id)
    _check(width, height, seed, product_box)
    # crc32, not hash(): str hashes change per process, and outputs must not.
    rng = np.random.default_rng([seed, zlib.crc32(get_style(style_id).id.encode())])
    frame = plan_stage(width, height, scene.scale, product_box, rng)
    drawn = scene.draw(frame, rng)
    return clip_levels(to_levels(upsample(drawn, width, height), rng, scene.grain))


def is_glossy(style_id: str) -> bool:
    """Whether the style's surface is polished enough to show a faint reflection."""
    return renderer(style_id).glossy


def has_tight_shadow(style_id: str) -> bool:
    """Whether the style wants only a tight contact shadow (``shadow.tight_reach``)."""
    return renderer(style_id).tight_shadow


def varies_with_seed(style_id: str) -> bool:
    return renderer(style_id).seeded

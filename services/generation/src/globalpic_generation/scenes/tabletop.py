"""Approximate tabletop still lifes: a material surface in front of a dark, moody backdrop.

The backdrop is a dark gradient with a soft pool of light behind the product and warm bokeh,
heavily out of focus; the surface (polished marble, reclaimed wood) carries the scene.
"""

from __future__ import annotations

import numpy as np

from globalpic_generation.scenes import props, surfaces
from globalpic_generation.scenes.stage import (
    F32,
    Rgb,
    Stage,
    hex_rgb,
    jitter,
    shade,
    side_light,
    tabletop,
    texture_size,
    vertical_gradient,
    vignette,
)

# Deep backdrop colours behind polished marble: (top, bottom).
MARBLE_BACKDROPS: tuple[tuple[str, str], ...] = (
    ("#1d2b26", "#33443c"),  # bottle green
    ("#1e1f24", "#3a3b42"),  # charcoal
    ("#1b2233", "#343e57"),  # navy
    ("#3b3029", "#6b5a4c"),  # taupe
)


def _dark_backdrop(frame: Stage, rng: np.random.Generator, top: Rgb, bottom: Rgb,
                   glow: Rgb, bokeh_colors: list[Rgb]) -> F32:  # fmt: skip
    wall = vertical_gradient(frame, top, bottom, 0.0, frame.horizon)
    props.light_pool(wall, frame, frame.cx + rng.uniform(-0.1, 0.1) * frame.w,
                     frame.horizon - 0.2 * frame.h, 0.35 * frame.w, 0.3 * frame.h, glow,
                     0.18)  # fmt: skip
    props.bokeh(wall, frame, rng, int(rng.integers(8, 16)), (0, 0, frame.w, frame.horizon),
                (0.015 * frame.w, 0.045 * frame.w), bokeh_colors, 0.3)  # fmt: skip
    return wall


def marble_luxury(frame: Stage, rng: np.random.Generator) -> F32:
    top_hex, bottom_hex = MARBLE_BACKDROPS[int(rng.integers(len(MARBLE_BACKDROPS)))]
    wall = _dark_backdrop(frame, rng, hex_rgb(top_hex), hex_rgb(bottom_hex), (1.0, 0.9, 0.75),
                          [(1.0, 0.85, 0.55), (1.0, 0.95, 0.85)])  # fmt: skip
    th, tw = texture_size(frame)
    slab = surfaces.marble(rng, th, tw, jitter(rng, hex_rgb("#eeebe6"), 0.015),
                           hex_rgb("#8d8a86"), rng.uniform(0.45, 0.75))  # fmt: skip
    canvas = tabletop(frame, wall, slab, spread=rng.uniform(2.0, 2.5),
                      wall_sigma=0.02 * frame.w, far_sigma=0.004 * frame.w,
                      occlusion=0.1)  # fmt: skip
    shade(canvas, side_light(frame, bool(rng.random() < 0.5), 0.2))
    shade(canvas, vignette(frame, 0.25))
    return np.asarray(np.clip(canvas, 0.0, 1.0), np.float32)


def wood_rustic(frame: Stage, rng: np.random.Generator) -> F32:
    wall = _dark_backdrop(frame, rng, jitter(rng, hex_rgb("#2a211b"), 0.02), hex_rgb("#4a3b30"),
                          (1.0, 0.8, 0.55), [(1.0, 0.75, 0.4), (1.0, 0.88, 0.6)])  # fmt: skip
    th, tw = texture_size(frame)
    planks = surfaces.wood(rng, th, tw, jitter(rng, hex_rgb("#7a5236"), 0.04),
                           int(rng.integers(3, 6)), False, 1.6)  # fmt: skip
    canvas = tabletop(frame, wall, planks, spread=rng.uniform(2.0, 2.6),
                      wall_sigma=0.02 * frame.w, far_sigma=0.006 * frame.w)  # fmt: skip
    canvas *= np.asarray([1.05, 1.0, 0.9], np.float32)  # tungsten
    shade(canvas, side_light(frame, bool(rng.random() < 0.5), 0.3))
    shade(canvas, vignette(frame, 0.3))
    return np.asarray(np.clip(canvas, 0.0, 1.0), np.float32)

"""Approximate outdoor scene: a bench or flat stone in a sunny garden.

Behind the surface: sky at the top, foliage as many leaf-coloured blobs in three depth
layers (darker and bluer far away, lit and yellower close), sun sparkles through the leaves
as bokeh, all thrown strongly out of focus. Warm low sunlight comes from one side.
"""

from __future__ import annotations

import numpy as np

from globalpic_generation.scenes import props, surfaces
from globalpic_generation.scenes.stage import (
    F32,
    Stage,
    blur,
    hex_rgb,
    jitter,
    shade,
    side_light,
    tabletop,
    texture_size,
    vertical_gradient,
    vignette,
)

FOLIAGE_LAYERS = (  # (leaf colour, blobs per layer, size as a share of the width)
    (hex_rgb("#2f4a2c"), 40, 0.09),
    (hex_rgb("#4d6e34"), 50, 0.07),
    (hex_rgb("#8aa64a"), 40, 0.05),
)


def natural_outdoor(frame: Stage, rng: np.random.Generator) -> F32:
    left = bool(rng.random() < 0.5)
    w, hz = frame.w, frame.horizon
    sky = vertical_gradient(frame, jitter(rng, hex_rgb("#bcd6ea"), 0.03),
                            hex_rgb("#eef2e6"), 0.0, hz)  # fmt: skip
    # Foliage fills most of the backdrop; the sky shows through in the upper part.
    reach = rng.uniform(0.1, 0.35)
    for color, count, size in FOLIAGE_LAYERS:
        for _ in range(count):
            x = rng.uniform(-0.05, 1.05) * w
            y = rng.uniform(reach, 1.0) * hz * 1.1
            r = rng.uniform(0.5, 1.0) * size * w
            props.blob(sky, frame, x, y, r, r * rng.uniform(0.6, 1.0), jitter(rng, color, 0.05))
    props.bokeh(sky, frame, rng, 24, (0, 0, w, hz), (0.008 * w, 0.03 * w),
                [(1.0, 0.97, 0.8), (0.95, 1.0, 0.8)], 0.45)  # fmt: skip
    backdrop = blur(sky, 0.025 * w)
    th, tw = texture_size(frame)
    if rng.random() < 0.5:
        top = surfaces.wood(rng, th, tw, jitter(rng, hex_rgb("#9c8b76"), 0.04), 5,
                            bool(rng.random() < 0.5), 1.3)  # fmt: skip
    else:
        top = surfaces.stone(rng, th, tw, jitter(rng, hex_rgb("#a9a39a"), 0.03), 1.2)
    canvas = tabletop(frame, backdrop, top, spread=rng.uniform(1.8, 2.4),
                      wall_sigma=0.0, far_sigma=0.008 * w, occlusion=0.0)  # fmt: skip
    # Warm low sun from one side, a cooler shade on the other.
    shade(canvas, side_light(frame, left, 0.3))
    canvas *= np.asarray([1.04, 1.0, 0.93], np.float32)
    shade(canvas, vignette(frame, 0.2))
    return np.asarray(np.clip(canvas, 0.0, 1.0), np.float32)

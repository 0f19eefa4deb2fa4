"""Studio backdrops: seamless paper sweeps (exact) and the vivid colour-block podium
(approximate: the prompt asks for neon light a drawing only suggests).

A sweep is one sheet of paper curving from the wall into the floor, so it has no edge: the
wall's light (brighter behind the product, falling off to the top and the sides) turns
smoothly into the floor's (lit from above, a little darker towards the camera) over a band
around the product's base. The seed moves the key light sideways.
"""

from __future__ import annotations

import numpy as np

from globalpic_generation.scenes import props
from globalpic_generation.scenes.stage import (
    F32,
    DrawFn,
    Rgb,
    Stage,
    blur,
    grid,
    hex_rgb,
    radial_light,
    vignette,
)

LIGHT_GREY_PAPER = hex_rgb("#d9d9db")
CHARCOAL_PAPER = hex_rgb("#2b2b2e")


def _sweep_light(frame: Stage, rng: np.random.Generator, spot: float) -> F32:
    """The light falling on a sweep (H x W x 1): wall, curve and floor as one surface."""
    ys, xs = grid(frame)
    light_x = frame.cx + rng.uniform(-0.18, 0.18) * frame.w
    # Wall: a broad pool of light behind the product, darker towards the top.
    pool = radial_light(frame, light_x, frame.horizon, 0.55 * max(frame.w, frame.h))
    wall = 0.8 + 0.25 * pool + spot * radial_light(frame, light_x, frame.horizon - 0.1 * frame.h,
                                                    0.2 * frame.w)  # fmt: skip
    # Floor: lit from above, evenly, falling off a little towards the camera.
    depth = np.clip((ys - frame.horizon) / max(frame.h - frame.horizon, 1.0), 0.0, 1.0)
    floor = 1.05 - 0.12 * depth + 0.0 * xs
    # The curve: a smoothstep over a band around the horizon, so no seam shows.
    band = 0.12 * frame.h
    t = np.clip((ys - (frame.horizon - band)) / (2 * band), 0.0, 1.0)
    t = t * t * (3 - 2 * t)
    light = wall * (1 - t) + floor * t
    return np.asarray((light * vignette(frame, 0.12)[:, :, 0])[:, :, None], np.float32)


def sweep(paper: Rgb, spot: float = 0.0) -> DrawFn:
    """A seamless paper sweep of colour ``paper`` (``spot``: a spotlight pool behind)."""

    def draw(frame: Stage, rng: np.random.Generator) -> F32:
        light = _sweep_light(frame, rng, spot)
        return np.asarray(np.clip(light * np.asarray(paper, np.float32), 0.0, 1.0), np.float32)

    return draw


# Saturated pairs for short-video feeds: backdrop top, backdrop bottom, podium.
VIVID_PALETTES: tuple[tuple[str, str, str], ...] = (
    ("#ff3d8b", "#ff9a3d", "#ffd23f"),
    ("#6a3dff", "#ff3dc8", "#3dd9ff"),
    ("#00c2a8", "#3d7bff", "#ffe14d"),
    ("#ff5e3a", "#ff2a68", "#2ad4ff"),
    ("#8a2be2", "#00d4ff", "#ff4fa3"),
    ("#ffb300", "#ff3d00", "#00e0b0"),
)


def vivid(frame: Stage, rng: np.random.Generator) -> F32:
    """A saturated diagonal backdrop, glowing streaks and bokeh, and a round podium whose
    top the product stands on."""
    top_hex, bottom_hex, podium_hex = VIVID_PALETTES[int(rng.integers(len(VIVID_PALETTES)))]
    top, bottom = np.asarray(hex_rgb(top_hex), np.float32), hex_rgb(bottom_hex)
    podium = np.asarray(hex_rgb(podium_hex), np.float32)
    ys, xs = grid(frame)
    tilt = rng.uniform(-0.5, 0.5)
    t = np.clip(ys / frame.h + tilt * (xs / frame.w - 0.5), 0.0, 1.0)[:, :, None]
    canvas = np.asarray(top + (np.asarray(bottom, np.float32) - top) * t, np.float32)
    # Light streaks: thin bright arcs, blurred into a glow.
    streaks = np.zeros_like(canvas)
    for _ in range(int(rng.integers(2, 5))):
        cx = rng.uniform(-0.2, 1.2) * frame.w
        cy = rng.uniform(-0.3, 0.6) * frame.h
        r = rng.uniform(0.3, 0.8) * frame.w
        props.blob(streaks, frame, cx, cy, r, r * rng.uniform(0.3, 0.8), (1.0, 1.0, 1.0))
        props.blob(streaks, frame, cx, cy + 0.012 * frame.h, r, r * rng.uniform(0.3, 0.8),
                   (0.0, 0.0, 0.0))  # fmt: skip
    canvas += 0.35 * blur(np.abs(streaks), 0.006 * frame.w + 0.5)
    props.bokeh(canvas, frame, rng, 14, (0, 0, frame.w, frame.horizon), (0.02 * frame.w,
                0.06 * frame.w), [(1.0, 1.0, 1.0), (1.0, 0.9, 0.7)], 0.35)  # fmt: skip
    canvas = blur(canvas, 0.004 * frame.w)
    # The podium: a cylinder; its top ellipse carries the product's base.
    rx = max(0.8 * frame.product_w, 0.25 * frame.w)
    ry = 0.16 * rx
    top_y = frame.base - 0.4 * ry
    side = np.clip(1.0 - ((xs - frame.cx) / rx) ** 2, 0.0, 1.0) ** 0.5
    body = (np.abs(xs - frame.cx) <= rx) & (ys >= top_y)
    shading = (0.6 + 0.4 * side)[:, :, None] * podium
    canvas = np.where(body[:, :, None], shading * 0.9, canvas)
    lid = ((xs - frame.cx) / rx) ** 2 + ((ys - top_y) / ry) ** 2 <= 1.0
    canvas = np.where(lid[:, :, None], np.minimum(podium * 1.12, 1.0), canvas)
    canvas = blur(np.asarray(canvas, np.float32), 0.6)  # anti-alias the podium's outline
    return np.asarray(np.clip(canvas, 0.0, 1.0), np.float32)

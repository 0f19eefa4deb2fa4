"""Approximate interiors: a tabletop in perspective in front of a room thrown out of focus.

Each scene paints a wall with what a real shallow-depth-of-field shot would show of the room
(a window and its light, a sofa, shelves, plants, frames, lamps) as plain shapes; the wall is
then blurred as a lens at f/2-2.8 would, and a surface texture is laid in perspective with its
far edge behind the product's base (``canvas.tabletop``). The seed picks palettes, which
side the window is on, and where every prop goes.
"""

from __future__ import annotations

import numpy as np

from globalpic_generation.scenes import props, surfaces
from globalpic_generation.scenes.stage import (
    F32,
    Rgb,
    Stage,
    fill,
    hex_rgb,
    jitter,
    shade,
    side_light,
    tabletop,
    texture_size,
    vertical_gradient,
    vignette,
)

# Working-canvas blur of a room behind the product, as a share of the frame width.
ROOM_BLUR = 0.018


def _wall(frame: Stage, rng: np.random.Generator, color: Rgb, left: bool, falloff: float) -> F32:
    """A painted wall lit from a window on one side, a little darker towards the ceiling."""
    base = jitter(rng, color, 0.02)
    top = (base[0] * 0.9, base[1] * 0.9, base[2] * 0.9)
    wall = vertical_gradient(frame, top, base, 0.0, frame.horizon)
    shade(wall, side_light(frame, left, falloff))
    return wall


def _window_x(frame: Stage, left: bool, width: float) -> float:
    return 0.02 * frame.w if left else frame.w - 0.02 * frame.w - width


def _finish(frame: Stage, canvas: F32, light_left: bool, side: float, vig: float) -> F32:
    shade(canvas, side_light(frame, light_left, side))
    shade(canvas, vignette(frame, vig))
    return np.asarray(np.clip(canvas, 0.0, 1.0), np.float32)


def modern_home(frame: Stage, rng: np.random.Generator) -> F32:
    left = bool(rng.random() < 0.5)
    w, hz = frame.w, frame.horizon
    wall = _wall(frame, rng, hex_rgb("#ece7df"), left, 0.25)
    win_w = rng.uniform(0.22, 0.3) * w
    props.window(wall, frame, _window_x(frame, left, win_w), 0.05 * frame.h,
                 _window_x(frame, left, win_w) + win_w, hz + 0.05 * frame.h,
                 (1.0, 0.99, 0.96), (0.85, 0.84, 0.82), (2, 3))  # fmt: skip
    sofa = jitter(rng, [hex_rgb("#9a9a98"), hex_rgb("#b8a990"), hex_rgb("#7d8a8f")][
        int(rng.integers(3))], 0.04)  # fmt: skip
    sx0 = (0.35 if left else 0.05) * w + rng.uniform(-0.05, 0.05) * w
    sx1 = sx0 + rng.uniform(0.5, 0.6) * w
    props.rect(wall, frame, sx0, hz - 0.18 * frame.h, sx1, hz + 0.1 * frame.h, sofa)
    props.blob(wall, frame, sx0 + 0.03 * w, hz - 0.1 * frame.h, 0.04 * w, 0.12 * frame.h,
               sofa)  # fmt: skip
    props.blob(wall, frame, sx1 - 0.03 * w, hz - 0.1 * frame.h, 0.04 * w, 0.12 * frame.h,
               sofa)  # fmt: skip
    art_x = (sx0 + sx1) / 2 - 0.1 * w + rng.uniform(-0.1, 0.1) * w
    props.frame_art(wall, frame, rng, art_x, hz - 0.5 * frame.h, art_x + 0.2 * w,
                    hz - 0.26 * frame.h, (0.2, 0.18, 0.16),
                    [hex_rgb("#c98b6b"), hex_rgb("#6b8fa3")])  # fmt: skip
    plant_x = (0.9 if left else 0.3) * w + rng.uniform(-0.05, 0.05) * w
    props.plant(wall, frame, rng, plant_x, hz, 0.35 * frame.h, (0.25, 0.42, 0.22),
                (0.85, 0.83, 0.8))  # fmt: skip
    props.bokeh(wall, frame, rng, 6, (0, 0, w, hz), (0.015 * w, 0.04 * w),
                [(1.0, 0.92, 0.75)], 0.25)  # fmt: skip
    th, tw = texture_size(frame)
    oak = surfaces.wood(rng, th, tw, jitter(rng, hex_rgb("#c9a27a"), 0.04), 6,
                        bool(rng.random() < 0.5), 0.8)  # fmt: skip
    canvas = tabletop(frame, wall, oak, spread=rng.uniform(1.9, 2.5),
                      wall_sigma=ROOM_BLUR * w, far_sigma=0.006 * w)  # fmt: skip
    return _finish(frame, canvas, left, 0.15, 0.18)


def business_desk(frame: Stage, rng: np.random.Generator) -> F32:
    left = bool(rng.random() < 0.5)
    w, hz = frame.w, frame.horizon
    wall = _wall(frame, rng, hex_rgb("#c9ced3"), left, 0.2)
    win_w = rng.uniform(0.25, 0.35) * w
    wx = _window_x(frame, left, win_w)
    props.blinds(wall, frame, wx, 0.02 * frame.h, wx + win_w, hz, (0.97, 0.98, 1.0),
                 (0.7, 0.72, 0.74), int(rng.integers(9, 15)))  # fmt: skip
    mx = (0.5 if left else 0.15) * w + rng.uniform(-0.05, 0.1) * w
    mw, mh = 0.3 * w, 0.2 * frame.h
    props.rect(wall, frame, mx, hz - mh - 0.05 * frame.h, mx + mw, hz - 0.05 * frame.h,
               (0.08, 0.09, 0.1))  # fmt: skip
    props.rect(wall, frame, mx + 0.01 * w, hz - mh - 0.04 * frame.h, mx + mw - 0.01 * w,
               hz - 0.06 * frame.h, (0.2, 0.3, 0.45), 0.8)  # fmt: skip
    props.rect(wall, frame, mx + mw / 2 - 0.01 * w, hz - 0.05 * frame.h, mx + mw / 2 + 0.01 * w,
               hz, (0.1, 0.1, 0.1))  # fmt: skip
    books = [hex_rgb(c) for c in ("#2f3e56", "#8c2f2f", "#d8cfb8", "#3f5f4a", "#1f1f22")]
    sx0 = (0.05 if not left else 0.6) * w
    for level in (0.55, 0.3):
        props.shelf(wall, frame, rng, sx0, sx0 + 0.35 * w, hz - level * frame.h,
                    (0.35, 0.3, 0.26), books, 0.85)  # fmt: skip
    props.plant(wall, frame, rng, sx0 + 0.3 * w, hz, 0.22 * frame.h, (0.22, 0.38, 0.22),
                (0.3, 0.3, 0.32))  # fmt: skip
    th, tw = texture_size(frame)
    if rng.random() < 0.5:
        desk = surfaces.wood(rng, th, tw, jitter(rng, hex_rgb("#6b4a33"), 0.03), 3, False, 0.7)
    else:
        desk = surfaces.matte(rng, th, tw, jitter(rng, hex_rgb("#ecebe7"), 0.01))
    canvas = tabletop(frame, wall, desk, spread=rng.uniform(2.0, 2.6),
                      wall_sigma=ROOM_BLUR * w, far_sigma=0.005 * w)  # fmt: skip
    canvas *= np.asarray([0.97, 0.99, 1.03], np.float32)  # cool daylight
    return _finish(frame, canvas, left, 0.12, 0.2)


def instagram_lifestyle(frame: Stage, rng: np.random.Generator) -> F32:
    left = bool(rng.random() < 0.5)
    w, hz = frame.w, frame.horizon
    wall = _wall(frame, rng, hex_rgb("#efe6da"), left, 0.15)
    shade(wall, props.window_shadow(frame, rng, 0.008 * w + 1.0))
    vx = (0.75 if left else 0.15) * w + rng.uniform(-0.05, 0.05) * w
    vase = jitter(rng, hex_rgb("#d9cbb8"), 0.04)
    props.blob(wall, frame, vx, hz - 0.08 * frame.h, 0.045 * w, 0.09 * frame.h, vase)
    for _ in range(7):  # dried stems and heads
        tip_x = vx + rng.uniform(-0.1, 0.1) * w
        tip_y = hz - rng.uniform(0.3, 0.5) * frame.h
        props.blob(wall, frame, tip_x, tip_y, 0.02 * w, 0.03 * frame.h,
                   jitter(rng, hex_rgb("#b99a73"), 0.06))  # fmt: skip
        props.rect(wall, frame, (tip_x + vx) / 2 - 1, tip_y, (tip_x + vx) / 2 + 1,
                   hz - 0.15 * frame.h, (0.55, 0.47, 0.36))  # fmt: skip
    th, tw = texture_size(frame)
    cloth = surfaces.linen(rng, th, tw, jitter(rng, hex_rgb("#e8dccb"), 0.02))
    canvas = tabletop(frame, wall, cloth, spread=rng.uniform(2.0, 2.6),
                      wall_sigma=0.6 * ROOM_BLUR * w, far_sigma=0.005 * w,
                      occlusion=0.1)  # fmt: skip
    # Film look: warm, lifted blacks, a little less contrast.
    canvas = 0.06 + 0.92 * canvas * np.asarray([1.02, 1.0, 0.95], np.float32)
    return _finish(frame, canvas, left, 0.18, 0.15)


def brand_store(frame: Stage, rng: np.random.Generator) -> F32:
    w, hz = frame.w, frame.horizon
    wall_color = jitter(rng, [hex_rgb("#e6ddd0"), hex_rgb("#d9d4cc"), hex_rgb("#e9e1da")][
        int(rng.integers(3))], 0.02)  # fmt: skip
    wall = fill(frame, wall_color)
    niches = int(rng.integers(2, 4))
    goods = [hex_rgb(c) for c in ("#c7b299", "#f2efe9", "#8d7b68", "#b5a48f", "#e0c9b0")]
    for i in range(niches):
        nx0 = (i + 0.15) * w / niches + rng.uniform(-0.02, 0.02) * w
        nx1 = (i + 0.85) * w / niches
        ny0, ny1 = 0.06 * frame.h, hz - 0.08 * frame.h
        props.rect(wall, frame, nx0, ny0, nx1, ny1, (wall_color[0] * 0.86, wall_color[1] * 0.85,
                   wall_color[2] * 0.84))  # fmt: skip
        props.light_pool(wall, frame, (nx0 + nx1) / 2, ny0 + 0.05 * frame.h, 0.35 * (nx1 - nx0),
                         0.18 * frame.h, (1.0, 0.93, 0.8), 0.35)  # fmt: skip
        for level in (0.45, 0.9):
            y = ny0 + level * (ny1 - ny0)
            props.shelf(wall, frame, rng, nx0 + 0.02 * w, nx1 - 0.02 * w, y,
                        (0.95, 0.93, 0.9), goods, 0.6)  # fmt: skip
    props.bokeh(wall, frame, rng, 8, (0, 0, w, 0.25 * frame.h), (0.01 * w, 0.025 * w),
                [(1.0, 0.9, 0.7)], 0.4)  # fmt: skip
    th, tw = texture_size(frame)
    plinth = surfaces.stone(rng, th, tw, jitter(rng, hex_rgb("#e3d9c9"), 0.02), 0.6)
    canvas = tabletop(frame, wall, plinth, spread=rng.uniform(2.0, 2.4),
                      wall_sigma=ROOM_BLUR * w, far_sigma=0.005 * w)  # fmt: skip
    return _finish(frame, canvas, bool(rng.random() < 0.5), 0.08, 0.22)


def kitchen_counter(frame: Stage, rng: np.random.Generator) -> F32:
    left = bool(rng.random() < 0.5)
    w, hz = frame.w, frame.horizon
    wall = _wall(frame, rng, hex_rgb("#f1f0ec"), left, 0.2)
    # Subway tiles: grout lines in a running bond, up to the upper cabinets.
    tile_h = rng.uniform(0.035, 0.05) * frame.h
    grout = (0.78, 0.78, 0.76)
    top = hz - rng.uniform(0.45, 0.6) * frame.h
    y, row = hz, 0
    while y > top:
        props.rect(wall, frame, 0, y - 0.6, w, y + 0.6, grout)
        offset = 0.0 if row % 2 == 0 else tile_h
        for x in np.arange(offset, w, 2 * tile_h):
            props.rect(wall, frame, x - 0.6, y - tile_h, x + 0.6, y, grout)
        y -= tile_h
        row += 1
    props.rect(wall, frame, 0, 0, w, top, jitter(rng, hex_rgb("#e4e1da"), 0.03))
    win_w = 0.25 * w
    wx = _window_x(frame, left, win_w)
    props.window(wall, frame, wx, top + 0.05 * frame.h, wx + win_w, hz - 0.1 * frame.h,
                 (1.0, 1.0, 0.97), (0.9, 0.9, 0.88), (2, 1))  # fmt: skip
    herbs_x = (0.7 if left else 0.3) * w + rng.uniform(-0.08, 0.08) * w
    props.plant(wall, frame, rng, herbs_x, hz, 0.22 * frame.h, (0.3, 0.5, 0.25),
                (0.75, 0.45, 0.32))  # fmt: skip
    jar_x = herbs_x + (0.15 if rng.random() < 0.5 else -0.15) * w
    props.rect(wall, frame, jar_x - 0.03 * w, hz - 0.12 * frame.h, jar_x + 0.03 * w, hz,
               (0.55, 0.55, 0.56))  # fmt: skip
    for k in range(3):  # utensils standing in the jar
        ux = jar_x + (k - 1) * 0.012 * w
        props.rect(wall, frame, ux - 1, hz - 0.2 * frame.h, ux + 1, hz - 0.1 * frame.h,
                   (0.4, 0.3, 0.22))  # fmt: skip
    th, tw = texture_size(frame)
    if rng.random() < 0.5:
        counter = surfaces.quartz(rng, th, tw, jitter(rng, hex_rgb("#efeeea"), 0.01))
    else:
        counter = surfaces.wood(rng, th, tw, jitter(rng, hex_rgb("#b7864f"), 0.03), 14, True, 0.6)
    canvas = tabletop(frame, wall, counter, spread=rng.uniform(2.0, 2.6),
                      wall_sigma=ROOM_BLUR * w, far_sigma=0.005 * w)  # fmt: skip
    return _finish(frame, canvas, left, 0.15, 0.15)

"""Out-of-focus things behind the product: windows, shelves, plants, frames, lamps, bokeh.

Drawn as plain shapes on the working canvas (in place); the scene blurs the whole backdrop
afterwards, as a lens at a wide aperture would, so only their colours, light and rough
shapes remain — which is what a real shallow-depth-of-field product shot shows of a room.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from globalpic_generation.scenes.stage import F32, Rgb, Stage, jitter, paint

_AA = cv2.LINE_AA
# Shapes are drawn on a mask just large enough for them (plus this margin for the
# anti-aliased rim), not on a full-canvas one: a garden has hundreds of leaves.
_MARGIN = 2

# Draws a shape on a crop's mask; its arguments shift canvas coordinates into the crop.
ShapeFn = Callable[[F32, float, float], None]


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x), round(y)


def stamp(canvas: F32, bounds: tuple[float, float, float, float], shape: ShapeFn,
          color: Rgb, opacity: float = 1.0, add: bool = False) -> None:  # fmt: skip
    """Paint ``shape`` (drawn inside ``bounds`` = x0, y0, x1, y1) over ``canvas`` in place;
    ``add``: add it as light instead (overlapping lights add up)."""
    h, w = canvas.shape[:2]
    x0, y0 = max(0, math.floor(bounds[0]) - _MARGIN), max(0, math.floor(bounds[1]) - _MARGIN)
    x1, y1 = min(w, math.ceil(bounds[2]) + _MARGIN), min(h, math.ceil(bounds[3]) + _MARGIN)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    shape(mask, float(x0), float(y0))
    if add:
        canvas[y0:y1, x0:x1] += (opacity * mask)[:, :, None] * np.asarray(color, np.float32)
    else:
        paint(canvas[y0:y1, x0:x1], mask, color, opacity)


def rect(canvas: F32, frame: Stage, x0: float, y0: float, x1: float, y1: float,
         color: Rgb, opacity: float = 1.0) -> None:  # fmt: skip
    def shape(m: F32, ox: float, oy: float) -> None:
        cv2.rectangle(m, _pt(x0 - ox, y0 - oy), _pt(x1 - ox, y1 - oy), 1.0, -1, _AA)

    stamp(canvas, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), shape, color, opacity)


def ellipse(canvas: F32, x: float, y: float, rx: float, ry: float, angle_deg: float,
            color: Rgb, opacity: float = 1.0, add: bool = False) -> None:  # fmt: skip
    r = max(rx, ry)

    def shape(m: F32, ox: float, oy: float) -> None:
        cv2.ellipse(m, _pt(x - ox, y - oy), _pt(max(rx, 1), max(ry, 1)), angle_deg, 0, 360,
                    1.0, -1, _AA)  # fmt: skip

    stamp(canvas, (x - r, y - r, x + r, y + r), shape, color, opacity, add)


def polygon(canvas: F32, points: list[tuple[float, float]], color: Rgb) -> None:
    xs, ys = [p[0] for p in points], [p[1] for p in points]

    def shape(m: F32, ox: float, oy: float) -> None:
        pts = np.array([_pt(px - ox, py - oy) for px, py in points], np.int32)
        cv2.fillPoly(m, [pts], 1.0, _AA)

    stamp(canvas, (min(xs), min(ys), max(xs), max(ys)), shape, color)


def window(canvas: F32, frame: Stage, x0: float, y0: float, x1: float, y1: float,
           glow: Rgb, frame_color: Rgb, panes: tuple[int, int] = (2, 2)) -> None:  # fmt: skip
    """A bright window with mullions; its light spills onto the wall around it."""
    spill = np.zeros((frame.h, frame.w), np.float32)
    cv2.rectangle(spill, _pt(x0, y0), _pt(x1, y1), 1.0, -1, _AA)
    spill = np.asarray(cv2.GaussianBlur(spill, (0, 0), 0.12 * (x1 - x0) + 2), np.float32)
    canvas += 0.25 * spill[:, :, None] * np.asarray(glow, np.float32)
    rect(canvas, frame, x0, y0, x1, y1, glow)
    bar = max(1.0, 0.02 * (x1 - x0))
    cols, rows = panes
    for i in range(1, cols):
        x = x0 + (x1 - x0) * i / cols
        rect(canvas, frame, x - bar, y0, x + bar, y1, frame_color)
    for j in range(1, rows):
        y = y0 + (y1 - y0) * j / rows
        rect(canvas, frame, x0, y - bar, x1, y + bar, frame_color)


def blinds(canvas: F32, frame: Stage, x0: float, y0: float, x1: float, y1: float,
           light: Rgb, slat: Rgb, count: int) -> None:  # fmt: skip
    """Venetian blinds over a window: light stripes between slats."""
    rect(canvas, frame, x0, y0, x1, y1, light)
    step = (y1 - y0) / max(count, 1)
    for i in range(count):
        y = y0 + i * step
        rect(canvas, frame, x0, y + 0.55 * step, x1, y + step, slat, 0.85)


def shelf(canvas: F32, frame: Stage, rng: np.random.Generator, x0: float, x1: float, y: float,
          board: Rgb, palette: list[Rgb], fill: float = 0.7) -> None:  # fmt: skip
    """A wall shelf with books, boxes and jars standing on it."""
    thick = max(1.5, 0.012 * frame.h)
    x = x0 + rng.uniform(0, 0.1) * (x1 - x0)
    while x < x1:
        width = rng.uniform(0.015, 0.06) * frame.w
        if rng.random() < fill:
            height = rng.uniform(0.04, 0.12) * frame.h
            color = jitter(rng, palette[int(rng.integers(len(palette)))], 0.06)
            if rng.random() < 0.3:  # a jar or vase: rounded
                ellipse(canvas, x + width / 2, y - height / 2, width / 2, height / 2, 0, color)
            else:
                rect(canvas, frame, x, y - height, x + width, y, color)
        x += width + rng.uniform(0.0, 0.03) * frame.w
    rect(canvas, frame, x0, y, x1, y + thick, board)


def plant(canvas: F32, frame: Stage, rng: np.random.Generator, x: float, y: float, size: float,
          green: Rgb, pot: Rgb | None = None) -> None:  # fmt: skip
    """A leafy plant (a cluster of leaf ellipses around a stem) in an optional pot."""
    if pot is not None:
        pw, ph = 0.35 * size, 0.3 * size
        polygon(canvas, [(x - pw / 2, y - ph), (x + pw / 2, y - ph), (x + 0.4 * pw, y),
                         (x - 0.4 * pw, y)], pot)  # fmt: skip
        y -= ph
    for _ in range(int(18 + 10 * rng.random())):
        angle = rng.uniform(-2.6, -0.5)  # mostly upwards
        reach = rng.uniform(0.2, 0.7) * size
        lx, ly = x + np.cos(angle) * reach, y + np.sin(angle) * reach
        ellipse(canvas, lx, ly, 0.16 * size, 0.06 * size, float(np.degrees(angle)),
                jitter(rng, green, 0.07))  # fmt: skip


def frame_art(canvas: F32, frame: Stage, rng: np.random.Generator, x0: float, y0: float,
              x1: float, y1: float, border: Rgb, palette: list[Rgb]) -> None:  # fmt: skip
    """A framed picture: a border, a mat and two or three colour fields."""
    rect(canvas, frame, x0, y0, x1, y1, border)
    pad = 0.08 * (x1 - x0)
    rect(canvas, frame, x0 + pad, y0 + pad, x1 - pad, y1 - pad, (0.93, 0.92, 0.9))
    inner = 0.18 * (x1 - x0)
    ix0, iy0, ix1, iy1 = x0 + inner, y0 + inner, x1 - inner, y1 - inner
    split = rng.uniform(0.3, 0.7)
    rect(canvas, frame, ix0, iy0, ix1, iy0 + (iy1 - iy0) * split, palette[0])
    rect(canvas, frame, ix0, iy0 + (iy1 - iy0) * split, ix1, iy1, palette[-1])


def blob(canvas: F32, frame: Stage, x: float, y: float, rx: float, ry: float, color: Rgb,
         opacity: float = 1.0) -> None:  # fmt: skip
    ellipse(canvas, x, y, rx, ry, 0.0, color, opacity)


def bokeh(canvas: F32, frame: Stage, rng: np.random.Generator, count: int,
          region: tuple[float, float, float, float], radius: tuple[float, float],
          colors: list[Rgb], strength: float) -> None:  # fmt: skip
    """Out-of-focus highlights: soft-edged discs of light added onto the backdrop."""
    x0, y0, x1, y1 = region
    light = np.zeros_like(canvas)
    for _ in range(count):
        r = rng.uniform(*radius)
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        level = float(rng.uniform(0.4, 1.0))
        color = colors[int(rng.integers(len(colors)))]
        ellipse(light, cx, cy, r, r, 0.0, color, level, add=True)
    sigma = 0.12 * radius[1] + 0.5  # a soft rim, as a real defocused highlight has
    canvas += strength * np.asarray(cv2.GaussianBlur(light, (0, 0), sigma), np.float32)


def light_pool(canvas: F32, frame: Stage, x: float, y: float, rx: float, ry: float,
               color: Rgb, strength: float) -> None:  # fmt: skip
    """A spotlight's pool of light on a wall (added light)."""
    ys = np.arange(frame.h, dtype=np.float32)[:, None]
    xs = np.arange(frame.w, dtype=np.float32)[None, :]
    d2 = ((xs - x) / max(rx, 1.0)) ** 2 + ((ys - y) / max(ry, 1.0)) ** 2
    canvas += (strength * np.exp(-0.5 * d2))[:, :, None] * np.asarray(color, np.float32)


def window_shadow(frame: Stage, rng: np.random.Generator, softness: float) -> F32:
    """Sunlight through a window falling on a wall: a slanted grid of light panes
    (a multiplicative light factor, 1 in the light and < 1 in the mullions' shadows)."""
    m = np.zeros((frame.h, frame.w), np.float32)
    cols, rows = 2, int(rng.integers(2, 4))
    pw, ph = 0.16 * frame.w, 0.2 * frame.h
    ox = rng.uniform(0.05, 0.55) * frame.w
    oy = rng.uniform(0.0, 0.15) * frame.h
    gap = 0.018 * frame.w
    for i in range(cols):
        for j in range(rows):
            x0, y0 = ox + i * (pw + gap), oy + j * (ph + gap)
            cv2.rectangle(m, _pt(x0, y0), _pt(x0 + pw, y0 + ph), 1.0, -1, _AA)
    shear = rng.uniform(0.35, 0.7) * (1 if rng.random() < 0.5 else -1)
    matrix = np.array([[1.0, shear, -shear * frame.h * 0.3], [0.0, 1.0, 0.0]], np.float32)
    m = np.asarray(cv2.warpAffine(m, matrix, (frame.w, frame.h)), np.float32)
    m = np.asarray(cv2.GaussianBlur(m, (0, 0), softness), np.float32)
    return np.asarray(0.82 + 0.3 * m, np.float32)

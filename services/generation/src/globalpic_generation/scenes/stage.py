"""The stage a scene is drawn on (working canvas, product placement), and the photographic
finishing every scene shares.

Scenes are drawn in float32 RGB in [0, 1] on a *working* canvas smaller than the output
(backdrops are out of focus: drawing them at full size would only cost time), then upsampled
and given film grain at full size. ``Stage`` holds the working size and where the product
stands, so a tabletop's far edge can be put behind the product's base.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Rgb = tuple[float, float, float]  # 0..1
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (output px, x1 / y1 exclusive)

# Where the surface's far edge goes: this share of the product's height above its base
# (drawn per seed), so the edge is hidden behind the product like a real tabletop shot.
HORIZON_SHARE = (0.22, 0.42)
# The far edge never goes above this share of the frame height, nor closer to the base than
# this share: a surface must read as a surface.
HORIZON_MIN_Y = 0.18
BASE_GAP = 0.04
# Grain is white noise blurred by GRAIN_BLUR px, which leaves GRAIN_BLUR_STD of its unit std.
GRAIN_BLUR = 0.6
GRAIN_BLUR_STD = 0.4957
# With no product box, a centred product standing at 80 % of the height is assumed.
DEFAULT_BASE = 0.8


@dataclass(frozen=True)
class Stage:
    """A working canvas ``w`` x ``h`` (``scale`` working px per output px) and the product's
    placement in working px."""

    w: int
    h: int
    scale: float
    horizon: float  # y of the surface's far edge (where it meets the wall)
    base: float  # y of the product's base: the plane in focus
    cx: float  # x of the product's centre
    product_w: float
    product_h: float


def plan_stage(
    width: int,
    height: int,
    scale: float,
    product_box: Box | None,
    rng: np.random.Generator,
) -> Stage:
    w = max(8, round(width * scale))
    h = max(8, round(height * scale))
    sx, sy = w / width, h / height
    if product_box is None:
        base = DEFAULT_BASE * h
        cx, pw, ph = w / 2.0, 0.4 * w, 0.5 * h
    else:
        x0, y0, x1, y1 = product_box
        base, cx = y1 * sy, (x0 + x1) / 2.0 * sx
        pw, ph = max(1.0, (x1 - x0) * sx), max(1.0, (y1 - y0) * sy)
    horizon = base - float(rng.uniform(*HORIZON_SHARE)) * ph
    horizon = float(
        np.clip(horizon, HORIZON_MIN_Y * h, max(HORIZON_MIN_Y * h, base - BASE_GAP * h))
    )
    return Stage(w, h, w / width, horizon, base, cx, pw, ph)


# A scene: draws float32 RGB in [0, 1] on the frame's working canvas.
DrawFn = Callable[[Stage, np.random.Generator], F32]


# ----------------------------------------------------------------------------- fields


def grid(frame: Stage) -> tuple[F32, F32]:
    """Pixel-centre coordinates (ys, xs) of the working canvas, broadcastable."""
    ys = np.arange(frame.h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(frame.w, dtype=np.float32)[None, :] + 0.5
    return ys, xs


def fill(frame: Stage, color: Rgb) -> F32:
    return np.broadcast_to(np.asarray(color, np.float32), (frame.h, frame.w, 3)).copy()


def vertical_gradient(frame: Stage, top: Rgb, bottom: Rgb, y0: float = 0.0,
                      y1: float | None = None) -> F32:  # fmt: skip
    """``top`` at row ``y0`` to ``bottom`` at row ``y1`` (default: the last row)."""
    ys, _ = grid(frame)
    end = frame.h if y1 is None else y1
    t = np.clip((ys - y0) / max(end - y0, 1.0), 0.0, 1.0)[:, :, None]
    a, b = np.asarray(top, np.float32), np.asarray(bottom, np.float32)
    return np.asarray(np.broadcast_to(a + (b - a) * t, (frame.h, frame.w, 3)), np.float32).copy()


def radial_light(frame: Stage, cx: float, cy: float, radius: float) -> F32:
    """1 at (cx, cy) falling smoothly (Gaussian) to 0 at ~2 ``radius``: a lamp's pool."""
    ys, xs = grid(frame)
    d2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / max(radius * radius, 1e-6)
    return np.asarray(np.exp(-0.5 * d2), np.float32)


def side_light(frame: Stage, from_left: bool, strength: float) -> F32:
    """Window light across the frame: brighter on the window's side (H x W x 1 factor)."""
    _, xs = grid(frame)
    t = xs / frame.w if from_left else 1.0 - xs / frame.w
    factor = 1.0 + strength * (0.5 - t)
    return np.asarray(np.broadcast_to(factor, (frame.h, frame.w))[:, :, None], np.float32).copy()


def vignette(frame: Stage, strength: float) -> F32:
    """Lens falloff: 1 in the centre, 1 - ``strength`` in the corners (H x W x 1)."""
    ys, xs = grid(frame)
    r2 = ((xs / frame.w - 0.5) ** 2 + (ys / frame.h - 0.5) ** 2) / 0.5
    return np.asarray((1.0 - strength * r2)[:, :, None], np.float32)


def noise(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 1) -> F32:
    """Smooth value noise, roughly unit variance, features about ``cell`` px (fractal sum of
    ``octaves`` halving octaves)."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, math.ceil(h / cell) + 2), max(2, math.ceil(w / cell) + 2)
        small = rng.standard_normal((gh, gw)).astype(np.float32)
        total += amp * np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))
        norm += amp * amp
        amp *= 0.5
        cell = max(1.0, cell / 2.0)
    return np.asarray(total / math.sqrt(norm), np.float32)


def blur(image: F32, sigma: float) -> F32:
    if sigma <= 0.05:
        return image
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.float32)


def paint(canvas: F32, mask: F32, color: Rgb | F32, opacity: float = 1.0) -> None:
    """Blend ``color`` over ``canvas`` (in place) with coverage ``mask`` (H x W in [0, 1])."""
    m = (np.clip(mask, 0.0, 1.0) * opacity)[:, :, None]
    canvas *= 1.0 - m
    canvas += m * np.asarray(color, np.float32)


def shade(canvas: F32, factor: F32) -> None:
    """Multiply the light (in place) by ``factor`` (H x W or H x W x 1)."""
    canvas *= factor if factor.ndim == 3 else factor[:, :, None]


# ----------------------------------------------------------------------------- surfaces


def surface_plane(
    frame: Stage,
    texture: F32,
    spread: float,
    top: float | None = None,
) -> F32:
    """``texture`` laid on a horizontal plane seen in perspective, filling rows from ``top``
    (default: the frame's horizon) to the bottom; rows above are 0.

    The texture's top row lies on the far edge, its bottom row on the bottom of the frame;
    its far edge spans 1.8 frame widths and its near edge ``spread`` times that, so texels
    shrink towards the far edge as on a real tabletop (a homography: ``cv2.warpPerspective``).
    """
    y_far = frame.horizon if top is None else top
    th, tw = texture.shape[:2]
    far, near = 0.9 * frame.w, 0.9 * frame.w * spread
    cx = frame.w / 2.0
    src = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], np.float32)
    dst = np.array(
        [[cx - far, y_far], [cx + far, y_far], [cx + near, frame.h], [cx - near, frame.h]],
        np.float32,
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(
        texture, matrix, (frame.w, frame.h), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip
    return np.asarray(out, np.float32)


def depth_of_field(frame: Stage, plane: F32, near_sigma: float, far_sigma: float) -> F32:
    """Blur a surface plane by distance from the focus row (the product's base): sharp there,
    ``far_sigma`` at the far edge, ``near_sigma`` at the bottom of the frame."""
    ys, _ = grid(frame)
    far_t = np.clip((frame.base - ys) / max(frame.base - frame.horizon, 1.0), 0.0, 1.0)
    near_t = np.clip((ys - frame.base) / max(frame.h - frame.base, 1.0), 0.0, 1.0)
    out = plane
    if far_sigma > 0.05:
        far_t = far_t**0.7  # blur grows fast behind the focus plane
        out = out * (1.0 - far_t[:, :, None]) + blur(plane, far_sigma) * far_t[:, :, None]
    if near_sigma > 0.05:
        out = out * (1.0 - near_t[:, :, None]) + blur(plane, near_sigma) * near_t[:, :, None]
    return np.asarray(out, np.float32)


def join_surface(frame: Stage, wall: F32, plane: F32, edge_softness: float = 0.8,
                 occlusion: float = 0.18) -> F32:  # fmt: skip
    """The wall above the horizon, the surface below it, with the soft contact darkening a
    real wall gets where it meets a table (ambient occlusion)."""
    ys, _ = grid(frame)
    t = np.clip((ys - frame.horizon) / max(edge_softness, 1e-3) + 0.5, 0.0, 1.0)[:, :, None]
    reach = 0.06 * frame.h
    dist = np.abs(ys - frame.horizon)[:, :, None]
    ao = 1.0 - occlusion * np.exp(-dist / max(reach, 1.0))
    return np.asarray((wall * (1.0 - t) + plane * t) * ao, np.float32)


# ----------------------------------------------------------------------------- finishing


def upsample(image: F32, width: int, height: int) -> F32:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)


def to_levels(image: F32, rng: np.random.Generator | None = None, grain: float = 0.0) -> F32:
    """Levels 0..255 (float32), with film grain of ``grain`` levels (std) when given:
    luminance noise correlated over neighbouring pixels like a sensor's."""
    out = image * 255.0
    if rng is not None and grain > 0:
        h, w = out.shape[:2]
        luma = rng.standard_normal((h, w), dtype=np.float32)
        luma = np.asarray(cv2.GaussianBlur(luma, (0, 0), GRAIN_BLUR), np.float32)
        out += (luma * (grain / GRAIN_BLUR_STD))[:, :, None]
    return out


def clip_levels(levels: F32) -> npt.NDArray[np.uint8]:
    return np.asarray(np.clip(np.rint(levels), 0, 255), np.uint8)


def mix(a: Rgb, b: Rgb, t: float) -> Rgb:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def jitter(rng: np.random.Generator, color: Rgb, amount: float) -> Rgb:
    r, g, b = (float(np.clip(c + rng.uniform(-amount, amount), 0.0, 1.0)) for c in color)
    return (r, g, b)


def hex_rgb(code: str) -> Rgb:
    """``"#f4efe6"`` -> (0.957, 0.937, 0.902)."""
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255.0, int(code[2:4], 16) / 255.0, int(code[4:6], 16) / 255.0)


def tabletop(frame: Stage, wall: F32, texture: F32, *, spread: float = 2.2,
             wall_sigma: float, far_sigma: float, near_sigma: float = 0.0,
             occlusion: float = 0.18) -> F32:  # fmt: skip
    """The usual product shot: ``texture`` as a tabletop in perspective, its far edge on the
    frame's horizon, in focus at the product's base; ``wall`` (already drawn) behind it,
    thrown out of focus by ``wall_sigma`` working px."""
    plane = depth_of_field(frame, surface_plane(frame, texture, spread), near_sigma, far_sigma)
    # The far edge is as out of focus as the far end of the surface.
    return join_surface(frame, blur(wall, wall_sigma), plane, edge_softness=1.0 + 2.0 * far_sigma,
                        occlusion=occlusion)  # fmt: skip


def texture_size(frame: Stage) -> tuple[int, int]:
    """(h, w) of a surface texture for ``surface_plane``: about one texel per pixel at the
    product's base."""
    return max(8, frame.h), max(8, 2 * frame.w)

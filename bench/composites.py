"""Seeded product composites with EXACT alpha: the evaluation set of extract and remix.

Every composite is ``image = alpha * foreground + (1 - alpha) * background`` (rounded to
uint8), so a cut-out can be scored against the true matte and a re-composited background
against the true one. Products are analytic shapes drawn as plausible studio products (bottle,
box, mug, shoe, bag with a thin strap, cosmetics jar, tape roll with a hole, white product on
white, plush toy with a fur fringe, perfume bottle with semi-transparent glass, a real photo
cut with an ellipse, headphones with a thin cable, a bar stool on thin legs, sunglasses) alone
or two / three together. Silhouettes are drawn binary at 4x and box-filtered down, so edge
alpha is the exact covered fraction of each pixel, then softened by a small Gaussian "lens
blur" (sigma 0.3-0.8 px at 1024), as a camera softens an edge; soft parts (quarter-pixel fur
strands, glass, tinted lenses) have alpha below 1 by construction.

Backgrounds come in four families (``Composite.kind``): ``gradient``, ``texture`` (wood,
fabric, wall, marble from ``bench.synthetic``), ``blurred-photo`` (a blurred real product
photo from ``../shared/data/realworld/products`` when that folder exists, else procedural
colour blobs) and ``studio-sweep``; contact and cast shadows belong to the background.

The composite ``i`` of ``seed`` depends only on ``(seed, i, size)`` and on whether the real
photos exist, so ``build_composites(4)`` is a prefix of ``build_composites(24)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from bench.synthetic import SURFACES, load_photo, real_photo_paths

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
Color = tuple[float, float, float]
T = TypeVar("T")

# Silhouettes are drawn binary at SS x the image resolution and averaged down: exact coverage.
SS = 4
# cv2 drawing takes fixed-point coordinates with this many fractional bits.
_SHIFT = 4

KINDS = ("gradient", "texture", "blurred-photo", "studio-sweep")
# One scene per entry, cycled over the composites so every product appears in small sets too.
RECIPES = (
    "bottle", "bag", "white", "plush", "multi", "stool", "box", "headphones", "ring", "glass",
    "mug", "sunglasses", "shoe", "jar", "photo",
)  # fmt: skip
BRANDS = ("AQUA", "NOVA", "PURE", "LUMI", "MIRA", "ZEN", "VITA", "KOI", "ORO", "SOLA")


@dataclass(frozen=True)
class Composite:
    name: str  # e.g. "bottle-gradient-03"
    kind: str  # background family: one of KINDS
    image: Rgb  # H x W x 3 RGB, the composite the methods see
    alpha: F32  # H x W exact alpha in [0, 1]
    foreground: Rgb  # H x W x 3 product colours (valid where alpha > 0)
    background: Rgb  # H x W x 3 the background behind it


@dataclass
class _Layer:
    alpha: F32  # H x W in [0, 1]
    rgb: F32  # H x W x 3, 0..255, meaningful where alpha > 0


@dataclass(frozen=True)
class _Frame:
    """Pixel-centre coordinate grids of the canvas, shared by all the shading code."""

    s: int
    xx: F32
    yy: F32
    photos: bool  # whether real photos from ../shared may be used

    @classmethod
    def of(cls, s: int, photos: bool = True) -> _Frame:
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
        return cls(s, xx, yy, photos)


# ----------------------------------------------------------------------------- small helpers


def _f32(array: Any) -> F32:
    return np.asarray(array, dtype=np.float32)


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _jitter(rng: np.random.Generator, color: Color, amount: float = 10.0) -> F32:
    return _f32(np.clip(np.asarray(color, np.float32) + rng.uniform(-amount, amount, 3), 0, 255))


def _noise(rng: np.random.Generator, s: int, cell: float) -> F32:
    """Unit-variance smooth value noise with features about ``cell`` px."""
    g = max(2, int(s / max(cell, 1.0)) + 2)
    small = rng.standard_normal((g, g)).astype(np.float32)
    big = _f32(cv2.resize(small, (s, s), interpolation=cv2.INTER_CUBIC))
    return _f32((big - big.mean()) / (big.std() + 1e-6))


def _smoothstep(t: F32) -> F32:
    t = np.clip(t, 0.0, 1.0)
    return _f32(t * t * (3 - 2 * t))


def _chaikin(points: npt.NDArray[np.float64], rounds: int = 3) -> npt.NDArray[np.float64]:
    """Corner-cut a closed polygon into a smooth outline (Chaikin's algorithm)."""
    pts = points
    for _ in range(rounds):
        nxt = np.roll(pts, -1, axis=0)
        pts = np.stack([0.75 * pts + 0.25 * nxt, 0.25 * pts + 0.75 * nxt], axis=1).reshape(-1, 2)
    return pts


class _Sketch:
    """Binary drawing at ``SS`` x inside a window of the canvas; ``coverage`` is exact alpha."""

    def __init__(self, s: int, box: Box, pad: float = 4.0) -> None:
        self.s = s
        self.x0 = max(0, math.floor(box[0] - pad))
        self.y0 = max(0, math.floor(box[1] - pad))
        self.x1 = min(s, math.ceil(box[2] + pad))
        self.y1 = min(s, math.ceil(box[3] + pad))
        self.mask = np.zeros(((self.y1 - self.y0) * SS, (self.x1 - self.x0) * SS), np.uint8)

    def _fixed(self, points: npt.ArrayLike) -> npt.NDArray[np.int32]:
        pts = np.asarray(points, np.float64).reshape(-1, 2) - (self.x0, self.y0)
        # Sub-pixel j spans [j, j + 1) / SS in image space; cv2 puts its centre at integer j.
        return np.round((pts * SS - 0.5) * (1 << _SHIFT)).astype(np.int32)

    def polygon(self, points: npt.ArrayLike, value: int = 255) -> None:
        cv2.fillPoly(self.mask, [self._fixed(points)], value, cv2.LINE_8, _SHIFT)

    def polyline(self, points: npt.ArrayLike, width: float, value: int = 255) -> None:
        thickness = max(1, round(width * SS))
        cv2.polylines(self.mask, [self._fixed(points)], False, value, thickness, cv2.LINE_8, _SHIFT)

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        *,
        angle: float = 0.0,
        arc: tuple[float, float] = (0.0, 360.0),
        width: float | None = None,
        value: int = 255,
    ) -> None:
        c = self._fixed([centre])[0]
        ax = (round(axes[0] * SS * (1 << _SHIFT)), round(axes[1] * SS * (1 << _SHIFT)))
        thickness = -1 if width is None else max(1, round(width * SS))
        cv2.ellipse(
            self.mask,
            (int(c[0]), int(c[1])),
            ax,
            angle,
            arc[0],
            arc[1],
            value,
            thickness,
            cv2.LINE_8,
            _SHIFT,
        )

    def coverage(self) -> F32:
        h, w = self.y1 - self.y0, self.x1 - self.x0
        small = self.mask.reshape(h, SS, w, SS).mean(axis=(1, 3), dtype=np.float32) / 255.0
        out = np.zeros((self.s, self.s), np.float32)
        out[self.y0 : self.y1, self.x0 : self.x1] = small
        return out


def _over(top: _Layer, bottom: _Layer) -> _Layer:
    """Porter-Duff ``top`` over ``bottom`` (straight colours in, straight colours out)."""
    a = top.alpha + bottom.alpha * (1 - top.alpha)
    premult = (
        top.rgb * top.alpha[..., None] + bottom.rgb * (bottom.alpha * (1 - top.alpha))[..., None]
    )
    safe = np.maximum(a, 1e-6)[..., None]
    rgb = np.where(a[..., None] > 0, premult / safe, top.rgb)
    return _Layer(_f32(a), _f32(rgb))


def _flat(f: _Frame, color: F32) -> F32:
    return _f32(np.broadcast_to(color, (f.s, f.s, 3)).copy())


def _cylinder_tone(f: _Frame, cx: float, radius: float, light: float, gloss: float) -> F32:
    """Diffuse tone (multiplier) plus a specular stripe (additive, 0..255) across a cylinder."""
    nx = np.clip((f.xx - cx) / max(radius, 1.0), -1.0, 1.0)
    nz = np.sqrt(1.0 - nx * nx)
    lz = math.sqrt(1 - light * light)
    diffuse = 0.45 + 0.55 * np.clip(nx * light + nz * lz, 0, 1)
    spec = gloss * np.exp(-(((nx - light * 0.5) / 0.08) ** 2))
    return _f32(np.dstack([diffuse, spec * 255.0]))


def _shade(rgb: F32, tone: F32) -> F32:
    return _f32(rgb * tone[..., :1] + tone[..., 1:2])


def _label(rng: np.random.Generator, rgb: F32, rect: Box, color: F32) -> None:
    """A printed label in place: a coloured band, an accent stripe and a brand word."""
    x0, y0, x1, y1 = (round(v) for v in rect)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    rgb[y0:y1, x0:x1] = color
    accent = _jitter(rng, _pick(rng, ((230, 40, 40), (250, 200, 40), (30, 90, 170), (20, 20, 20))))
    band = max(1, (y1 - y0) // 8)
    rgb[y1 - 2 * band : y1 - band, x0:x1] = accent
    text = _pick(rng, BRANDS)
    ink = (255.0, 255.0, 255.0) if float(color.mean()) < 140 else (25.0, 25.0, 30.0)
    base = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)[0]
    scale = min(0.8 * (x1 - x0) / max(base[0], 1), 0.45 * (y1 - y0) / max(base[1], 1))
    if scale < 0.2:
        return
    size = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, round(2 * scale)))[0]
    org = (x0 + (x1 - x0 - size[0]) // 2, y0 + (y1 - y0) // 2 + size[1] // 3)
    thickness = max(1, round(2 * scale))
    _ink(
        rgb,
        ink,
        lambda m: cv2.putText(
            m, text, org, cv2.FONT_HERSHEY_DUPLEX, scale, 255, thickness, cv2.LINE_AA
        ),
    )


def _ink(rgb: F32, color: Color, draw: Callable[[npt.NDArray[np.uint8]], Any]) -> None:
    """Paint ``color`` through an anti-aliased uint8 mask that ``draw`` fills (cv2 text needs
    8-bit images), in place."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    draw(mask)
    m = (mask.astype(np.float32) / 255.0)[..., None]
    rgb *= 1 - m
    rgb += m * np.asarray(color, np.float32)


# ----------------------------------------------------------------------------- products

ProductFn = Callable[[np.random.Generator, _Frame, Box, float], _Layer]

BODY_COLORS: tuple[Color, ...] = (
    (230, 120, 30), (60, 150, 70), (200, 40, 40), (70, 130, 200), (250, 200, 60), (120, 60, 140),
    (40, 40, 45), (240, 160, 170), (30, 160, 160), (150, 110, 70),
)  # fmt: skip
LABEL_COLORS: tuple[Color, ...] = (
    (245, 245, 240), (230, 30, 40), (20, 60, 140), (250, 210, 50), (0, 110, 60), (30, 30, 30),
)  # fmt: skip


def _bottle(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, radius = (x0 + x1) / 2, w / 2
    neck = radius * _u(rng, 0.3, 0.45)
    cap_h, neck_h, shoulder_h = 0.08 * h, 0.07 * h, 0.18 * h
    t = np.linspace(0, h, 240)
    half = np.interp(
        t,
        [0, cap_h, cap_h + 1e-3, cap_h + neck_h, h * 0.97, h],
        [neck * 1.12, neck * 1.12, neck, neck, radius, radius * 0.92],
    )
    u = np.clip((t - cap_h - neck_h) / shoulder_h, 0, 1)
    shoulder = neck + (radius - neck) * u * u * (3 - 2 * u)
    half = np.where((t > cap_h + neck_h) & (t < h * 0.97), shoulder, half)
    ys = y0 + t
    outline = np.concatenate([np.stack([cx - half, ys], 1), np.stack([cx + half, ys], 1)[::-1]])
    sketch = _Sketch(f.s, box)
    sketch.polygon(outline)
    body = _jitter(rng, _pick(rng, BODY_COLORS))
    rgb = _flat(f, body)
    rgb[f.yy < y0 + cap_h] = _jitter(
        rng, _pick(rng, ((250, 250, 250), (30, 120, 60), (220, 30, 30)))
    )
    top = y0 + cap_h + neck_h + shoulder_h + 0.05 * h
    _label(
        rng, rgb, (x0, top, x1, top + _u(rng, 0.3, 0.4) * h), _jitter(rng, _pick(rng, LABEL_COLORS))
    )
    return _Layer(sketch.coverage(), _shade(rgb, _cylinder_tone(f, cx, radius, light, 0.5)))


def _box(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    depth, rise = w * _u(rng, 0.18, 0.28), h * _u(rng, 0.08, 0.14)
    fw, fh = w - depth, h - rise
    shrink = fh * _u(rng, 0.01, 0.03)  # perspective: the far edge of the front looks shorter
    fx, fy = x0, y0 + rise
    front = np.array([(fx, fy), (fx + fw, fy + shrink), (fx + fw, fy + fh - shrink), (fx, fy + fh)])
    off = np.array([depth, -rise])
    side = np.array([front[1], front[1] + off, front[2] + off * (1, 0.55), front[2]])
    top = np.array([front[0], front[0] + off, front[1] + off, front[1]])
    if light < 0:  # the unlit side faces away from the light: mirror the box
        front, side, top = (np.stack([x0 + x1 - p[:, 0], p[:, 1]], 1) for p in (front, side, top))
    sketch = _Sketch(f.s, box)
    for face in (front, side, top):
        sketch.polygon(face)
    color = _jitter(rng, _pick(rng, BODY_COLORS + LABEL_COLORS))
    rgb = _flat(f, color * 0.95)
    faces = ((side, 0.68), (top, 1.12))
    for face, tone in faces:
        m = np.zeros((f.s, f.s), np.uint8)
        cv2.fillConvexPoly(m, np.round(face).astype(np.int32), 1)
        rgb[m > 0] = np.clip(color * tone, 0, 255)
    fxa = float(front[:, 0].min())
    fxb = float(front[:, 0].max())
    _label(
        rng,
        rgb,
        (fxa + 0.1 * fw, fy + 0.3 * fh, fxb - 0.1 * fw, fy + 0.62 * fh),
        _jitter(rng, _pick(rng, LABEL_COLORS)),
    )
    grain = 1 + 0.02 * _noise(rng, f.s, 3)[..., None]
    return _Layer(sketch.coverage(), _f32(rgb * grain))


def _mug(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    bw = w * 0.74
    right = rng.random() < 0.5
    bx0 = x0 if right else x1 - bw
    bx1 = bx0 + bw
    lip = h * 0.06
    corner = bw * 0.08
    body = np.array(
        [
            (bx0, y0 + lip),
            (bx1, y0 + lip),
            (bx1, y1 - corner),
            (bx1 - corner, y1),
            (bx0 + corner, y1),
            (bx0, y1 - corner),
        ]
    )
    sketch = _Sketch(f.s, box)
    sketch.polygon(body)
    sketch.ellipse(((bx0 + bx1) / 2, y0 + lip), (bw / 2, lip))
    thick = w * _u(rng, 0.05, 0.08)
    hx = bx1 if right else bx0
    sketch.ellipse(
        (hx, y0 + 0.5 * h),
        ((w - bw) - thick / 2, 0.27 * h),
        width=thick,
        arc=(-90, 90) if right else (90, 270),
    )
    color = _jitter(rng, _pick(rng, (*BODY_COLORS, (245, 245, 245))))
    rgb = _flat(f, color)
    inner = ((f.xx - (bx0 + bx1) / 2) / (bw / 2 * 0.92)) ** 2 + (
        (f.yy - y0 - lip) / (lip * 0.8)
    ) ** 2
    rgb[inner < 1] = color * 0.45
    _label(rng, rgb, (bx0 + 0.2 * bw, y0 + 0.35 * h, bx1 - 0.2 * bw, y0 + 0.6 * h), color * 0.9)
    tone = _cylinder_tone(f, (bx0 + bx1) / 2, bw / 2 * 1.6, light, 0.4)
    return _Layer(sketch.coverage(), _shade(rgb, tone))


def _shoe(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    unit = np.array(
        [
            (0.0, 0.62),
            (0.05, 0.42),
            (0.28, 0.36),
            (0.4, 0.08),
            (0.6, 0.0),
            (0.68, 0.2),
            (0.8, 0.42),
            (0.97, 0.58),
            (1.0, 0.82),
            (0.98, 1.0),
            (0.03, 1.0),
            (0.0, 0.88),
        ]
    )
    if rng.random() < 0.5:
        unit[:, 0] = 1 - unit[:, 0]
    outline = _chaikin(unit * (w, h) + (x0, y0))
    sketch = _Sketch(f.s, box)
    sketch.polygon(outline)
    upper = _jitter(rng, _pick(rng, BODY_COLORS))
    rgb = _flat(f, upper)
    rgb[f.yy > y0 + 0.8 * h] = _jitter(
        rng, _pick(rng, ((245, 245, 240), (40, 40, 40), (200, 170, 120)))
    )
    stripe = _jitter(rng, _pick(rng, ((255, 255, 255), (20, 20, 20), (230, 40, 40))))
    wave = y0 + h * (0.62 + 0.12 * np.sin((f.xx - x0) / w * math.pi))
    rgb[(np.abs(f.yy - wave) < 0.04 * h) & (f.yy < y0 + 0.8 * h)] = stripe
    laces = np.zeros((f.s, f.s), np.uint8)
    for k in range(4):  # laces across the throat
        lx = x0 + w * (0.42 + 0.06 * k if unit[0, 0] == 0 else 0.58 - 0.06 * k)
        p0 = (round(lx - 0.03 * w), round(y0 + 0.2 * h + 0.06 * k * h))
        p1 = (round(lx + 0.03 * w), round(y0 + 0.26 * h + 0.06 * k * h))
        cv2.line(laces, p0, p1, 255, max(1, round(0.008 * w)), cv2.LINE_AA)
    _ink(rgb, (240.0, 240.0, 240.0), lambda m: np.copyto(m, laces))
    light_y = 0.85 + 0.25 * _smoothstep(_f32(1 - (f.yy - y0) / max(h, 1)))
    return _Layer(sketch.coverage(), _f32(rgb * light_y[..., None]))


def _bag(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    top = y0 + _u(rng, 0.35, 0.45) * h
    inset = w * _u(rng, 0.06, 0.12)
    body = _chaikin(np.array([(x0 + inset, top), (x1 - inset, top), (x1, y1), (x0, y1)]), 2)
    sketch = _Sketch(f.s, box)
    sketch.polygon(body)
    # A thin strap: a few px wide at 1024, i.e. exactly what a coarse 320 px map half-sees.
    strap = max(1.5, _u(rng, 0.003, 0.008) * f.s)
    span = _u(rng, 0.22, 0.32) * w
    sketch.ellipse(((x0 + x1) / 2, top), (span, top - y0 - strap / 2), arc=(180, 360), width=strap)
    color = _jitter(rng, _pick(rng, BODY_COLORS))
    rgb = _flat(f, color)
    rgb[f.yy < top - 1] = color * 0.55
    flap = (f.yy > top) & (f.yy < top + 0.22 * (y1 - top))
    rgb[flap] = color * 0.85
    buckle_x, buckle_y = (x0 + x1) / 2, top + 0.2 * (y1 - top)
    rgb[
        round(buckle_y) : round(buckle_y + 0.06 * (y1 - top)),
        round(buckle_x - 0.04 * w) : round(buckle_x + 0.04 * w),
    ] = (215.0, 185.0, 90.0)
    leather = 1 + 0.04 * _noise(rng, f.s, 2)[..., None] + 0.05 * _noise(rng, f.s, w / 3)[..., None]
    return _Layer(sketch.coverage(), _f32(rgb * leather))


def _jar(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    lid_h = h * _u(rng, 0.28, 0.38)
    ell = h * 0.07
    cx = (x0 + x1) / 2
    sketch = _Sketch(f.s, box)
    bw = w * 0.94
    sketch.polygon(
        [
            (cx - bw / 2, y0 + lid_h),
            (cx + bw / 2, y0 + lid_h),
            (cx + bw / 2, y1 - ell),
            (cx - bw / 2, y1 - ell),
        ]
    )
    sketch.ellipse((cx, y1 - ell), (bw / 2, ell))
    sketch.polygon([(x0, y0 + ell), (x1, y0 + ell), (x1, y0 + lid_h), (x0, y0 + lid_h)])
    sketch.ellipse((cx, y0 + ell), (w / 2, ell))
    body = _jitter(
        rng, _pick(rng, ((245, 240, 235), (240, 190, 200), (60, 60, 70), (180, 210, 230)))
    )
    lid = _jitter(rng, _pick(rng, ((215, 180, 100), (200, 200, 205), (40, 40, 45), (230, 90, 120))))
    rgb = _flat(f, body)
    rgb[f.yy < y0 + lid_h] = lid
    top_face = ((f.xx - cx) / (w / 2)) ** 2 + ((f.yy - y0 - ell) / ell) ** 2 < 1
    rgb[top_face] = np.clip(lid * 1.15, 0, 255)
    _label(
        rng,
        rgb,
        (
            cx - 0.3 * w,
            y0 + lid_h + 0.15 * (h - lid_h),
            cx + 0.3 * w,
            y0 + lid_h + 0.6 * (h - lid_h),
        ),
        body * 0.8,
    )
    return _Layer(sketch.coverage(), _shade(rgb, _cylinder_tone(f, cx, w / 2, light, 0.35)))


def _ring(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A roll of tape seen face on: the hole shows the background."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    hole = _u(rng, 0.4, 0.6)
    sketch = _Sketch(f.s, box)
    sketch.ellipse((cx, cy), (rx, ry))
    sketch.ellipse((cx, cy), (rx * hole, ry * hole), value=0)
    r = np.sqrt(((f.xx - cx) / rx) ** 2 + ((f.yy - cy) / ry) ** 2)
    color = _jitter(rng, _pick(rng, BODY_COLORS))
    core = _jitter(rng, (200, 170, 120))
    rgb = _flat(f, color)
    rgb[r < hole + 0.12] = core
    bands = 1 + 0.06 * np.sin(r * _u(rng, 80, 140))
    lit = 0.85 + 0.2 * np.clip(((f.xx - cx) * light - (f.yy - cy) * 0.5) / rx, -1, 1)
    return _Layer(sketch.coverage(), _f32(rgb * (bands * lit)[..., None]))


def _plush(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A furry toy: a solid body inside a fringe of hair strands a quarter-pixel thin."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fur = _u(rng, 0.04, 0.08) * min(w, h)
    rx, ry = w / 2 - fur, h / 2 - fur
    sketch = _Sketch(f.s, box)
    sketch.ellipse((cx, cy), (rx, ry))
    for side in (-1, 1):  # ears
        sketch.ellipse((cx + side * rx * 0.55, cy - ry * 0.8), (rx * 0.22, ry * 0.25))
    perimeter = math.pi * (rx + ry)
    count = int(perimeter * _u(rng, 1.2, 2.0))
    theta = rng.uniform(0, 2 * math.pi, count)
    length = fur * rng.uniform(0.4, 1.0, count)
    bend = rng.normal(0, 0.35, count)
    base_r = rng.uniform(0.9, 0.99, count)
    for th, ln, bd, br in zip(theta, length, bend, base_r, strict=True):
        sx, sy = cx + rx * br * math.cos(th), cy + ry * br * math.sin(th)
        nx, ny = math.cos(th) * ry, math.sin(th) * rx  # outward normal of the ellipse
        norm = math.hypot(nx, ny)
        d0 = math.atan2(ny / norm, nx / norm) + bd
        mid = (sx + 0.5 * ln * math.cos(d0), sy + 0.5 * ln * math.sin(d0))
        d1 = d0 + bd * 0.8
        tip = (mid[0] + 0.5 * ln * math.cos(d1), mid[1] + 0.5 * ln * math.sin(d1))
        sketch.polyline([(sx, sy), mid, tip], 0.25 if rng.random() < 0.7 else 0.5)
    color = _jitter(
        rng, _pick(rng, ((200, 160, 110), (240, 235, 225), (120, 80, 50), (240, 180, 190)))
    )
    texture = 1 + 0.08 * _noise(rng, f.s, 1.5) + 0.05 * _noise(rng, f.s, fur)
    shade = 0.8 + 0.25 * np.clip(((f.xx - cx) * light - (f.yy - cy) * 0.6) / max(rx, 1), -1, 1)
    rgb = _flat(f, color) * (texture * shade)[..., None]
    eye = ((f.xx - cx) % (rx * 0.5) - rx * 0.25) ** 2 + (f.yy - cy + ry * 0.15) ** 2 < (
        rx * 0.06
    ) ** 2
    rgb[eye & (np.abs(f.xx - cx) < rx * 0.5)] = (25, 20, 20)
    return _Layer(sketch.coverage(), _f32(rgb))


def _glass(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A perfume bottle: opaque cap, a see-through glass body (alpha 0.55-0.95), liquid inside."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    cap_h, neck_h = h * 0.2, h * 0.06
    cap = _Sketch(f.s, box)
    cap.polygon(
        [
            (cx - 0.22 * w, y0),
            (cx + 0.22 * w, y0),
            (cx + 0.22 * w, y0 + cap_h),
            (cx - 0.22 * w, y0 + cap_h),
        ]
    )
    glass = _Sketch(f.s, box)
    glass.polygon(
        [
            (cx - 0.12 * w, y0 + cap_h - 2),
            (cx + 0.12 * w, y0 + cap_h - 2),
            (cx + 0.12 * w, y0 + cap_h + neck_h + 2),
            (cx - 0.12 * w, y0 + cap_h + neck_h + 2),
        ]
    )
    glass.polygon(
        _chaikin(
            np.array([(x0, y0 + cap_h + neck_h), (x1, y0 + cap_h + neck_h), (x1, y1), (x0, y1)]), 2
        )
    )
    nx = np.abs(f.xx - cx) / (w / 2)
    # Thick glass at the silhouette (Fresnel) is more opaque than the middle of the body.
    clarity = 0.55 + 0.4 * np.clip(nx, 0, 1) ** 4
    level = y0 + cap_h + neck_h + _u(rng, 0.25, 0.5) * (h - cap_h - neck_h)
    liquid = (f.yy > level) & (nx < 0.86) & (f.yy < y1 - 0.06 * h)
    clarity = np.where(liquid, 0.92, clarity)
    tint = _jitter(rng, _pick(rng, ((225, 235, 240), (235, 225, 235), (230, 240, 225))))
    juice = _jitter(rng, _pick(rng, ((230, 170, 60), (200, 60, 110), (120, 170, 220))))
    grgb = _flat(f, tint)
    grgb[liquid] = juice
    grgb = _shade(grgb, _cylinder_tone(f, cx, w / 2, light, 0.7))
    body = _Layer(_f32(glass.coverage() * clarity), grgb)
    ccol = _jitter(rng, _pick(rng, ((40, 40, 45), (215, 180, 100), (200, 200, 210))))
    top = _Layer(
        cap.coverage(), _shade(_flat(f, ccol), _cylinder_tone(f, cx, 0.22 * w, light, 0.6))
    )
    return _over(top, body)


def _photo_disc(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A real product photo cut by an ellipse (a printed coaster / badge): real texture."""
    x0, y0, x1, y1 = box
    sketch = _Sketch(f.s, box)
    sketch.ellipse(((x0 + x1) / 2, (y0 + y1) / 2), ((x1 - x0) / 2, (y1 - y0) / 2))
    photo = _photo_or_procedural(rng, f)
    side = round(max(x1 - x0, y1 - y0))
    crop = _f32(cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA))
    rgb = _flat(f, _f32((128, 128, 128)))
    ix0, iy0 = round((x0 + x1 - side) / 2), round((y0 + y1 - side) / 2)
    sx0, sy0 = max(0, -ix0), max(0, -iy0)
    ex, ey = min(f.s, ix0 + side), min(f.s, iy0 + side)
    rgb[iy0 + sy0 : ey, ix0 + sx0 : ex] = crop[sy0 : ey - iy0, sx0 : ex - ix0]
    rim = np.sqrt(
        ((f.xx - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2
        + ((f.yy - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2
    )
    rgb[rim > 0.94] = _jitter(rng, (245, 245, 245), 6)  # a white printed border, like a badge
    return _Layer(sketch.coverage(), rgb)


def _headphones(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """Over-ear headphones: a band with a hole under it and a thin dangling cable."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    band = w * _u(rng, 0.05, 0.08)
    cup_w, cup_h = w * 0.24, h * 0.34
    cable_bottom = y1
    body_bottom = y0 + h * 0.78
    sketch = _Sketch(f.s, box)
    arc_ry = body_bottom - cup_h * 0.6 - y0 - band / 2
    sketch.ellipse(
        (cx, y0 + band / 2 + arc_ry), (w / 2 - cup_w / 2, arc_ry), arc=(180, 360), width=band
    )
    for side in (-1, 1):
        ccx = cx + side * (w / 2 - cup_w / 2)
        sketch.ellipse((ccx, body_bottom - cup_h / 2), (cup_w / 2, cup_h / 2))
    # The cable: 1.5-3 px at 1024, curling down from the left cup to a plug.
    width = max(1.0, _u(rng, 0.0015, 0.003) * f.s)
    start = (x0 + cup_w / 2, body_bottom - 0.02 * h)
    ts = np.linspace(0, 1, 60)
    swing = w * _u(rng, 0.15, 0.3)
    xs = start[0] + swing * np.sin(ts * math.pi * _u(rng, 0.8, 1.6))
    ys = start[1] + (cable_bottom - 0.03 * h - start[1]) * ts
    sketch.polyline(np.stack([xs, ys], 1), width)
    plug = (float(xs[-1]), float(ys[-1]))
    sketch.polygon(
        [
            (plug[0] - 2 * width, plug[1]),
            (plug[0] + 2 * width, plug[1]),
            (plug[0] + 2 * width, plug[1] + 0.03 * h),
            (plug[0] - 2 * width, plug[1] + 0.03 * h),
        ]
    )
    color = _jitter(rng, _pick(rng, ((30, 30, 35), (235, 235, 235), (200, 40, 50), (60, 90, 150))))
    rgb = _flat(f, color)
    cushion = np.zeros((f.s, f.s), bool)
    for side in (-1, 1):
        ccx = cx + side * (w / 2 - cup_w / 2)
        d = ((f.xx - ccx) / (cup_w / 2)) ** 2 + (
            (f.yy - body_bottom + cup_h / 2) / (cup_h / 2)
        ) ** 2
        cushion |= (d < 1) & (d > 0.55)
    rgb[cushion] = color * 0.6 + 20
    return _Layer(sketch.coverage(), _shade(rgb, _cylinder_tone(f, cx, w / 2, light, 0.25)))


def _stool(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A bar stool: a round seat on thin legs with a ring between them (background shows)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    seat_ry, seat_h = h * 0.06, h * 0.08
    leg = max(1.5, w * _u(rng, 0.02, 0.04))
    sketch = _Sketch(f.s, box)
    sketch.ellipse((cx, y0 + seat_ry), (w / 2, seat_ry))
    sketch.polygon(
        [
            (x0, y0 + seat_ry),
            (x1, y0 + seat_ry),
            (x1, y0 + seat_ry + seat_h),
            (x0, y0 + seat_ry + seat_h),
        ]
    )
    sketch.ellipse((cx, y0 + seat_ry + seat_h), (w / 2, seat_ry))
    top_y = y0 + seat_ry + seat_h
    feet = [x0 + leg, x0 + 0.3 * w, x1 - 0.3 * w, x1 - leg]
    tops = [x0 + 0.18 * w, x0 + 0.38 * w, x1 - 0.38 * w, x1 - 0.18 * w]
    for top_x, foot_x in zip(tops, feet, strict=True):
        sketch.polyline([(top_x, top_y), (foot_x, y1 - leg / 2)], leg)
    ring_y = top_y + (y1 - top_y) * _u(rng, 0.55, 0.7)
    ring_rx = (x1 - x0) / 2 * 0.82
    sketch.ellipse((cx, ring_y), (ring_rx, seat_ry * 0.9), width=max(1.0, leg * 0.5))
    wood = _jitter(rng, _pick(rng, ((170, 120, 70), (120, 80, 50), (60, 60, 62), (220, 200, 170))))
    metal = _jitter(rng, _pick(rng, ((40, 40, 42), (180, 180, 185), (200, 160, 90))))
    rgb = _flat(f, metal)
    rgb[f.yy < top_y + seat_ry] = wood
    grain = 1 + 0.05 * _noise(rng, f.s, 3)[..., None]
    return _Layer(
        sketch.coverage(), _shade(_f32(rgb * grain), _cylinder_tone(f, cx, w / 2, light, 0.3))
    )


def _sunglasses(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """Sunglasses: dark see-through lenses (alpha 0.85) in a thin frame, thin temples."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    rim = max(1.2, w * _u(rng, 0.01, 0.02))
    lens_rx, lens_ry = w * 0.2, h * 0.3
    lens_cy = y0 + h * 0.38
    frame = _Sketch(f.s, box)
    lens = _Sketch(f.s, box)
    for side in (-1, 1):
        lcx = cx + side * w * 0.24
        lens.ellipse((lcx, lens_cy), (lens_rx, lens_ry))
        frame.ellipse((lcx, lens_cy), (lens_rx, lens_ry), width=rim)
        # A temple folded back, seen from the front-top: a thin line down and out.
        hinge = (lcx + side * lens_rx, lens_cy - lens_ry * 0.4)
        frame.polyline([hinge, (hinge[0] - side * w * 0.08, y1 - rim)], rim * 0.8)
    frame.ellipse((cx, lens_cy - lens_ry * 0.35), (w * 0.04, h * 0.08), arc=(180, 360), width=rim)
    tint = _jitter(rng, _pick(rng, ((40, 40, 45), (70, 50, 30), (30, 60, 50))))
    body = _jitter(rng, _pick(rng, ((25, 25, 25), (200, 160, 80), (160, 30, 40), (230, 230, 230))))
    sheen = 1 + 0.5 * np.clip(
        1 - np.abs((f.xx - f.yy * 0.5 - cx + lens_cy * 0.5) / (0.05 * w)), 0, 1
    )
    lens_layer = _Layer(_f32(lens.coverage() * 0.85), _f32(_flat(f, tint) * sheen[..., None]))
    frame_layer = _Layer(
        frame.coverage(), _shade(_flat(f, body), _cylinder_tone(f, cx, w / 2, light, 0.3))
    )
    return _over(frame_layer, lens_layer)


PRODUCTS: dict[str, tuple[ProductFn, tuple[float, float]]] = {
    # name: (renderer, width / height range of its box)
    "bottle": (_bottle, (0.3, 0.42)),
    "box": (_box, (0.75, 1.15)),
    "mug": (_mug, (1.1, 1.35)),
    "shoe": (_shoe, (1.6, 2.1)),
    "bag": (_bag, (0.85, 1.1)),
    "jar": (_jar, (1.0, 1.4)),
    "ring": (_ring, (0.9, 1.1)),
    "plush": (_plush, (0.85, 1.15)),
    "glass": (_glass, (0.5, 0.65)),
    "photo": (_photo_disc, (0.8, 1.25)),
    "headphones": (_headphones, (0.75, 0.95)),
    "stool": (_stool, (0.55, 0.75)),
    "sunglasses": (_sunglasses, (2.0, 2.6)),
}
OPAQUE = ("bottle", "box", "mug", "shoe", "bag", "jar", "ring")


def _white(rng: np.random.Generator, f: _Frame, box: Box, light: float) -> _Layer:
    """A white product (box, bottle, jar or mug): it goes on a near-white studio sweep."""
    name = _pick(rng, ("box", "bottle", "jar", "mug"))
    layer = PRODUCTS[name][0](rng, f, box, light)
    luma = layer.rgb.mean(axis=2, keepdims=True)
    # Keep the shading and a faint print but push every colour to white, as a white product is.
    white = _f32(np.clip(0.08 * layer.rgb + 0.92 * (luma * 0.22 + 200), 0, 255))
    return _Layer(layer.alpha, white)


# ----------------------------------------------------------------------------- backgrounds


def _photo_or_procedural(rng: np.random.Generator, f: _Frame) -> F32:
    s = f.s
    paths: list[Path] = real_photo_paths() if f.photos else []
    if paths:
        return _f32(load_photo(_pick(rng, paths), s))
    # Colour blobs: what a heavily defocused room or shelf looks like.
    out = np.zeros((s, s, 3), np.float32)
    for c in range(3):
        out[..., c] = 128 + 45 * _noise(rng, s, s / 4) + 20 * _noise(rng, s, s / 12)
    return _f32(np.clip(out + rng.uniform(-40, 40, 3), 0, 255))


PALETTE: tuple[Color, ...] = (
    (236, 226, 210), (200, 220, 235), (245, 215, 200), (210, 230, 205), (120, 135, 160),
    (60, 65, 80), (230, 200, 150), (170, 160, 200), (250, 245, 235), (90, 120, 100),
)  # fmt: skip


def _gradient(rng: np.random.Generator, f: _Frame) -> F32:
    c0, c1 = _jitter(rng, _pick(rng, PALETTE)), _jitter(rng, _pick(rng, PALETTE))
    angle = _u(rng, 0, 2 * math.pi)
    ramp = _f32((f.xx - f.s / 2) * math.cos(angle) + (f.yy - f.s / 2) * math.sin(angle))
    t = _smoothstep(_f32(ramp / f.s + 0.5))[..., None]
    vignette = 1 - _u(rng, 0.0, 0.25) * ((f.xx / f.s - 0.5) ** 2 + (f.yy / f.s - 0.5) ** 2)
    return _f32((c0 * (1 - t) + c1 * t) * vignette[..., None])


def _texture(rng: np.random.Generator, f: _Frame) -> F32:
    return SURFACES[_pick(rng, sorted(SURFACES))](rng, f.s)


def _blurred_photo(rng: np.random.Generator, f: _Frame) -> F32:
    photo = _photo_or_procedural(rng, f)
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
    blurred = cv2.GaussianBlur(photo, (0, 0), _u(rng, 0.012, 0.03) * f.s)
    return _f32(blurred * _u(rng, 0.8, 1.1))


def _studio_sweep(rng: np.random.Generator, f: _Frame, white: bool = False) -> F32:
    """Seamless paper: a wall that curves into the floor, lit from above."""
    if white:
        wall = _jitter(rng, (244, 244, 242), 4)
    else:
        wall = _jitter(rng, _pick(rng, (*PALETTE, (240, 240, 240), (225, 225, 228))), 6)
    horizon = _u(rng, 0.55, 0.8) * f.s
    t = _smoothstep((f.yy - horizon) / (0.25 * f.s) + 0.5)[..., None]
    floor = np.clip(wall * _u(rng, 0.9, 1.04), 0, 255)
    glow = 1 - _u(rng, 0.03, 0.12) * ((f.xx / f.s - 0.5) ** 2 * 2 + (f.yy / f.s - 0.3) ** 2)
    return _f32((wall * (1 - t) + floor * t) * glow[..., None])


BACKGROUNDS: dict[str, Callable[[np.random.Generator, _Frame], F32]] = {
    "gradient": _gradient,
    "texture": _texture,
    "blurred-photo": _blurred_photo,
    "studio-sweep": _studio_sweep,
}


def _shadow(rng: np.random.Generator, f: _Frame, alpha: F32, box: Box, light: float) -> F32:
    """Darkening factor of the background: a soft cast shadow and a tight contact shadow."""
    s = f.s
    x0, _, x1, y1 = box
    shift = np.array([[1, 0, -light * 0.05 * s], [0, 1, 0.015 * s]], np.float32)
    cast = _f32(cv2.GaussianBlur(cv2.warpAffine(alpha, shift, (s, s)), (0, 0), 0.02 * s))
    contact = np.zeros((s, s), np.float32)
    cv2.ellipse(
        contact,
        (round((x0 + x1) / 2), round(y1)),
        (round((x1 - x0) * 0.5), max(1, round(0.012 * s))),
        0,
        0,
        360,
        1.0,
        -1,
    )
    contact = _f32(cv2.GaussianBlur(contact, (0, 0), 0.01 * s))
    return _f32(1 - _u(rng, 0.1, 0.3) * cast - _u(rng, 0.2, 0.4) * contact)


# ----------------------------------------------------------------------------- scenes


def _place(
    rng: np.random.Generator,
    s: int,
    extent: float,
    aspect: float,
    xrange: tuple[float, float] = (0.0, 1.0),
) -> Box:
    """A box with the longer side ``extent`` px and width / height ``aspect`` inside the frame."""
    w, h = (extent * aspect, extent) if aspect < 1 else (extent, extent / aspect)
    margin = 0.04 * s
    lo, hi = xrange[0] * s + margin, xrange[1] * s - margin - w
    x0 = _u(rng, lo, max(lo, hi))
    y0 = _u(rng, margin, max(margin, s - margin - h)) * 0.5 + (s - h) / 2 * 0.5  # toward centre
    return (x0, y0, x0 + w, y0 + h)


def _products(rng: np.random.Generator, f: _Frame, recipe: str) -> tuple[list[_Layer], list[Box]]:
    light = float(rng.choice([-1.0, 1.0]) * _u(rng, 0.3, 0.6))
    s = f.s
    if recipe == "multi":
        count = 2 if rng.random() < 0.5 else 3
        names = [_pick(rng, OPAQUE) for _ in range(count)]
        layers, boxes = [], []
        for k, name in enumerate(names):
            fn, (a0, a1) = PRODUCTS[name]
            extent = _u(rng, 0.3, 0.45 if count == 2 else 0.33) * s
            slot = (k / count, (k + 1) / count)
            aspect = min(_u(rng, a0, a1), (slot[1] - slot[0]) * s * 0.9 / extent)
            box = _place(rng, s, extent, aspect, slot)
            layers.append(fn(rng, f, box, light))
            boxes.append(box)
        return layers, boxes
    fn, (a0, a1) = (_white, (0.8, 1.2)) if recipe == "white" else PRODUCTS[recipe]
    box = _place(rng, s, _u(rng, 0.3, 0.8) * s, _u(rng, a0, a1))
    return [fn(rng, f, box, light)], [box]


def make_composite(seed: int, index: int, size: int = 1024, *, photos: bool = True) -> Composite:
    """Composite ``index`` of the set ``seed``: deterministic in (seed, index, size, photos)."""
    rng = np.random.default_rng([seed, index])
    recipe = RECIPES[index % len(RECIPES)]
    kind = "studio-sweep" if recipe == "white" else KINDS[(index + index // len(RECIPES)) % 4]
    f = _Frame.of(size, photos)
    layers, boxes = _products(rng, f, recipe)
    if recipe == "white":
        background = _studio_sweep(rng, f, white=True)
    else:
        background = BACKGROUNDS[kind](rng, f)
    # Lens blur: a real edge is a few tenths of a pixel to a pixel soft, beyond the AA.
    blur = _u(rng, 0.3, 0.8) * size / 1024
    layers = [_Layer(_f32(cv2.GaussianBlur(la.alpha, (0, 0), blur)), la.rgb) for la in layers]
    product = layers[0]
    for layer in layers[1:]:
        product = _over(layer, product)
    light = _u(rng, -0.5, 0.5)
    for layer, box in zip(layers, boxes, strict=True):
        background = background * _shadow(rng, f, layer.alpha, box, light)[..., None]
    # Sensor noise on both layers: the composite must not be cleaner than a photo.
    sigma = _u(rng, 0.8, 2.0)
    fg = (
        np.clip(product.rgb + rng.normal(0, sigma, product.rgb.shape), 0, 255)
        .round()
        .astype(np.uint8)
    )
    bg = (
        np.clip(background + rng.normal(0, sigma, background.shape), 0, 255)
        .round()
        .astype(np.uint8)
    )
    alpha = _f32(np.clip(product.alpha, 0, 1))
    # In float64, so ``round(alpha * fg + (1 - alpha) * bg)`` recomputes it exactly.
    a = alpha[..., None].astype(np.float64)
    image = np.clip(a * fg + (1 - a) * bg, 0, 255).round().astype(np.uint8)
    name = f"{recipe}-{kind}-{index:02d}"
    return Composite(name, kind, image, alpha, fg, bg)


def build_composites(
    n: int = 24, seed: int = 0, size: int = 1024, *, photos: bool = True
) -> list[Composite]:
    """``n`` composites (``make_composite(seed, i, size)`` for i < n).

    ``photos=False`` never reads ``../shared`` (tests): the blurred-photo backgrounds and the
    photo disc are procedural then.
    """
    if n < 0 or size < 64:
        raise ValueError(f"need n >= 0 and size >= 64, got n={n}, size={size}")
    return [make_composite(seed, i, size, photos=photos) for i in range(n)]


__all__ = ["KINDS", "RECIPES", "Composite", "build_composites", "make_composite"]

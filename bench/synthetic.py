"""Seeded synthetic evaluation cases: product photos with Chinese marketing overlays.

Each case carries the photo before the overlays (``clean``), the photo after them (``image``),
the exact set of pixels the overlays changed (``overlay_mask``) and every text line drawn, as a
ground-truth quad with its kind: ``overlay`` (to erase) or ``product`` (printed on the product,
to keep). The same ``seed`` (and ``base``) always gives the same case.

Without a base photo the scene is procedural: a shaded box / bottle / can with a printed,
curved or perspective-warped brand label, on a textured surface (wood, fabric, wall, marble),
lit with falloff, then blurred and noised like a camera would. Overlays are drawn *after* that,
crisp, the way marketplace sellers add them in an image editor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

Quad = list[tuple[float, float]]
Rgb = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
LineKind = Literal["overlay", "product"]
T = TypeVar("T")
Color = tuple[int, int, int]

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_PRODUCTS_DIR = REPO_ROOT.parent / "shared" / "data" / "realworld" / "products"

# Pixels whose value moved by more than this many levels (any channel) count as changed.
CHANGE_LEVELS = 2
# Shapes are drawn this many times larger, then box-filtered down: PIL shapes have no AA.
_SS = 2


@dataclass(frozen=True)
class GtLine:
    """One drawn text line: quad clockwise from top-left (image pixels)."""

    box: Quad
    text: str
    kind: LineKind
    style: str


@dataclass
class SyntheticCase:
    image: Rgb  # with overlays
    clean: Rgb  # the same photo before the overlays
    overlay_mask: Mask  # 255 where the overlays changed a pixel by > CHANGE_LEVELS
    lines: list[GtLine]
    product_mask: Mask | None  # 255 on the product; None if unknown
    seed: int = 0
    source: str = "procedural"

    @property
    def overlay_lines(self) -> list[GtLine]:
        return [line for line in self.lines if line.kind == "overlay"]

    @property
    def product_lines(self) -> list[GtLine]:
        return [line for line in self.lines if line.kind == "product"]


# ----------------------------------------------------------------------------- text content

OVERLAY_PHRASES = (
    "限时特价", "新品上市", "买一送一", "正品保证", "7天无理由退换", "全场包邮", "爆款直降",
    "限量抢购", "第二件半价", "顺丰包邮", "厂家直销", "品质保障", "今日特惠", "满199减100",
    "领券立减20元", "假一赔十", "24小时发货", "好评如潮", "销量10万+", "官方正品", "工厂直供",
    "限时秒杀", "年货节大促", "店长推荐", "拍下立减", "热卖", "包邮",
)  # fmt: skip
SHORT_WORDS = ("包邮", "热卖", "新品", "爆款", "特价", "秒杀", "现货", "正品", "直降", "清仓")
CIRCLE_TEXTS = (
    ("限时", "特价"), ("新品", "上市"), ("买一", "送一"), ("爆款", "直降"), ("第二件", "半价"),
    ("包邮",), ("热卖",), ("正品",), ("秒杀",), ("满减",),
)  # fmt: skip
PRICE_LABELS = ("券后价", "到手价", "秒杀价", "活动价", "限时价", "特惠价")
STORE_NAMES = (
    "优品生活馆", "有品家居专营店", "良品优选官方店", "百货优选旗舰店", "家居好物馆",
    "潮流数码专营店", "美妆集合店", "源头工厂店", "优选好物铺", "鑫达百货商行",
)  # fmt: skip
PRODUCT_BRANDS = (
    ("农夫山泉", "天然矿泉水", "净含量550ml"), ("康师傅", "红烧牛肉面", "净含量120g"),
    ("三只松鼠", "每日坚果", "净含量750g"), ("百岁山", "饮用天然矿泉水", "净含量570ml"),
    ("元气森林", "无糖气泡水", "净含量480ml"), ("旺仔", "复原乳牛奶", "净含量245ml"),
    ("统一", "绿茶饮料", "净含量500ml"), ("王老吉", "凉茶植物饮料", "净含量310ml"),
    ("娃哈哈", "营养快线", "净含量500g"), ("怡宝", "饮用纯净水", "净含量555ml"),
    ("良品铺子", "精制猪肉脯", "净含量200g"), ("白象", "老母鸡汤面", "净含量118g"),
)  # fmt: skip

# Marketplace palette: Taobao orange, Tmall red, gold, and the usual promo colours.
PROMO_FILLS: tuple[Color, ...] = (
    (255, 80, 0), (228, 57, 60), (230, 0, 18), (255, 196, 0), (255, 120, 30), (200, 16, 46),
    (255, 68, 102), (20, 20, 20), (0, 120, 215), (34, 139, 34),
)  # fmt: skip
TEXT_COLORS: tuple[Color, ...] = (
    (255, 255, 255), (230, 0, 18), (255, 80, 0), (20, 20, 20), (255, 214, 0), (200, 16, 46),
)  # fmt: skip

# ----------------------------------------------------------------------------- fonts


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int
    bold: bool


_NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
_WQY_DIR = Path("/usr/share/fonts/truetype/wqy")


@lru_cache(maxsize=1)
def available_fonts() -> tuple[FontSpec, ...]:
    """The CJK fonts on this machine, sorted so a seed picks the same font every run."""
    specs: list[FontSpec] = []
    for path in sorted(_NOTO_DIR.glob("Noto*CJK-*.ttc")):
        # Index 2 of Noto's CJK collections is the Simplified Chinese face.
        bold = any(w in path.name for w in ("Bold", "Black", "Medium"))
        specs.append(FontSpec(str(path), 2, bold))
    specs.extend(FontSpec(str(p), 0, True) for p in sorted(_WQY_DIR.glob("wqy-*.tt[cf]")))
    if not specs:
        raise FileNotFoundError(
            "no CJK font found (looked for Noto*CJK-*.ttc in /usr/share/fonts/opentype/noto and "
            "wqy-*.ttc in /usr/share/fonts/truetype/wqy): run `make fonts` or "
            "`apt-get install fonts-noto-cjk fonts-wqy-zenhei`"
        )
    return tuple(specs)


@lru_cache(maxsize=256)
def _font(spec: FontSpec, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec.path, max(6, px), index=spec.index)


def _pick_font(rng: np.random.Generator, bold_bias: float = 0.8) -> FontSpec:
    fonts = available_fonts()
    bold = [f for f in fonts if f.bold]
    pool = bold if bold and rng.random() < bold_bias else list(fonts)
    return pool[int(rng.integers(len(pool)))]


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


# ----------------------------------------------------------------------------- geometry helpers


def _rect_quad(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def order_quad(points: npt.ArrayLike) -> Quad:
    """Four points clockwise (in image coordinates) starting at the top-left one."""
    pts = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # y points down, so increasing angle is clockwise on screen
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in pts]


def _quad_from_points(points: npt.NDArray[np.float64]) -> Quad:
    rect = cv2.minAreaRect(points.astype(np.float32))
    return order_quad(cv2.boxPoints(rect))


def quad_inside(quad: Quad, width: int, height: int, margin: float = 1.0) -> bool:
    return all(margin <= x <= width - margin and margin <= y <= height - margin for x, y in quad)


# ----------------------------------------------------------------------------- noise & surfaces


def _f32(array: Any) -> F32:
    return np.asarray(array, dtype=np.float32)


def _smooth_noise(
    rng: np.random.Generator, h: int, w: int, cell: float, stretch: float = 1.0
) -> F32:
    """Unit-variance value noise with features about ``cell`` px (``stretch`` x wider in x)."""
    gh = max(2, int(h / cell) + 2)
    gw = max(2, int(w / (cell * stretch)) + 2)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    big = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), dtype=np.float32)
    return _f32((big - big.mean()) / (big.std() + 1e-6))


def _fractal(rng: np.random.Generator, s: int, cells: Sequence[float]) -> F32:
    out = np.zeros((s, s), np.float32)
    for i, cell in enumerate(cells):
        out += _smooth_noise(rng, s, s, cell) * (0.5**i)
    return _f32(out / (out.std() + 1e-6))


def _jitter(rng: np.random.Generator, color: Color, amount: float = 12.0) -> npt.NDArray[Any]:
    base = np.asarray(color, np.float32) + rng.uniform(-amount, amount, 3)
    return np.clip(base, 0, 255).astype(np.float32)


def _wood(rng: np.random.Generator, s: int) -> F32:
    colors: tuple[Color, ...] = ((196, 154, 108), (150, 101, 62), (112, 74, 46), (214, 196, 170))
    base = _jitter(rng, _pick(rng, colors))
    y = np.arange(s, dtype=np.float32)[:, None]
    warp = _smooth_noise(rng, s, s, s / 3) * 14 + _smooth_noise(rng, s, s, s / 12) * 3
    rings = (0.5 + 0.5 * np.sin((y + warp) * rng.uniform(0.05, 0.11))) ** 3
    grain = _smooth_noise(rng, s, s, 2.5, stretch=30)
    plank_h = rng.uniform(0.22, 0.4) * s
    shifted = y + rng.uniform(0, plank_h)
    plank_id = np.floor(shifted / plank_h)
    plank_tone = 1.0 + 0.06 * np.sin(plank_id * 12.9898 + rng.uniform(0, 6))
    tone = (0.86 + 0.1 * rings + 0.03 * grain + 0.04 * _smooth_noise(rng, s, s, s / 4)) * plank_tone
    # A dark gap about 2 px wide where two planks meet.
    from_seam = np.minimum(shifted % plank_h, plank_h - shifted % plank_h)
    seam = np.clip(1.0 - from_seam / 1.5, 0, 1)
    tone = tone * (1 - 0.4 * seam)
    out = base[None, None, :] * tone[..., None]
    return np.ascontiguousarray(out.transpose(1, 0, 2)) if rng.random() < 0.4 else out


def _fabric(rng: np.random.Generator, s: int) -> F32:
    colors: tuple[Color, ...] = ((214, 204, 186), (170, 174, 178), (188, 204, 220), (226, 214, 206))
    base = _jitter(rng, _pick(rng, colors))
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    period = rng.uniform(3.0, 5.0)
    weave = np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
    threads = _smooth_noise(rng, s, s, 1.5, stretch=10) + _smooth_noise(rng, s, s, 10, 0.1)
    wrinkles = _fractal(rng, s, (s / 3, s / 8))
    tone = 0.93 + 0.035 * weave + 0.012 * threads + 0.045 * wrinkles
    return _f32(base[None, None, :] * tone[..., None])


def _wall(rng: np.random.Generator, s: int) -> F32:
    colors: tuple[Color, ...] = ((236, 232, 226), (222, 228, 234), (240, 226, 214), (210, 214, 206))
    top = _jitter(rng, _pick(rng, colors), 8)
    bottom = top * rng.uniform(0.78, 0.92)
    t = np.linspace(0, 1, s, dtype=np.float32)[:, None, None]
    t = t * t * (3 - 2 * t)
    grad = top * (1 - t) + bottom * t
    tone = 1 + 0.015 * _fractal(rng, s, (s / 2, s / 6)) + 0.01 * _smooth_noise(rng, s, s, 1.2)
    return np.asarray(grad * tone[..., None], np.float32)


def _marble(rng: np.random.Generator, s: int) -> F32:
    base = _jitter(rng, (232, 230, 226), 6)
    # Ridged noise: thin bright ridges where the noise crosses zero read as veins.
    ridges = 1.0 - np.abs(_fractal(rng, s, (s / 3, s / 8, s / 24)) * 0.35)
    veins = np.clip(ridges, 0, 1) ** 28
    fine = np.clip(1.0 - np.abs(_fractal(rng, s, (s / 10, s / 30)) * 0.5), 0, 1) ** 40
    tone = 1 - 0.1 * veins - 0.04 * fine - 0.015 * _smooth_noise(rng, s, s, s / 6)
    return _f32(base[None, None, :] * tone[..., None])


SURFACES: dict[str, Callable[[np.random.Generator, int], F32]] = {
    "wood": _wood, "fabric": _fabric, "wall": _wall, "marble": _marble,
}  # fmt: skip


# ----------------------------------------------------------------------------- drawing canvas


class _Canvas:
    """An RGBA drawing surface at ``_SS`` x that records the ink box of every text drawn."""

    def __init__(self, w: int, h: int, background: tuple[int, int, int, int] = (0, 0, 0, 0)):
        self.w, self.h = w, h
        self.img = Image.new("RGBA", (w * _SS, h * _SS), background)
        self.texts: list[tuple[str, Quad]] = []

    def _layer(self, rgb: Color) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        # A transparent layer whose RGB is already the ink colour, so anti-aliased edges
        # composite without dark fringes.
        layer = Image.new("RGBA", self.img.size, (*rgb, 0))
        return layer, ImageDraw.Draw(layer)

    def shape(self, rgb: Color, draw: Callable[[ImageDraw.ImageDraw, float], None]) -> None:
        layer, d = self._layer(rgb)
        draw(d, float(_SS))
        self.img.alpha_composite(layer)

    def gradient_shape(
        self, c0: Color, c1: Color, draw: Callable[[ImageDraw.ImageDraw, float], None]
    ) -> None:
        shape = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        draw(ImageDraw.Draw(shape), float(_SS))  # only the alpha it draws is used
        mask = shape.getchannel("A")
        t = np.linspace(0, 1, self.img.size[0], dtype=np.float32)[None, :, None]
        grad = np.asarray(c0, np.float32) * (1 - t) + np.asarray(c1, np.float32) * t
        grad = np.repeat(grad, self.img.size[1], axis=0)
        rgba = np.dstack([grad.astype(np.uint8), np.asarray(mask)])
        self.img.alpha_composite(Image.fromarray(rgba, "RGBA"))

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        font: FontSpec,
        px: int,
        fill: Color,
        *,
        stroke: int = 0,
        stroke_fill: Color | None = None,
        shadow: tuple[float, float, float, float] | None = None,  # dx, dy, blur, opacity
        anchor: str = "mm",
    ) -> Quad:
        f = _font(font, px * _SS)
        pos = (xy[0] * _SS, xy[1] * _SS)
        ink = Image.new("L", self.img.size, 0)
        ImageDraw.Draw(ink).text(pos, text, font=f, fill=255, anchor=anchor)
        bbox = ink.getbbox()
        if bbox is None:
            raise ValueError(f"text {text!r} drew nothing (font {font.path})")
        if shadow is not None:
            dx, dy, blur, opacity = shadow
            sh = Image.new("L", self.img.size, 0)
            ImageDraw.Draw(sh).text(
                (pos[0] + dx * _SS, pos[1] + dy * _SS), text, font=f, fill=int(255 * opacity),
                anchor=anchor, stroke_width=stroke * _SS,
            )  # fmt: skip
            sh = sh.filter(ImageFilter.GaussianBlur(blur * _SS))
            shadow_layer = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
            shadow_layer.putalpha(sh)
            self.img.alpha_composite(shadow_layer)
        layer, d = self._layer(stroke_fill if stroke and stroke_fill else fill)
        d.text(
            pos, text, font=f, fill=(*fill, 255), anchor=anchor,
            stroke_width=stroke * _SS, stroke_fill=(*(stroke_fill or fill), 255),
        )  # fmt: skip
        self.img.alpha_composite(layer)
        x0, y0, x1, y1 = (v / _SS for v in bbox)
        quad = _rect_quad(x0, y0, x1, y1)
        self.texts.append((text, quad))
        return quad

    def finish(self) -> Image.Image:
        # Pillow resizes RGBA in premultiplied form, so edges stay clean.
        return self.img.resize((self.w, self.h), Image.Resampling.BOX)


def _text_px(text: str, font: FontSpec, px: int) -> tuple[int, int]:
    """Ink width and height of ``text`` at ``px``."""
    x0, y0, x1, y1 = _font(font, px).getbbox(text)
    return math.ceil(x1 - x0), math.ceil(y1 - y0)


def _fit_px(text: str, font: FontSpec, max_w: float, max_h: float) -> int:
    px = max(8, int(max_h))
    while px > 8 and _text_px(text, font, px)[0] > max_w:
        px = int(px * 0.92)
    return px


# ----------------------------------------------------------------------------- product labels


@dataclass
class _LabelStyle:
    bg: Color
    fg: Color
    accent: Color


_LABEL_STYLES = (
    _LabelStyle((236, 28, 36), (255, 255, 255), (255, 214, 0)),
    _LabelStyle((250, 248, 240), (200, 16, 46), (0, 110, 60)),
    _LabelStyle((0, 122, 70), (255, 255, 255), (250, 230, 120)),
    _LabelStyle((24, 64, 150), (255, 255, 255), (120, 200, 255)),
    _LabelStyle((255, 210, 40), (150, 20, 20), (230, 80, 0)),
    _LabelStyle((245, 245, 245), (20, 60, 140), (220, 30, 40)),
    _LabelStyle((120, 60, 30), (255, 236, 200), (230, 180, 80)),
)


def _label_texture(
    rng: np.random.Generator, w: int, h: int, brand: tuple[str, str, str], style: _LabelStyle
) -> tuple[F32, list[tuple[str, Quad]]]:
    """The flat artwork of a printed label: background, decoration, brand + spec lines."""
    canvas = _Canvas(w, h, (*style.bg, 255))
    deco = int(rng.integers(3))
    if deco == 0:  # stripes top and bottom
        band = h * rng.uniform(0.06, 0.1)

        def stripes(d: ImageDraw.ImageDraw, k: float) -> None:
            d.rectangle((0, 0, w * k, band * k), fill=(*style.accent, 255))
            d.rectangle((0, (h - band) * k, w * k, h * k), fill=(*style.accent, 255))

        canvas.shape(style.accent, stripes)
    elif deco == 1:  # a wave across the lower part
        xs = np.linspace(0, w, 64)
        amp, y0 = h * 0.05, h * rng.uniform(0.8, 0.88)
        pts = [(float(x), float(y0 + amp * math.sin(x / w * 2 * math.pi))) for x in xs]

        def wave(d: ImageDraw.ImageDraw, k: float) -> None:
            poly = [(x * k, y * k) for x, y in [*pts, (w, h), (0, h)]]
            d.polygon(poly, fill=(*style.accent, 255))

        canvas.shape(style.accent, wave)
    else:  # an emblem circle behind the brand
        r = h * 0.34
        cx, cy = w / 2, h * 0.4
        canvas.shape(
            style.accent,
            lambda d, k: d.ellipse(
                ((cx - r * 1.6) * k, (cy - r) * k, (cx + r * 1.6) * k, (cy + r) * k),
                outline=(*style.accent, 255), width=int(max(2, h * 0.02) * k),
            ),
        )  # fmt: skip
    name, descriptor, spec = brand
    font = _pick_font(rng, 0.9)
    brand_px = _fit_px(name, font, w * 0.78, h * rng.uniform(0.26, 0.34))
    canvas.text((w / 2, h * 0.4), name, font, brand_px, style.fg)
    small_font = _pick_font(rng, 0.4)
    second = spec if rng.random() < 0.6 else descriptor
    spec_px = _fit_px(second, small_font, w * 0.6, max(10.0, h * 0.11))
    canvas.text((w / 2, h * 0.68), second, small_font, spec_px, style.fg)
    rgb = np.asarray(canvas.finish().convert("RGB"), np.float32)
    return rgb, canvas.texts


# ----------------------------------------------------------------------------- procedural scene


@dataclass
class _Product:
    rgb: F32  # H x W x 3, 0..255, shaded
    alpha: F32  # H x W, 0..1
    texts: list[tuple[str, Quad]]


def _cylinder_label(
    rng: np.random.Generator,
    s: int,
    cx: float,
    radius: float,
    y_top: float,
    height: float,
    ellipse: float,
    texture: F32,
) -> tuple[F32, F32, Callable[[float, float], tuple[float, float]]]:
    """Wrap ``texture`` (its width is the visible half circumference) around a cylinder.

    Returns the label RGB and alpha in image space, and the flat -> image point mapping. Seen
    slightly from above, a horizontal line on the cylinder bows down by ``ellipse`` px at the
    front, so printed lines curve like on a real bottle.
    """
    th, tw = texture.shape[:2]
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    nx = np.clip((xx - cx) / radius, -1.0, 1.0)
    nz = np.sqrt(1.0 - nx * nx)
    map_x = tw / 2 + radius * np.arcsin(nx) * (tw / (math.pi * radius))
    map_y = yy - y_top - ellipse * nz
    map_y *= th / height
    inside = (np.abs(xx - cx) < radius).astype(np.float32)
    rgba = np.dstack([texture, np.full((th, tw), 255.0, np.float32)])
    warped = np.asarray(
        cv2.remap(rgba, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
        np.float32,
    )
    alpha = warped[..., 3] / 255.0 * inside

    def to_image(u: float, v: float) -> tuple[float, float]:
        theta = (u - tw / 2) / (tw / math.pi)
        return cx + radius * math.sin(theta), y_top + v * height / th + ellipse * math.cos(theta)

    return warped[..., :3], alpha, to_image


def _map_text_quads(
    texts: list[tuple[str, Quad]], to_image: Callable[[float, float], tuple[float, float]]
) -> list[tuple[str, Quad]]:
    out = []
    for text, quad in texts:
        (x0, y0), _, (x1, y1), _ = quad
        edge = np.linspace(0, 1, 12)
        pts = [to_image(x0 + (x1 - x0) * t, y) for t in edge for y in (y0, y1)]
        out.append((text, _quad_from_points(np.asarray(pts, np.float64))))
    return out


def _cylinder_shading(
    xx: F32, cx: float, radius: float, light_x: float, gloss: float
) -> tuple[F32, F32]:
    nx = np.clip((xx - cx) / radius, -1.0, 1.0)
    nz = np.sqrt(1.0 - nx * nx)
    lz = math.sqrt(1 - light_x * light_x)
    diffuse = 0.38 + 0.62 * np.clip(nx * light_x + nz * lz, 0, 1)
    spec = gloss * np.exp(-(((nx - light_x * 0.55) / 0.07) ** 2))
    spec += gloss * 0.35 * np.exp(-(((nx + light_x * 0.8) / 0.05) ** 2))  # rim reflection
    return diffuse.astype(np.float32), spec.astype(np.float32)


def _bottle(
    rng: np.random.Generator, s: int, light_x: float, brand: tuple[str, str, str]
) -> _Product:
    height = rng.uniform(0.56, 0.72) * s
    top = (s - height) / 2 + rng.uniform(-0.02, 0.05) * s
    cx = s / 2 + rng.uniform(-0.1, 0.1) * s
    radius = height * rng.uniform(0.17, 0.22)
    neck = radius * rng.uniform(0.36, 0.44)
    cap_h, neck_h, shoulder_h = height * 0.075, height * 0.06, height * 0.17
    t_knots = [0, cap_h, cap_h + 0.01, cap_h + neck_h, cap_h + neck_h + shoulder_h,
               height * 0.97, height]  # fmt: skip
    r_knots = [neck * 1.1, neck * 1.1, neck, neck, radius, radius, radius * 0.94]
    rows = np.arange(s, dtype=np.float32) - top
    t = np.clip(rows, 0, height)
    half_w = np.interp(t, t_knots, r_knots).astype(np.float32)
    # Smooth the shoulder: smoothstep between neck and body radius.
    sh0, sh1 = cap_h + neck_h, cap_h + neck_h + shoulder_h
    u = np.clip((t - sh0) / (sh1 - sh0), 0, 1)
    shoulder = neck + (radius - neck) * (u * u * (3 - 2 * u))
    half_w = np.where((t > sh0) & (t < sh1), shoulder, half_w).astype(np.float32)
    half_w[(rows < 0) | (rows > height)] = 0
    xx = np.tile(np.arange(s, dtype=np.float32)[None, :], (s, 1))
    alpha = np.clip(half_w[:, None] - np.abs(xx - cx) + 0.5, 0, 1) * (half_w[:, None] > 0)
    body = _jitter(rng, _pick(rng, ((230, 120, 30), (60, 150, 70), (200, 40, 40), (90, 160, 210),
                                     (245, 245, 240), (250, 200, 60))))  # fmt: skip
    cap = _jitter(rng, _pick(rng, ((250, 250, 250), (30, 120, 60), (220, 30, 30), (40, 40, 40))))
    rgb = np.broadcast_to(body, (s, s, 3)).copy()
    rgb[rows < cap_h] = cap
    # The label band sits on the straight part of the body.
    band_top = top + sh1 + height * rng.uniform(0.03, 0.08)
    band_h = height * rng.uniform(0.3, 0.4)
    ellipse = radius * rng.uniform(0.06, 0.14)
    tex_w = int(math.pi * radius)
    texture, texts = _label_texture(rng, tex_w, int(band_h), brand, _pick(rng, _LABEL_STYLES))
    lab_rgb, lab_a, to_image = _cylinder_label(
        rng, s, cx, radius, band_top, band_h, ellipse, texture
    )
    rgb = rgb * (1 - lab_a[..., None]) + lab_rgb * lab_a[..., None]
    diffuse, spec = _cylinder_shading(xx, cx, np.maximum(half_w[:, None], 1.0), light_x, 0.55)
    rgb = rgb * diffuse[..., None] + 255 * spec[..., None]
    return _Product(
        rgb.astype(np.float32), alpha.astype(np.float32), _map_text_quads(texts, to_image)
    )


def _can(rng: np.random.Generator, s: int, light_x: float, brand: tuple[str, str, str]) -> _Product:
    radius = s * rng.uniform(0.14, 0.19)
    height = radius * rng.uniform(2.2, 3.2)
    ellipse = radius * rng.uniform(0.12, 0.22)
    cx = s / 2 + rng.uniform(-0.1, 0.1) * s
    top = (s - height) / 2 + rng.uniform(-0.02, 0.05) * s
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)

    def ellipse_alpha(yc: float, rx: float, ry: float) -> F32:
        d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - yc) / ry) ** 2)
        return _f32(np.clip((1 - d) * min(rx, ry) + 0.5, 0, 1))

    side = np.clip(radius - np.abs(xx - cx) + 0.5, 0, 1) * ((yy >= top) & (yy <= top + height))
    lid = ellipse_alpha(top, radius, ellipse)
    bottom = ellipse_alpha(top + height, radius, ellipse)
    alpha = np.maximum(np.maximum(side, lid), bottom).astype(np.float32)
    texture, texts = _label_texture(
        rng, int(math.pi * radius), int(height), brand, _pick(rng, _LABEL_STYLES)
    )
    lab_rgb, lab_a, to_image = _cylinder_label(rng, s, cx, radius, top, height, ellipse, texture)
    diffuse, spec = _cylinder_shading(xx, cx, radius, light_x, 0.8)
    rgb = lab_rgb * diffuse[..., None] + 255 * spec[..., None]
    # Lid: brushed metal, lighter toward the light, with a darker inner rim.
    metal = 150 + 60 * np.clip((xx - cx) / radius * light_x, -1, 1)
    inner = ellipse_alpha(top, radius * 0.86, ellipse * 0.8)
    metal = metal * (1 - 0.2 * inner) + 3 * _smooth_noise(rng, s, s, 1.5, 20)
    lid_only = np.clip(lid - lab_a, 0, 1)[..., None]
    rgb = rgb * (1 - lid_only) + np.repeat(metal[..., None], 3, axis=2) * lid_only
    return _Product(rgb.astype(np.float32), alpha, _map_text_quads(texts, to_image))


def _poly_alpha(s: int, quad: npt.NDArray[np.float64]) -> F32:
    mask = np.zeros((s, s), np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255.0


def _box(rng: np.random.Generator, s: int, light_x: float, brand: tuple[str, str, str]) -> _Product:
    w = s * rng.uniform(0.34, 0.46)
    h = s * rng.uniform(0.4, 0.56)
    depth = w * rng.uniform(0.18, 0.32)
    rise = h * rng.uniform(0.06, 0.12)
    x0 = s / 2 - (w + depth) / 2 + rng.uniform(-0.06, 0.06) * s
    y0 = (s - h) / 2 + rng.uniform(0.0, 0.06) * s
    shrink = h * rng.uniform(0.01, 0.035)  # the far edge looks shorter: perspective
    front = np.array([(x0, y0), (x0 + w, y0 + shrink), (x0 + w, y0 + h - shrink), (x0, y0 + h)])
    off = np.array([depth, -rise])
    side = np.array([front[1], front[1] + off, front[2] + off * (1, 0.6), front[2]])
    top_face = np.array([front[0], front[0] + off, front[1] + off, front[1]])
    mirror = light_x > 0  # the unlit side faces away from the light
    if mirror:
        for face in (front, side, top_face):
            face[:, 0] = s - face[:, 0]
        front = front[[1, 0, 3, 2]]
    style = _pick(rng, _LABEL_STYLES)
    tex_w, tex_h = int(w), int(h)
    texture, texts = _label_texture(rng, tex_w, tex_h, brand, style)
    src = np.array([(0, 0), (tex_w, 0), (tex_w, tex_h), (0, tex_h)], np.float32)
    hom = cv2.getPerspectiveTransform(src, front.astype(np.float32))
    front_rgb = np.asarray(cv2.warpPerspective(texture, hom, (s, s)), np.float32)
    a_front, a_side, a_top = (_poly_alpha(s, q) for q in (front, side, top_face))
    xx = np.arange(s, dtype=np.float32)[None, :]
    grad = 0.86 + 0.12 * np.clip((xx - s / 2) / (w / 2) * (-np.sign(light_x)), -1, 1)
    side_rgb = np.broadcast_to(np.asarray(style.bg, np.float32) * 0.62, (s, s, 3))
    top_rgb = np.broadcast_to(
        np.minimum(np.asarray(style.bg, np.float32) * 1.12 + 12, 255), (s, s, 3)
    )
    rgb = side_rgb * a_side[..., None] + top_rgb * a_top[..., None]
    rgb = rgb * (1 - a_front[..., None]) + front_rgb * grad[..., None] * a_front[..., None]
    alpha = np.clip(a_front + a_side + a_top, 0, 1)
    safe = np.maximum(alpha, 1e-3)[..., None]
    quads = []
    for text, quad in texts:
        pts = cv2.perspectiveTransform(np.asarray([quad], np.float32), hom)[0]
        quads.append((text, order_quad(pts)))
    return _Product((rgb / safe).astype(np.float32), alpha.astype(np.float32), quads)


ProductBuilder = Callable[[np.random.Generator, int, float, tuple[str, str, str]], _Product]
PRODUCT_SHAPES: dict[str, ProductBuilder] = {"bottle": _bottle, "can": _can, "box": _box}


def _camera(rng: np.random.Generator, scene: F32, jpeg: bool = True) -> Rgb:
    """Lens blur, sensor noise and (sometimes) a JPEG round trip, as a camera would add."""
    s = scene.shape[0]
    blurred = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.6, 1.1))
    luma_noise = _smooth_noise(rng, s, s, 1.0)[..., None] * rng.uniform(1.0, 2.2)
    chroma_noise = rng.standard_normal(scene.shape).astype(np.float32) * rng.uniform(0.8, 1.8)
    out: Rgb = np.clip(blurred + luma_noise + chroma_noise, 0, 255).round().astype(np.uint8)
    if jpeg and rng.random() < 0.6:
        ok, buf = cv2.imencode(
            ".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(86, 95))]
        )
        if ok:
            decoded = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)
            out = np.ascontiguousarray(decoded[:, :, ::-1])
    return out


@dataclass
class ProceduralPhoto:
    image: Rgb
    product_mask: Mask
    lines: list[GtLine]
    surface: str = ""
    shape: str = ""


def procedural_photo(seed: int | np.random.Generator, size: int = 1024) -> ProceduralPhoto:
    """A studio-style product photo with a printed brand label (no overlays)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    s = size
    surface_name = _pick(rng, sorted(SURFACES))
    scene = SURFACES[surface_name](rng, s)
    light_x = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6))
    shape_name = _pick(rng, sorted(PRODUCT_SHAPES))
    product = PRODUCT_SHAPES[shape_name](rng, s, light_x, _pick(rng, PRODUCT_BRANDS))
    # Shadows: a soft cast shadow away from the light, and a tight contact shadow.
    shift = np.array([[1, 0, -light_x * 0.08 * s], [0, 1, 0.02 * s]], np.float32)
    cast = _f32(cv2.warpAffine(product.alpha, shift, (s, s)))
    cast = _f32(cv2.GaussianBlur(cast, (0, 0), 0.025 * s))
    ys, xs = np.nonzero(product.alpha > 0.5)
    contact = np.zeros((s, s), np.float32)
    cv2.ellipse(contact, (int(xs.mean()), int(ys.max())), (int((xs.max() - xs.min()) * 0.55),
                int(0.018 * s)), 0, 0, 360, 1.0, -1)  # fmt: skip
    contact = _f32(cv2.GaussianBlur(contact, (0, 0), 0.012 * s))
    scene = scene * (1 - 0.3 * cast - 0.35 * contact)[..., None]
    a = product.alpha[..., None]
    scene = scene * (1 - a) + product.rgb * a
    # Light falloff from a point off-centre on the light's side.
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    lx, ly = 0.5 - light_x * 0.5, rng.uniform(0.1, 0.4)
    falloff = 1 - rng.uniform(0.12, 0.3) * ((xx - lx) ** 2 + (yy - ly) ** 2)
    scene = scene * falloff[..., None] * rng.uniform(0.95, 1.05)
    image = _camera(rng, scene.astype(np.float32))
    mask = np.where(product.alpha > 0.5, 255, 0).astype(np.uint8)
    lines = [
        GtLine(q, t, "product", "printed_label") for t, q in product.texts if quad_inside(q, s, s)
    ]
    return ProceduralPhoto(image, mask, lines, surface_name, shape_name)


# ----------------------------------------------------------------------------- real base photos


def fit_square(rgb: Rgb, size: int) -> Rgb:
    """Centre-crop to a square and resize to ``size`` x ``size``."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = rgb[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=interp))


def real_photo_paths(limit: int | None = None) -> list[Path]:
    if not REAL_PRODUCTS_DIR.is_dir():
        return []
    return sorted(REAL_PRODUCTS_DIR.glob("*.jpg"))[:limit]


def load_photo(path: Path, size: int) -> Rgb:
    with Image.open(path) as img:
        rgb = np.asarray((ImageOps.exif_transpose(img) or img).convert("RGB"))
    return fit_square(rgb, size)


def base_photos(limit: int | None = None, size: int = 1024) -> list[Rgb]:
    """The real product photos from ``../shared`` when present, else procedural photos."""
    paths = real_photo_paths(limit)
    if paths:
        return [load_photo(p, size) for p in paths]
    return [procedural_photo(i, size).image for i in range(limit if limit is not None else 8)]


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    """Our U²-Net-p segmenter when its weights are on disk, else None (loaded once)."""
    from globalpic_segmentation.settings import SegmentationSettings
    from globalpic_segmentation.u2net import U2NetSegmenter

    settings = SegmentationSettings()
    return U2NetSegmenter(settings) if settings.u2netp_path().is_file() else None


def product_mask_for_photo(rgb: Rgb) -> Mask:
    """Where the product is: U²-Net-p when its weights are cached, else a centre ellipse."""
    h, w = rgb.shape[:2]
    segmenter = _segmenter()
    if segmenter is not None:
        from globalpic_segmentation.u2net import product_mask

        return np.asarray(product_mask(segmenter.segment(rgb)), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.3), int(h * 0.36)), 0, 0, 360, 255, -1)
    return mask


def print_label_on_photo(
    rng: np.random.Generator, rgb: Rgb, mask: Mask
) -> tuple[Rgb, list[GtLine]]:
    """Print a brand line and a spec line onto the product, shaded by the photo itself.

    The label goes where the product is flattest (lowest local grey-level spread) among the
    places that hold the whole label inside the mask, so it does not land on busy artwork or
    an edge. The ink is multiplied into the surface (the product's shading shows through),
    slightly rotated, blurred and noised to match the photo. Skipped (no lines) when no place
    is flat enough.
    """
    h, w = rgb.shape[:2]
    brand = _pick(rng, PRODUCT_BRANDS)
    font = _pick_font(rng, 0.9)
    px = int(rng.uniform(0.045, 0.065) * min(h, w))
    text_w = _text_px(brand[0], font, px)[0]
    box_w, box_h = int(max(text_w, px * 4.2) * 1.15), int(px * 2.3)
    dist = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 5)
    gray = cv2.GaussianBlur(rgb.astype(np.float32).mean(axis=2), (0, 0), 1.0)
    mean = cv2.boxFilter(gray, -1, (box_w, box_h))
    spread = np.sqrt(np.maximum(cv2.boxFilter(gray * gray, -1, (box_w, box_h)) - mean**2, 0))
    fits = dist >= math.hypot(box_w, box_h) / 2 + 4
    if not fits.any():
        return rgb, []
    spread = np.where(fits, spread, np.inf)
    cy, cx = np.unravel_index(int(np.argmin(spread)), spread.shape)
    if float(spread[cy, cx]) > 16.0:  # nothing flat enough: a label there would look pasted
        return rgb, []
    ink: Color = (25, 25, 30) if float(mean[cy, cx]) > 110 else (245, 245, 240)
    canvas = _Canvas(box_w, box_h)
    canvas.text((box_w / 2, box_h * 0.34), brand[0], font, px, ink)
    spec_font = _pick_font(rng, 0.3)
    spec_px = _fit_px(brand[2], spec_font, box_w * 0.8, max(10.0, px * 0.42))
    canvas.text((box_w / 2, box_h * 0.8), brand[2], spec_font, spec_px, ink)
    sprite = np.asarray(canvas.finish(), np.float32) / 255.0
    angle = float(rng.uniform(-6, 6))
    matrix = np.asarray(cv2.getRotationMatrix2D((box_w / 2, box_h / 2), angle, 1.0), np.float64)
    matrix[:, 2] += np.array([float(cx) - box_w / 2, float(cy) - box_h / 2])
    warped = np.asarray(cv2.warpAffine(sprite, matrix, (w, h)), np.float32)
    alpha = cv2.GaussianBlur(warped[..., 3], (0, 0), 0.7) * (mask > 0)
    img = rgb.astype(np.float32)
    if ink[0] < 128:  # dark ink darkens: multiply
        printed = img * (1 - 0.85 * alpha[..., None])
    else:  # light ink (on a dark product) is lit by the surface light
        lum = cv2.GaussianBlur(img.mean(axis=2), (0, 0), 15)[..., None] / 255.0
        printed = img * (1 - alpha[..., None]) + alpha[..., None] * 230 * np.clip(lum * 2.2, 0.4, 1)
    printed += rng.standard_normal(img.shape).astype(np.float32) * 1.5 * alpha[..., None]
    out = np.clip(printed, 0, 255).round().astype(np.uint8)
    lines = []
    for text, quad in canvas.texts:
        pts = cv2.transform(np.asarray([quad], np.float64), matrix)[0]
        q = order_quad(pts)
        if quad_inside(q, w, h) and all(mask[int(y), int(x)] for x, y in q):
            lines.append(GtLine(q, text, "product", "printed_label"))
    return out, lines


# ----------------------------------------------------------------------------- overlay sprites


@dataclass
class _Sprite:
    rgba: Image.Image
    texts: list[tuple[str, Quad]]
    style: str


def _sc(px: float, scale: float) -> int:
    return max(8, round(px * scale))


def _badge_rect(rng: np.random.Generator, scale: float) -> _Sprite:
    text = _pick(rng, OVERLAY_PHRASES)
    font = _pick_font(rng)
    px = _sc(rng.uniform(30, 54), scale)
    tw, th = _text_px(text, font, px)
    pad_x, pad_y = px * rng.uniform(0.35, 0.7), px * rng.uniform(0.25, 0.45)
    w, h = int(tw + 2 * pad_x), int(th + 2 * pad_y)
    fill = _pick(rng, PROMO_FILLS)
    fg: Color = (
        (20, 20, 20) if fill == (255, 196, 0) else _pick(rng, ((255, 255, 255), (255, 240, 0)))
    )
    radius = h * rng.uniform(0.1, 0.5)
    border = rng.random() < 0.4
    c = _Canvas(w, h)

    def body(d: ImageDraw.ImageDraw, k: float) -> None:
        d.rounded_rectangle((0, 0, w * k - 1, h * k - 1), radius * k, fill=(*fill, 255))

    if rng.random() < 0.4:
        c.gradient_shape(fill, _pick(rng, PROMO_FILLS), body)
    else:
        c.shape(fill, body)
    if border:
        bw = max(2.0, 3 * scale)
        c.shape((255, 255, 255), lambda d, k: d.rounded_rectangle(
            (bw * k, bw * k, (w - bw) * k, (h - bw) * k), (radius - bw) * k,
            outline=(255, 255, 255, 255), width=int(bw * k)))  # fmt: skip
    c.text((w / 2, h / 2), text, font, px, fg)
    return _Sprite(c.finish(), c.texts, "badge_rect")


def _badge_circle(rng: np.random.Generator, scale: float) -> _Sprite:
    texts = _pick(rng, CIRCLE_TEXTS)
    font = _pick_font(rng, 0.95)
    d_px = int(_sc(rng.uniform(110, 180), scale))
    c = _Canvas(d_px, d_px)
    fill = _pick(rng, PROMO_FILLS[:7])
    c.shape(fill, lambda d, k: d.ellipse((0, 0, d_px * k - 1, d_px * k - 1), fill=(*fill, 255)))
    if rng.random() < 0.6:
        ring = d_px * 0.06
        c.shape((255, 255, 255), lambda d, k: d.ellipse(
            (ring * k, ring * k, (d_px - ring) * k, (d_px - ring) * k),
            outline=(255, 255, 255, 255), width=max(2, int(d_px * 0.018 * k))))  # fmt: skip
    fg: Color = (20, 20, 20) if fill == (255, 196, 0) else (255, 255, 255)
    _centred_lines(c, texts, font, fg, d_px, inner=0.62, one_h=0.36, two_h=0.26, ys=(0.36, 0.66))
    return _Sprite(c.finish(), c.texts, "badge_circle")


def _centred_lines(
    c: _Canvas,
    texts: Sequence[str],
    font: FontSpec,
    fg: Color,
    d_px: int,
    inner: float,
    one_h: float,
    two_h: float,
    ys: tuple[float, float],
) -> None:
    """One line in the middle of a round sticker, or two at ``ys`` (shares of ``d_px``), each
    fitted to ``inner`` of the width and ``one_h`` / ``two_h`` of the height."""
    if len(texts) == 1:
        px = _fit_px(texts[0], font, d_px * inner, d_px * one_h)
        c.text((d_px / 2, d_px / 2), texts[0], font, px, fg)
        return
    px = min(_fit_px(t, font, d_px * inner, d_px * two_h) for t in texts)
    c.text((d_px / 2, d_px * ys[0]), texts[0], font, px, fg)
    c.text((d_px / 2, d_px * ys[1]), texts[1], font, px, fg)


def _burst(rng: np.random.Generator, scale: float) -> _Sprite:
    texts = _pick(rng, CIRCLE_TEXTS)
    font = _pick_font(rng, 0.95)
    d_px = int(_sc(rng.uniform(140, 200), scale))
    spikes = int(rng.integers(14, 24))
    r_out, r_in = d_px / 2, d_px / 2 * rng.uniform(0.8, 0.88)
    pts = []
    for i in range(spikes * 2):
        r = r_out if i % 2 == 0 else r_in
        a = math.pi * i / spikes
        pts.append((d_px / 2 + r * math.cos(a), d_px / 2 + r * math.sin(a)))
    fill = _pick(rng, ((255, 214, 0), (230, 0, 18), (255, 80, 0)))
    c = _Canvas(d_px, d_px)
    c.shape(fill, lambda d, k: d.polygon([(x * k, y * k) for x, y in pts], fill=(*fill, 255)))
    fg: Color = (200, 0, 0) if fill == (255, 214, 0) else (255, 255, 255)
    _centred_lines(c, texts, font, fg, d_px, inner=0.58, one_h=0.3, two_h=0.22, ys=(0.37, 0.64))
    return _Sprite(c.finish(), c.texts, "burst")


def _ribbon(rng: np.random.Generator, scale: float) -> _Sprite:
    text = _pick(rng, ("新品上市", "限时特价", "热卖爆款", "官方正品", "买一送一", "包邮"))
    font = _pick_font(rng, 1.0)
    h = _sc(rng.uniform(52, 70), scale)
    w = _sc(rng.uniform(380, 460), scale)
    fill = _pick(rng, PROMO_FILLS[:6])
    c = _Canvas(w, h)
    c.shape(fill, lambda d, k: d.rectangle((0, 0, w * k, h * k), fill=(*fill, 255)))

    def edge_lines(d: ImageDraw.ImageDraw, k: float) -> None:
        for y in (4, h - 4):
            d.line((0, y * k, w * k, y * k), fill=(255, 255, 255, 255), width=int(2 * k))

    c.shape((255, 255, 255), edge_lines)
    c.text((w / 2, h / 2), text, font, _fit_px(text, font, w * 0.45, h * 0.62), (255, 255, 255))
    return _Sprite(c.finish(), c.texts, "ribbon")


def _price(value: float) -> str:
    return f"¥{value:.1f}" if value % 1 else f"¥{int(value)}"


def _price_sticker(rng: np.random.Generator, scale: float) -> _Sprite:
    price = float(_pick(rng, (9.9, 19.9, 29.9, 39, 49.9, 59, 88, 99, 128, 199)))
    label = _pick(rng, PRICE_LABELS)
    font = _pick_font(rng, 0.95)
    fill = _pick(rng, ((230, 0, 18), (255, 80, 0), (255, 214, 0), (255, 255, 255)))
    fg: Color = (230, 0, 18) if fill in ((255, 214, 0), (255, 255, 255)) else (255, 255, 255)
    big = _sc(rng.uniform(44, 70), scale)
    one_line = rng.random() < 0.4
    if one_line:
        text = label + _price(price)
        tw, th = _text_px(text, font, big)
        w, h = int(tw + big * 0.8), int(th + big * 0.7)
    else:
        tw, th = _text_px(_price(price), font, big)
        w, h = int(tw + big * 0.9), int(th * 2.1 + big * 0.6)
    c = _Canvas(w, h)
    hole = rng.random() < 0.5
    c.shape(fill, lambda d, k: d.rounded_rectangle((0, 0, w * k - 1, h * k - 1), h * 0.18 * k,
                                                   fill=(*fill, 255)))  # fmt: skip
    if fill == (255, 255, 255):
        c.shape((230, 0, 18), lambda d, k: d.rounded_rectangle(
            (0, 0, w * k - 1, h * k - 1), h * 0.18 * k, outline=(230, 0, 18, 255),
            width=int(max(2, 3 * scale) * k)))  # fmt: skip
    if one_line:
        c.text((w / 2, h / 2), text, font, big, fg)
    else:
        small = max(10, int(big * 0.45))
        c.text((w / 2, h * 0.27), label, font, small, fg)
        c.text((w / 2, h * 0.66), _price(price), font, big, fg)
    sprite = c.finish()
    if hole:  # a punched tag hole: fully transparent, so it is no pixel of the overlay
        r = h * 0.06
        a = np.asarray(sprite).copy()
        yy, xx = np.mgrid[0:h, 0:w]
        a[((xx - r * 2.2) ** 2 + (yy - r * 2.2) ** 2) < r * r, 3] = 0
        sprite = Image.fromarray(a, "RGBA")
    return _Sprite(sprite, c.texts, "price_sticker")


def _banner(rng: np.random.Generator, scale: float, width: int) -> _Sprite:
    h = _sc(rng.uniform(76, 120), scale)
    c0, c1 = _pick(rng, PROMO_FILLS[:7]), _pick(rng, PROMO_FILLS[:7])
    c = _Canvas(width, h)
    c.gradient_shape(
        c0, c1, lambda d, k: d.rectangle((0, 0, width * k, h * k), fill=(0, 0, 0, 255))
    )
    font = _pick_font(rng, 0.95)
    fg = _pick(rng, ((255, 255, 255), (255, 240, 0)))
    if rng.random() < 0.5:
        text = _pick(rng, OVERLAY_PHRASES)
        c.text((width / 2, h / 2), text, font, _fit_px(text, font, width * 0.8, h * 0.55), fg)
    else:
        left, right = rng.choice(len(OVERLAY_PHRASES), 2, replace=False)
        for x, i in ((0.27, left), (0.73, right)):
            t = OVERLAY_PHRASES[int(i)]
            c.text((width * x, h / 2), t, font, _fit_px(t, font, width * 0.4, h * 0.5), fg)
    return _Sprite(c.finish(), c.texts, "banner")


def _plain(rng: np.random.Generator, scale: float, style: str) -> _Sprite:
    text = _pick(rng, OVERLAY_PHRASES)
    font = _pick_font(rng)
    px = _sc(rng.uniform(40, 84), scale)
    tw, th = _text_px(text, font, px)
    pad = int(px * 0.4)
    w, h = tw + 2 * pad, th + 2 * pad
    c = _Canvas(w, h)
    if style in ("outlined", "rotated_outlined", "cross_edge_outlined"):
        fill = _pick(rng, ((255, 255, 255), (255, 230, 0), (255, 80, 0)))
        stroke_fill = _pick(rng, ((230, 0, 18), (20, 20, 20), (20, 40, 120)))
        stroke = max(2, int(rng.uniform(2, 5) * scale))
        c.text((w / 2, h / 2), text, font, px, fill, stroke=stroke, stroke_fill=stroke_fill)
    elif style.endswith("shadow"):
        fill = _pick(rng, ((255, 255, 255), (255, 214, 0), (255, 80, 0)))
        shadow = (rng.uniform(2, 5) * scale, rng.uniform(2, 5) * scale, rng.uniform(1, 3), 0.6)
        c.text((w / 2, h / 2), text, font, px, fill, shadow=shadow)
    else:
        c.text((w / 2, h / 2), text, font, px, _pick(rng, TEXT_COLORS))
    return _Sprite(c.finish(), c.texts, style)


def _watermark_sprite(rng: np.random.Generator, scale: float, style: str) -> _Sprite:
    name = _pick(rng, STORE_NAMES)
    text = _pick(rng, (name, "@" + name, name + " 正品", "淘宝 " + name))
    font = _pick_font(rng, 0.6)
    px = _sc(rng.uniform(30, 46), scale)
    tw, th = _text_px(text, font, px)
    w, h = tw + px, th + px
    c = _Canvas(w, h)
    fill = _pick(rng, ((255, 255, 255), (128, 128, 128), (40, 40, 40)))
    stroke_fill: Color = (60, 60, 60) if fill == (255, 255, 255) else (255, 255, 255)
    stroke = 1 if rng.random() < 0.5 else 0
    c.text((w / 2, h / 2), text, font, px, fill, stroke=stroke, stroke_fill=stroke_fill)
    return _Sprite(c.finish(), c.texts, style)


# ----------------------------------------------------------------------------- compositing


@dataclass
class _Placed:
    """A sprite warped into place: its premultiplied pixels over the image box [y0:y1, x0:x1]."""

    x0: int
    y0: int
    premul: F32  # h x w x 3, colour x alpha, 0..255
    alpha: F32  # h x w, 0..1
    quads: list[tuple[str, Quad]]

    @property
    def window(self) -> tuple[slice, slice]:
        h, w = self.alpha.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)

    def over(self, img: F32, opacity: float = 1.0) -> None:
        """Composite onto ``img`` in place."""
        win = img[self.window]
        win[...] = self.premul * opacity + win * (1 - self.alpha[..., None] * opacity)

    def footprint(self, s: int, margin: int) -> Mask:
        fp = np.zeros((s, s), np.uint8)
        fp[self.window] = self.alpha > 0.01
        if margin > 0:
            kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
            fp = np.asarray(cv2.dilate(fp, kernel), np.uint8)
        return fp


def _place(sprite: _Sprite, s: int, centre: tuple[float, float], angle: float) -> _Placed:
    """Rotate ``sprite`` by ``angle`` degrees (counter-clockwise) about its centre at ``centre``."""
    rgba = np.asarray(sprite.rgba, np.float32) / 255.0
    sh, sw = rgba.shape[:2]
    premul = np.dstack([rgba[..., :3] * rgba[..., 3:4] * 255.0, rgba[..., 3]])
    matrix = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, 1.0)
    offset = (centre[0] - sw / 2, centre[1] - sh / 2)
    if angle == 0:  # whole-pixel placement keeps an unrotated sprite perfectly crisp
        offset = (round(offset[0]), round(offset[1]))
    matrix[:, 2] += offset
    corners = np.asarray([[(0, 0), (sw, 0), (sw, sh), (0, sh)]], np.float64)
    corners = cv2.transform(corners, matrix)[0]
    x0, y0 = (int(v) for v in np.maximum(np.floor(corners.min(axis=0)) - 1, 0))
    x1, y1 = (int(v) for v in np.minimum(np.ceil(corners.max(axis=0)) + 1, s))
    w, h = max(0, x1 - x0), max(0, y1 - y0)
    if w and h:
        roi = matrix.copy()
        roi[:, 2] -= (x0, y0)
        warped = np.asarray(
            cv2.warpAffine(premul, roi, (w, h), flags=cv2.INTER_LINEAR), np.float32
        ).reshape(h, w, 4)
    else:
        warped = np.zeros((0, 0, 4), np.float32)
    quads = []
    for text, quad in sprite.texts:
        pts = cv2.transform(np.asarray([quad], np.float64), matrix)[0]
        quads.append((text, order_quad(pts)))
    return _Placed(x0, y0, warped[..., :3], np.clip(warped[..., 3], 0, 1), quads)


OVERLAY_STYLES = (
    "badge_rect", "badge_circle", "burst", "ribbon", "price_sticker", "banner", "plain",
    "plain_shadow", "outlined", "rotated", "rotated_outlined", "cross_edge", "cross_edge_outlined",
    "watermark",
)  # fmt: skip


def _edge_point(
    rng: np.random.Generator, mask: Mask, rows: tuple[int, int]
) -> tuple[float, float] | None:
    """A point on the product's left or right silhouette, within ``rows``."""
    y = int(rng.integers(rows[0], rows[1] + 1))
    row = np.nonzero(mask[y])[0]
    if len(row) == 0:
        return None
    x = int(row.min() if rng.random() < 0.5 else row.max())
    return float(x), float(y)


def _middle_rows(mask: Mask | None) -> tuple[int, int] | None:
    """The product's middle band of rows (30th to 70th percentile), or None without a product."""
    if mask is None:
        return None
    ys = np.nonzero(mask.any(axis=1))[0]
    if len(ys) == 0:
        return None
    return int(np.percentile(ys, 30)), int(np.percentile(ys, 70))


def _overlay_attempt(
    rng: np.random.Generator,
    style: str,
    s: int,
    product_mask: Mask | None,
    edge_rows: tuple[int, int] | None,
) -> tuple[_Sprite, tuple[float, float], float] | None:
    """A sprite for ``style`` with a proposed centre and angle, or None if it cannot apply."""
    scale = s / 1024
    margin = 0.04 * s
    free = (float(rng.uniform(margin, s - margin)), float(rng.uniform(margin, s - margin)))
    if style == "badge_rect":
        return _badge_rect(rng, scale), free, float(rng.choice([0.0, 0.0, rng.uniform(-12, 12)]))
    if style == "badge_circle":
        return _badge_circle(rng, scale), free, float(rng.uniform(-15, 15))
    if style == "burst":
        return _burst(rng, scale), free, float(rng.uniform(-20, 20))
    if style == "ribbon":
        sprite = _ribbon(rng, scale)
        dist = rng.uniform(0.12, 0.16) * s
        right = rng.random() < 0.5
        centre = (s - dist if right else dist, dist)
        return sprite, centre, -45.0 if right else 45.0
    if style == "price_sticker":
        return _price_sticker(rng, scale), free, float(rng.choice([0.0, rng.uniform(-10, 10)]))
    if style == "banner":
        sprite = _banner(rng, scale, s)
        h = sprite.rgba.height
        return sprite, (s / 2, h / 2 if rng.random() < 0.5 else s - h / 2), 0.0
    if style in ("plain", "plain_shadow", "outlined"):
        return _plain(rng, scale, style), free, 0.0
    if style in ("rotated", "rotated_outlined"):
        angle = float(rng.choice([-1, 1]) * rng.uniform(8, 35))
        return _plain(rng, scale, style), free, angle
    if style in ("cross_edge", "cross_edge_outlined"):
        if product_mask is None or edge_rows is None:
            return None
        point = _edge_point(rng, product_mask, edge_rows)
        if point is None:
            return None
        return _plain(rng, scale, style), point, 0.0
    if style == "watermark":
        sprite = _watermark_sprite(rng, scale, style)
        return sprite, free, float(rng.choice([0.0, rng.uniform(-30, 30)]))
    raise ValueError(f"unknown overlay style {style!r}")


def _tiled_watermark(rng: np.random.Generator, img: F32) -> list[tuple[str, Quad]]:
    """One store name repeated on a rotated, staggered grid over the whole image (in place)."""
    s = img.shape[0]
    sprite = _watermark_sprite(rng, s / 1024, "watermark_tiled")
    opacity = float(rng.uniform(0.2, 0.45))
    angle = float(rng.uniform(15, 40) * rng.choice([-1, 1]))
    step_x = sprite.rgba.width * rng.uniform(1.3, 1.8)
    step_y = sprite.rgba.height * rng.uniform(3.0, 4.5)
    rad = math.radians(-angle)  # cv2's positive angle turns counter-clockwise on screen
    ux, uy = math.cos(rad), math.sin(rad)
    quads: list[tuple[str, Quad]] = []
    span = int(s * 1.5 / min(step_x, step_y)) + 2
    for j in range(-span, span + 1):
        for i in range(-span, span + 1):
            offset = (j % 2) * step_x / 2  # staggered rows, like a brick wall
            gx, gy = i * step_x + offset, j * step_y
            cx, cy = s / 2 + gx * ux - gy * uy, s / 2 + gx * uy + gy * ux
            if not (-s * 0.2 < cx < s * 1.2 and -s * 0.2 < cy < s * 1.2):
                continue
            tile = _place(sprite, s, (cx, cy), angle)
            if tile.alpha.size:
                tile.over(img, opacity)  # tiles never overlap, so compositing one by one is exact
            quads.extend((t, q) for t, q in tile.quads if quad_inside(q, s, s))
    return quads


def add_overlays(
    rng: np.random.Generator,
    clean: Rgb,
    product_mask: Mask | None,
    keep_clear: Sequence[Quad] = (),
    count: int | None = None,
    tiled_watermark: bool | None = None,
    styles: Sequence[str] | None = None,
) -> tuple[Rgb, list[GtLine]]:
    """Draw marketing overlays onto ``clean``; returns the edited image and the overlay lines.

    Overlays never overlap each other or the ``keep_clear`` quads (product text), and every
    overlay text line lies fully inside the image. The tiled watermark is drawn last, on top,
    and may cross everything, as it does on real listings. ``styles`` (from ``OVERLAY_STYLES``)
    fixes which overlays to try, in order, instead of a random pick of ``count``.
    """
    s = clean.shape[0]
    img = clean.astype(np.float32)
    occupied = np.zeros((s, s), np.uint8)
    for quad in keep_clear:
        cv2.fillConvexPoly(occupied, np.round(np.asarray(quad)).astype(np.int32), 1)
    occupied = np.asarray(cv2.dilate(occupied, np.ones((9, 9), np.uint8)), np.uint8)
    if styles is None:
        n = count if count is not None else int(rng.integers(3, 7))
        shuffled = list(OVERLAY_STYLES)
        rng.shuffle(shuffled)
        queue = shuffled * 2
    else:
        n, queue = len(styles), list(styles)
    lines: list[GtLine] = []
    edge_rows = _middle_rows(product_mask)
    placed = 0
    for style in queue:
        if placed >= n:
            break
        if style in ("banner", "ribbon") and any(line.style == style for line in lines):
            continue
        for _ in range(12):
            attempt = _overlay_attempt(rng, style, s, product_mask, edge_rows)
            if attempt is None:
                break
            sprite, centre, angle = attempt
            item = _place(sprite, s, centre, angle)
            if not item.quads or not all(quad_inside(q, s, s, 2) for _, q in item.quads):
                continue
            footprint = item.footprint(s, int(0.012 * s))
            if np.any(footprint & occupied):
                continue
            item.over(img, float(rng.uniform(0.4, 0.65)) if style == "watermark" else 1.0)
            occupied |= footprint
            lines.extend(GtLine(q, t, "overlay", style) for t, q in item.quads)
            placed += 1
            break
    if tiled_watermark if tiled_watermark is not None else rng.random() < 0.5:
        quads = _tiled_watermark(rng, img)
        lines.extend(GtLine(q, t, "overlay", "watermark_tiled") for t, q in quads)
    return np.clip(img, 0, 255).round().astype(np.uint8), lines


def changed_mask(a: Rgb, b: Rgb, levels: int = CHANGE_LEVELS) -> Mask:
    """255 where any channel differs by more than ``levels``."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return np.where(diff > levels, 255, 0).astype(np.uint8)


def make_case(
    seed: int, base: Rgb | None = None, size: int = 1024, source: str | None = None
) -> SyntheticCase:
    """A deterministic synthetic case: ``base`` (any size, centre-cropped) or a procedural photo."""
    rng = np.random.default_rng(seed)
    product_mask: Mask | None
    if base is None:
        photo = procedural_photo(rng, size)
        clean, product_mask, product_lines = photo.image, photo.product_mask, photo.lines
        source = source or f"procedural:{photo.shape}/{photo.surface}"
    else:
        clean = base if base.shape[:2] == (size, size) else fit_square(base, size)
        product_mask = product_mask_for_photo(clean)
        clean, product_lines = print_label_on_photo(rng, clean, product_mask)
        source = source or "photo"
    image, overlay_lines = add_overlays(
        rng, clean, product_mask, keep_clear=[line.box for line in product_lines]
    )
    return SyntheticCase(
        image=image,
        clean=clean,
        overlay_mask=changed_mask(image, clean),
        lines=[*product_lines, *overlay_lines],
        product_mask=product_mask,
        seed=seed,
        source=source,
    )


__all__ = [
    "GtLine",
    "ProceduralPhoto",
    "SyntheticCase",
    "add_overlays",
    "available_fonts",
    "base_photos",
    "changed_mask",
    "fit_square",
    "load_photo",
    "make_case",
    "order_quad",
    "print_label_on_photo",
    "procedural_photo",
    "product_mask_for_photo",
    "real_photo_paths",
]  # fmt: skip

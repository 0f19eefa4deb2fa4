"""The held-out (TEST split) synthetic overlay set of issue 12.

Never tune on these cases: they exist to tell whether a change that helps on the tune set
(``bench/synthetic.py``, ``bench/composites.py``) generalises. Everything here is a separate
code path from those generators, so that a method fitted to their habits is caught out:

* fonts: every face of every CJK collection installed (Noto Sans / Serif CJK JP, KR, SC, TC,
  HK and their Mono faces, WenQuanYi Zen Hei, Mono and Sharp), fake heavier weights (a stroke
  in the fill colour), outlines, drop shadows, gradient fills, vertical columns;
* phrases: our own lists of shop names, platform slogans, service promises and sales claims,
  and generated phone numbers, URLs, WeChat ids and prices;
* opacities 10-70 % (tiled watermarks, single faint lines), white on light grounds and
  colour on the same colour, sizes 12-160 px, rotations, multi-line blocks, text on the
  product, beside it or across its edge;
* products drawn here (a T-shirt with stripes, a can / jar with a label band, a box in
  perspective, a sneaker, a tote bag) with their own print following the surface (curved
  round the can, in perspective on the box face, waving with the fabric), on asphalt, wood
  planks, linen, paper or a studio sweep.

A case is planned in a fixed 1024-px reference frame from ``(seed, index)`` only, then
rendered at any ``size``: texts, styles, opacities, counts and on-product flags do not depend
on ``size`` (boxes scale with it), so ``summary`` of a small rendering equals the full one's.
Text is rasterised once in its own frame and mapped into the image by an inverse warp
(homography, cylinder or cloth wave) sampled at 2x and area-averaged, so ``box`` (the warped
ink rectangle) and ``glyphs`` (fill coverage >= 0.5) are exact.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from bench.synthetic import changed_mask

Quad = npt.NDArray[np.float64]  # (4, 2), clockwise from top-left, image px
Rgb = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Color = tuple[int, int, int]
LineKind = Literal["overlay", "product"]
T = TypeVar("T")

HELDOUT_SEED = 20261207
HELDOUT_N = 64
FAINT_OPACITY = 0.35  # issue 12: a line at or below this opacity is "faint"

REF = 1024.0  # the plan's frame: every layout decision is made at this size
_GRID = 4  # the plan's occupancy / product grids are REF / _GRID pixels wide
_SS = 2  # text and marks are sampled at this many times the output resolution


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class HeldoutLine:
    box: Quad  # clockwise from top-left, tight around the ink (image px)
    text: str
    kind: str  # "overlay" (to erase) | "product" (the product's own print: to keep)
    style: str
    opacity: float  # 1.0 opaque; the alpha of semi-transparent text
    on_product: bool  # the box lies mostly over the product
    glyphs: Mask  # 255 on this line's own fill pixels (not outline, backing or shadow)


@dataclass
class HeldoutCase:
    image: Rgb
    clean: Rgb
    overlay_mask: Mask
    lines: list[HeldoutLine]
    product_mask: Mask
    seed: int
    source: str

    @property
    def overlay_lines(self) -> list[HeldoutLine]:
        return [line for line in self.lines if line.kind == "overlay"]

    @property
    def product_lines(self) -> list[HeldoutLine]:
        return [line for line in self.lines if line.kind == "product"]


# ----------------------------------------------------------------------------- phrases
# Written for this set; none is taken from bench/synthetic.py.

SHOP_NAMES = (
    "淘宝店铺：潮流前线", "潮流前线旗舰店", "天猫｜家和优选旗舰店", "京东自营 星辰数码",
    "鹿小姐的衣橱", "森屿家居馆", "义乌小商品批发城", "木槿生活官方店", "悦享母婴专营店",
    "老街坊零食铺", "橙子数码配件", "闪电体育户外店", "云朵家纺直营", "小熊厨房电器",
    "拾光文具铺", "喵星人宠物用品",
)  # fmt: skip
PLATFORM_SLOGANS = (
    "百亿补贴", "1688 源头工厂", "阿里巴巴 1688 源头工厂", "拼多多 百亿补贴", "天猫超市",
    "京东自营", "淘宝直播间专享", "聚划算", "天猫正品保障", "抖音同款", "唯品会特卖",
    "苏宁易购", "拼多多 万人团",
)  # fmt: skip
SERVICE_PROMISES = (
    "全国联保", "七天无理由退换", "顺丰包邮", "极速退款", "破损包赔", "赠运费险", "晚发必赔",
    "正品险", "延保三年", "48小时内发货", "送货上门", "一年只换不修", "坏了包换",
)  # fmt: skip
SALES_FIXED = ("热销榜TOP1", "回头客8000+", "复购率第一", "爆卖中", "明星同款")
PROMO_WORDS = (
    "工厂直销", "厂家直供", "清仓甩卖", "新品首发", "直播专享价", "限量500件", "预售定金膨胀",
    "跨店满减", "整点抢", "前100名半价", "会员专享", "今晚8点开抢", "第2件0元", "一件代发",
    "支持定制", "批发价", "断码清仓", "爆款返场",
)  # fmt: skip
STAMP_WORDS = ("官方认证", "品质甄选", "质检合格", "源头好货", "官方授权", "国货之光")
PRICE_LABELS_HO = ("券后", "到手价", "直播价", "拼团价", "补贴价", "仅需")
URL_STEMS = (
    "chaoliuqx", "jiahe", "xingchen3c", "lumei", "senyu-home", "yiwu88", "mujin", "chengzi",
    "shandian", "yunduo",
)  # fmt: skip

LATIN_BRANDS = (
    "HOMEPRO", "AQUAVITA", "NORDLY", "URBAN LAB", "KUMO", "FRESHDAY", "SOLBERG", "MOKA&CO",
    "PURELINE", "TERRA",
)  # fmt: skip
CJK_BRANDS = (
    "山谷泉",
    "禾田良品",
    "青柠工坊",
    "雪域牧场",
    "北岸咖啡",
    "木子家居",
    "南山茶社",
    "晨露",
)
PRODUCT_NAMES = (
    "高山冷泡茶", "鲜榨橙汁", "冷萃咖啡", "柠檬气泡饮", "燕麦奶", "手工皂", "真空保温杯",
    "原木抽纸", "有机燕麦片", "蜂蜜柚子茶",
)  # fmt: skip
SPEC_LINES = (
    "净含量500ml", "净含量 1.5L", "净含量 350g", "规格：200g×2袋", "保质期 12个月",
    "NET WT 350g", "净含量：480毫升", "生产许可证 SC10633", "配料：水、柠檬汁",
)  # fmt: skip
GARMENT_PRINTS = ("URBAN LAB", "HOMEPRO", "SPORT CLUB 08", "KUMO", "潮牌", "TERRA")
GARMENT_SUBLINES = ("EST. 2016", "100% COTTON", "ORIGINAL", "SINCE 1998", "TOKYO / SHANGHAI")


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def _phone(rng: np.random.Generator) -> str:
    mobile = f"1{int(rng.choice([3, 5, 7, 8, 9]))}{_digits(rng, 1)}"
    forms = (
        f"电话：{mobile}-{_digits(rng, 4)}-{_digits(rng, 4)}",
        f"热线 400-{_digits(rng, 3)}-{_digits(rng, 4)}",
        f"TEL: 0{_digits(rng, 3)}-{_digits(rng, 8)}",
        f"咨询 {mobile} {_digits(rng, 4)} {_digits(rng, 4)}",
    )
    return _pick(rng, forms)


def _url(rng: np.random.Generator) -> str:
    stem = _pick(rng, URL_STEMS)
    forms = (
        f"www.{stem}.com", f"{stem}.tmall.com", f"shop{_digits(rng, 8)}.taobao.com",
        f"{stem}.1688.com", f"https://{stem}.jd.com", f"m.{stem}.cn",
    )  # fmt: skip
    return _pick(rng, forms)


def _wechat(rng: np.random.Generator) -> str:
    stem = _pick(rng, URL_STEMS)
    forms = (
        f"微信：{stem}{_digits(rng, 3)}",
        f"VX：{stem}_{_digits(rng, 2)}",
        f"加微信 {stem}{_digits(rng, 4)}",
    )
    return _pick(rng, forms)


def _price_value(rng: np.random.Generator) -> str:
    value = float(rng.choice([9.9, 19.9, 29, 39.9, 59, 69.9, 88, 129, 199, 299, 399, 1299]))
    return f"{value:g}"


def _price_text(rng: np.random.Generator) -> str:
    v = _price_value(rng)
    forms = (
        f"¥{v}",
        f"券后 ¥{v}",
        f"到手价 {v}元",
        f"券后{v}元",
        f"直播价 ¥{v}",
        f"¥{v} 包邮",
        f"立省{_digits(rng, 2)}元",
    )
    return _pick(rng, forms)


def _sales(rng: np.random.Generator) -> str:
    forms = (
        f"月销{int(rng.integers(1, 30))}万+", f"已售{rng.uniform(1, 9):.1f}万件",
        f"{int(rng.integers(2, 50))}万+人付款", f"好评率{rng.uniform(97, 99.9):.1f}%",
        _pick(rng, SALES_FIXED),
    )  # fmt: skip
    return _pick(rng, forms)


def _promo_phrase(rng: np.random.Generator) -> str:
    """Any marketplace line: promises, claims, platform words, prices, contacts, shop names."""
    source = int(rng.integers(8))
    if source < 2:
        return _pick(rng, SERVICE_PROMISES)
    if source == 2:
        return _sales(rng)
    if source == 3:
        return _pick(rng, PLATFORM_SLOGANS)
    if source == 4:
        return _price_text(rng)
    if source == 5:
        return _pick(rng, SHOP_NAMES)
    return _pick(rng, PROMO_WORDS)


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


# ----------------------------------------------------------------------------- fonts


@dataclass(frozen=True)
class Face:
    path: str
    index: int
    name: str
    bold: bool


_FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "droidsansfallback", "sourcehan")


@lru_cache(maxsize=1)
def heldout_faces() -> tuple[Face, ...]:
    """Every face of every installed CJK font file, sorted by path then collection index."""
    files = sorted(
        p
        for root in _FONT_ROOTS
        if root.is_dir()
        for p in root.rglob("*")
        if p.suffix.lower() in (".ttc", ".otc", ".otf", ".ttf")
        and any(h in p.name.lower() for h in _CJK_FILE_HINTS)
    )
    faces: list[Face] = []
    for path in files:
        for index in range(32):  # a collection has a handful of faces; the next index fails
            try:
                font = ImageFont.truetype(str(path), 24, index=index)
            except OSError:
                break
            family, style = font.getname()
            name = f"{family} {style}"
            faces.append(
                Face(str(path), index, name, any(w in name for w in ("Bold", "Black", "Heavy")))
            )
    if not faces:
        raise FileNotFoundError(
            "no CJK font found under /usr/share/fonts (Noto CJK or WenQuanYi): run `make fonts` or "
            "`apt-get install fonts-noto-cjk fonts-wqy-zenhei`"
        )
    return tuple(faces)


def _pick_face(rng: np.random.Generator, bold: bool | None = None) -> Face:
    """A font file at random, then one of its faces: each installed family gets its share."""
    faces = heldout_faces()
    if bold is not None and any(f.bold == bold for f in faces):
        faces = tuple(f for f in faces if f.bold == bold)
    paths = sorted({f.path for f in faces})
    path = _pick(rng, paths)
    return _pick(rng, [f for f in faces if f.path == path])


@lru_cache(maxsize=512)
def _font(face: Face, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face.path, max(1, px), index=face.index)


@dataclass(frozen=True)
class _Raster:
    fill: F32  # coverage 0..1 of the fill (incl. the fake-bold stroke), cropped with `pad`
    outline: F32 | None  # coverage of fill + outline stroke, same frame
    pad: int
    ink_w: int  # the fill's ink box inside the crop: [pad, pad + ink_w) x [pad, pad + ink_h)
    ink_h: int


@lru_cache(maxsize=256)
def _raster(text: str, face: Face, px: int, vertical: bool, heavy: int, outline: int) -> _Raster:
    """``text`` drawn in its own frame (cached: a tiled watermark reuses one raster)."""
    font = _font(face, px)
    margin = px + 2 * (heavy + outline) + 4
    # One origin for the fill and the outline (the widest stroke's box), so they line up.
    bx0, by0, bx1, by1 = font.getbbox(text, anchor="ls", stroke_width=heavy + outline)

    def draw(stroke: int) -> npt.NDArray[np.uint8]:
        if vertical:
            advance = round(px * 1.08)
            canvas = Image.new("L", (px + 2 * margin, advance * len(text) + 2 * margin), 0)
            d = ImageDraw.Draw(canvas)
            for i, ch in enumerate(text):
                d.text((margin + px / 2, margin + i * advance), ch, font=font, fill=255,
                       anchor="mt", stroke_width=stroke, stroke_fill=255)  # fmt: skip
        else:
            canvas = Image.new("L", (int(bx1 - bx0) + 2 * margin, int(by1 - by0) + 2 * margin), 0)
            ImageDraw.Draw(canvas).text(
                (margin - bx0, margin - by0), text, font=font, fill=255, anchor="ls",
                stroke_width=stroke, stroke_fill=255,
            )  # fmt: skip
        return np.asarray(canvas, np.uint8)

    fill = draw(heavy)
    ys, xs = np.nonzero(fill)
    if xs.size == 0:  # too small to leave ink (12 px text in a tiny rendering): nothing to draw
        return _Raster(np.zeros((1, 1), np.float32), None, 0, 1, 1)
    pad = outline + 2
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    crop = (slice(y0 - pad, y1 + pad), slice(x0 - pad, x1 + pad))
    fill_f = (fill[crop].astype(np.float32) / 255.0).astype(np.float32)
    out_f = None
    if outline > 0:
        out_f = (draw(heavy + outline)[crop].astype(np.float32) / 255.0).astype(np.float32)
    return _Raster(fill_f, out_f, pad, x1 - x0, y1 - y0)


def _ink_size(
    text: str, face: Face, px: float, vertical: bool, heavy: float
) -> tuple[float, float]:
    """Ink width and height of the fill in reference px."""
    ipx = max(1, round(px))
    r = _raster(text, face, ipx, vertical, round(heavy), 0)
    if not r.fill.any():
        raise ValueError(f"text {text!r} drew nothing with {face.name} at {ipx} px")
    k = px / ipx
    return r.ink_w * k, r.ink_h * k


# ----------------------------------------------------------------------------- warps


def _translate(x: float, y: float) -> F64:
    return np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], np.float64)


def _rotate(deg: float) -> F64:
    """Counter-clockwise on screen by ``deg`` (y points down)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]], np.float64)


@dataclass(frozen=True)
class _Warp:
    """Text frame (reference px) -> image (reference px): a homography, then an optional bend."""

    h: F64
    cylinder: tuple[float, float, float] | None = None  # axis x, radius, ellipse ratio of rims
    wave: tuple[float, float, float] | None = None  # amplitude, wavelength, phase

    def then(self, a: F64) -> _Warp:
        if self.cylinder or self.wave:
            raise ValueError("a bent warp cannot be moved")
        return replace(self, h=a @ self.h)

    def forward(self, pts: F64) -> F64:
        p = np.c_[pts, np.ones(len(pts))] @ self.h.T
        x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
        if self.cylinder is not None:
            cx, r, e = self.cylinder
            th = np.clip((x - cx) / r, -math.pi / 2, math.pi / 2)
            x, y = cx + r * np.sin(th), y + e * r * np.cos(th)
        if self.wave is not None:
            a, wl, ph = self.wave
            y = y + a * np.sin(2 * math.pi * x / wl + ph)
        return np.stack([x, y], axis=1)

    def inverse(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Image (reference px) -> text frame; NaN where the surface does not reach."""
        if self.wave is not None:
            a, wl, ph = self.wave
            y = y - a * np.sin(2 * math.pi * x / wl + ph)
        if self.cylinder is not None:
            cx, r, e = self.cylinder
            s = (x - cx) / r
            th = np.arcsin(np.clip(s, -1, 1))
            y = y - e * r * np.cos(th)
            x = np.where(np.abs(s) < 0.999, cx + r * th, np.nan)
        hi = np.linalg.inv(self.h)
        d = hi[2, 0] * x + hi[2, 1] * y + hi[2, 2]
        return (hi[0, 0] * x + hi[0, 1] * y + hi[0, 2]) / d, (
            hi[1, 0] * x + hi[1, 1] * y + hi[1, 2]
        ) / d


def _order_quad(pts: F64) -> Quad:
    """Four points clockwise on screen, starting at the one nearest the top-left."""
    c = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))]
    return np.roll(pts, -int(np.argmin(pts.sum(axis=1))), axis=0).astype(np.float64)


def _rect_border(w: float, h: float, pad: float = 0.0, n: int = 9) -> F64:
    t = np.linspace(0, 1, n)
    x0, y0, x1, y1 = -pad, -pad, w + pad, h + pad
    xs = np.r_[x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)]
    ys = np.r_[np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t]
    return np.stack([xs, ys], axis=1)


# ----------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Text:
    text: str
    face: Face
    px: float  # font size, reference px
    ink: tuple[float, float]  # fill ink box in the text frame, reference px
    warp: _Warp
    fill: Color
    kind: LineKind
    style: str
    vertical: bool = False
    heavy: float = 0.0  # fake-bold stroke in the fill colour, reference px
    fill2: Color | None = (
        None  # gradient fill: ``fill`` at the top of the ink, ``fill2`` at the bottom
    )
    outline: float = 0.0
    outline_color: Color = (0, 0, 0)
    shadow: tuple[float, float, float, float] | None = None  # dx, dy, blur (reference px), alpha
    opacity: float = 1.0
    listed: bool = True  # False: a watermark tile cut by the image edge (drawn, not a line)
    on_product: bool = False

    def quad(self) -> Quad:
        """The warped ink rectangle, reference px."""
        w, h = self.ink
        if self.warp.cylinder is None and self.warp.wave is None:
            return _order_quad(
                self.warp.forward(np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64))
            )
        pts = self.warp.forward(_rect_border(w, h, 0.0, 17)).astype(np.float32)
        return _order_quad(np.asarray(cv2.boxPoints(cv2.minAreaRect(pts)), np.float64))


@dataclass(frozen=True)
class _Shape:
    """A backing mark (badge, band, stamp frame): polygon in reference px."""

    poly: F64
    c0: Color
    c1: Color | None = None  # gradient along `axis` (a unit vector) from c0 to c1
    axis: tuple[float, float] = (0.0, 1.0)
    opacity: float = 1.0
    thickness: float = 0.0  # > 0: only the outline, this wide (reference px)
    may_clip: bool = False  # a full-width band may run off the image


@dataclass
class _Item:
    style: str
    texts: list[_Text]
    shapes: list[_Shape]

    def moved(self, a: F64) -> _Item:
        def pts(p: F64) -> F64:
            return np.asarray((np.c_[p, np.ones(len(p))] @ a.T)[:, :2], np.float64)

        return _Item(
            self.style,
            [replace(t, warp=t.warp.then(a)) for t in self.texts],
            [replace(s, poly=pts(s.poly), axis=_turn(s.axis, a)) for s in self.shapes],
        )


def _turn(axis: tuple[float, float], a: F64) -> tuple[float, float]:
    v = a[:2, :2] @ np.asarray(axis)
    n = float(np.hypot(v[0], v[1])) or 1.0
    return float(v[0] / n), float(v[1] / n)


def _text(
    text: str,
    face: Face,
    px: float,
    fill: Color,
    style: str,
    *,
    at: tuple[float, float] = (0.0, 0.0),
    align: Literal["centre", "left"] = "centre",
    kind: LineKind = "overlay",
    vertical: bool = False,
    heavy: float = 0.0,
    fill2: Color | None = None,
    outline: float = 0.0,
    outline_color: Color = (0, 0, 0),
    shadow: tuple[float, float, float, float] | None = None,
    opacity: float = 1.0,
) -> _Text:
    """A line whose ink is centred (or left-aligned, vertically centred) on ``at``."""
    w, h = _ink_size(text, face, px, vertical, heavy)
    x0 = at[0] - (w / 2 if align == "centre" else 0.0)
    warp = _Warp(_translate(x0, at[1] - h / 2))
    return _Text(
        text, face, px, (w, h), warp, fill, kind, style, vertical, heavy, fill2, outline,
        outline_color, shadow, opacity,
    )  # fmt: skip


@dataclass
class _Product:
    kind: str
    polys: list[F64]  # silhouette, reference px
    colors: dict[str, Color]
    geo: dict[str, float]
    quads: dict[str, F64]
    lines: list[_Text]


@dataclass
class _Plan:
    seed: int
    index: int
    background: str
    bg_color: Color
    bg_light: bool
    products: list[_Product]
    items: list[_Item]
    render_seed: int


# ----------------------------------------------------------------------------- products


_PRODUCT_COLOURS: tuple[Color, ...] = (
    (196, 28, 36), (30, 44, 88), (236, 234, 228), (128, 130, 134), (214, 160, 40),
    (36, 92, 60), (34, 34, 38), (232, 140, 160), (20, 120, 170), (250, 250, 248), (230, 90, 20),
)  # fmt: skip


def _contrast(c: Color, rng: np.random.Generator) -> Color:
    lum = 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
    if lum < 120:
        return _pick(rng, [(250, 250, 250), (255, 214, 90), (240, 240, 230)])
    return _pick(rng, [(24, 24, 28), (180, 20, 30), (20, 50, 110)])


def _fit(
    text: str, face: Face, px: float, max_w: float, max_h: float, vertical: bool = False
) -> float:
    w, h = _ink_size(text, face, px, vertical, 0.0)
    return px * min(1.0, max_w / max(w, 1e-6), max_h / max(h, 1e-6))


_TEE = np.array([
    (-0.16, -0.46), (-0.08, -0.40), (0.0, -0.385), (0.08, -0.40), (0.16, -0.46), (0.30, -0.42),
    (0.50, -0.20), (0.41, -0.07), (0.30, -0.15), (0.31, 0.48), (-0.31, 0.48), (-0.30, -0.15),
    (-0.41, -0.07), (-0.50, -0.20), (-0.30, -0.42),
], np.float64)  # fmt: skip


def _garment(rng: np.random.Generator, cx: float, cy: float, scale: float) -> _Product:
    w = rng.uniform(480, 680) * scale
    h = w * rng.uniform(0.95, 1.08)
    base = _pick(rng, _PRODUCT_COLOURS)
    stripe = _contrast(base, rng) if rng.random() < 0.5 else base
    ink = _contrast(base, rng) if stripe == base else _pick(rng, [(255, 255, 255), (20, 20, 20)])
    face = _pick_face(rng, bold=True)
    top = cy - 0.20 * h
    brand = _pick(rng, GARMENT_PRINTS)
    px = _fit(brand, face, rng.uniform(40, 84) * scale, 0.42 * w, 0.12 * h)
    wave = (
        float(rng.uniform(1.5, 4.0)),
        float(rng.uniform(180, 320)),
        float(rng.uniform(0, 2 * math.pi)),
    )
    lines = [_text(brand, face, px, ink, "garment-print", at=(cx, top), kind="product")]
    sub = _pick(rng, GARMENT_SUBLINES)
    sub_px = _fit(sub, face, rng.uniform(16, 26) * scale, 0.36 * w, 40)
    lines.append(
        _text(
            sub,
            face,
            sub_px,
            ink,
            "garment-print",
            at=(cx, top + px * 0.8 + sub_px),
            kind="product",
        )
    )
    lines = [replace(t, warp=_Warp(t.warp.h, wave=wave)) for t in lines]
    pts = _TEE * np.array([w, h]) + np.array([cx, cy])
    geo = {
        "period": float(rng.uniform(18, 48)) * scale,
        "duty": float(rng.uniform(0.3, 0.5)),
        "stripes": float(stripe != base),
    }
    geo.update(cx=cx, cy=cy, w=w, h=h)
    return _Product("garment", [pts], {"base": base, "stripe": stripe}, geo, {}, lines)


def _can(rng: np.random.Generator, cx: float, cy: float, scale: float) -> _Product:
    r = rng.uniform(110, 180) * scale
    height = r * rng.uniform(1.8, 3.0)
    e = float(rng.uniform(0.12, 0.22))
    yt, yb = cy - height / 2, cy + height / 2
    y1, y2 = yt + height * rng.uniform(0.22, 0.30), yt + height * rng.uniform(0.72, 0.82)
    body = _pick(rng, _PRODUCT_COLOURS)
    label = _pick(rng, _PRODUCT_COLOURS)
    ink = _contrast(label, rng)
    t = np.linspace(0, math.pi, 40)
    top_arc = np.stack([cx + r * np.cos(t), yt - e * r * np.sin(t)], axis=1)
    bottom_arc = np.stack([cx - r * np.cos(t), yb + e * r * np.sin(t)], axis=1)
    poly = np.r_[top_arc, bottom_arc]
    face = _pick_face(rng)
    band = y2 - y1
    brand = _pick(rng, CJK_BRANDS + LATIN_BRANDS)
    bpx = _fit(brand, face, rng.uniform(44, 96) * scale, 1.25 * r, 0.34 * band)
    spec = _pick(rng, SPEC_LINES)
    spx = _fit(spec, face, rng.uniform(16, 28) * scale, 1.2 * r, 0.12 * band)
    shift = float(rng.uniform(-0.15, 0.15)) * r
    lines = [
        _text(
            brand, face, bpx, ink, "label-curved", at=(cx + shift, y1 + 0.32 * band), kind="product"
        ),
        _text(
            spec, face, spx, ink, "label-curved", at=(cx + shift, y2 - 0.16 * band), kind="product"
        ),
    ]
    if rng.random() < 0.6:
        name = _pick(rng, PRODUCT_NAMES)
        npx = _fit(name, face, rng.uniform(20, 34) * scale, 1.2 * r, 0.14 * band)
        lines.append(
            _text(
                name,
                face,
                npx,
                ink,
                "label-curved",
                at=(cx + shift, y1 + 0.60 * band),
                kind="product",
            )
        )
    lines = [replace(ln, warp=_Warp(ln.warp.h, cylinder=(cx, r, e))) for ln in lines]
    lid = _pick(rng, [(190, 190, 196), (40, 40, 44), body])
    geo = {
        "cx": cx,
        "r": r,
        "e": e,
        "yt": yt,
        "yb": yb,
        "y1": y1,
        "y2": y2,
        "lid": height * rng.uniform(0.06, 0.14),
    }
    return _Product("can", [poly], {"body": body, "label": label, "lid": lid}, geo, {}, lines)


def _face_h(quad: F64, w: float, h: float) -> F64:
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return np.asarray(cv2.getPerspectiveTransform(src, quad.astype(np.float32)), np.float64)


def _box(rng: np.random.Generator, cx: float, cy: float, scale: float) -> _Product:
    w, h = rng.uniform(260, 400) * scale, rng.uniform(260, 440) * scale
    ang = math.radians(rng.uniform(25, 40))
    depth = rng.uniform(80, 150) * scale
    dx, dy = depth * math.cos(ang), depth * math.sin(ang)
    p = h * rng.uniform(0.0, 0.06)  # the far vertical edge is shorter: perspective
    x0, y0 = cx - (w + dx) / 2, cy - (h - dy) / 2
    x1, y1 = x0 + w, y0 + h
    front = np.array([[x0, y0], [x1, y0 + p], [x1, y1 - p], [x0, y1]], np.float64)
    side = np.array(
        [front[1], front[1] + (dx, -dy), front[2] + (dx, -dy * 0.8), front[2]], np.float64
    )
    top = np.array([front[0], front[1], front[1] + (dx, -dy), front[0] + (dx, -dy)], np.float64)
    if rng.random() < 0.5:  # side face on the left: mirror, keeping each face's corner order
        mirror = np.array([-1.0, 1.0])
        off = np.array([2 * cx, 0.0])
        front = (front * mirror + off)[[1, 0, 3, 2]]
        side = (side * mirror + off)[[1, 0, 3, 2]]
        top = (top * mirror + off)[[1, 0, 3, 2]]
    hull = cv2.convexHull(np.r_[front, side, top].astype(np.float32))
    poly = np.asarray(hull, np.float64).reshape(-1, 2)
    color = _pick(rng, _PRODUCT_COLOURS)
    accent = _pick(rng, _PRODUCT_COLOURS)
    ink = _contrast(color, rng)
    hf = _face_h(front, w, h)
    face = _pick_face(rng)
    brand = _pick(rng, CJK_BRANDS + LATIN_BRANDS)
    lines = [
        _text(
            brand,
            face,
            _fit(brand, face, rng.uniform(50, 110) * scale, 0.8 * w, 0.2 * h),
            ink,
            "box-face",
            at=(w / 2, 0.25 * h),
            kind="product",
        )
    ]
    name = _pick(rng, PRODUCT_NAMES)
    lines.append(
        _text(
            name,
            face,
            _fit(name, face, rng.uniform(24, 40) * scale, 0.75 * w, 0.1 * h),
            ink,
            "box-face",
            at=(w / 2, 0.44 * h),
            kind="product",
        )
    )
    spec = _pick(rng, SPEC_LINES)
    lines.append(
        _text(
            spec,
            face,
            _fit(spec, face, rng.uniform(14, 24) * scale, 0.7 * w, 0.06 * h),
            ink,
            "box-face",
            at=(w / 2, 0.88 * h),
            kind="product",
        )
    )
    if rng.random() < 0.5:
        latin = _pick(rng, LATIN_BRANDS)
        lines.append(
            _text(
                latin,
                face,
                _fit(latin, face, rng.uniform(18, 30) * scale, 0.6 * w, 0.07 * h),
                _contrast(accent, rng),
                "box-face",
                at=(w / 2, 0.665 * h),
                kind="product",
            )
        )
    lines = [replace(ln, warp=_Warp(hf @ ln.warp.h)) for ln in lines]
    return _Product(
        "box",
        [poly],
        {"front": color, "accent": accent},
        {"w": w, "h": h},
        {"front": front, "side": side, "top": top},
        lines,
    )


_SHOE_UPPER = np.array([
    (0.00, -0.07), (0.00, -0.22), (0.02, -0.33), (0.06, -0.37), (0.12, -0.36), (0.20, -0.31),
    (0.28, -0.33), (0.34, -0.40), (0.40, -0.39), (0.46, -0.33), (0.62, -0.26), (0.78, -0.20),
    (0.90, -0.16), (0.97, -0.12), (1.00, -0.08), (1.00, -0.07),
], np.float64)  # fmt: skip
_SHOE_TOE = np.array(
    [(0.80, -0.07), (0.82, -0.15), (0.90, -0.16), (0.97, -0.12), (1.0, -0.07)], np.float64
)
_SHOE_COLLAR = np.array(
    [(0.07, -0.36), (0.12, -0.355), (0.20, -0.30), (0.27, -0.32), (0.20, -0.335), (0.12, -0.37)],
    np.float64,
)
_SHOE_SOLE = np.array(
    [(-0.01, -0.07), (1.01, -0.07), (1.0, 0.0), (0.97, 0.025), (0.03, 0.025), (-0.01, 0.0)],
    np.float64,
)
_SHOE_STRIPE = np.array([(0.30, -0.10), (0.72, -0.23), (0.78, -0.19), (0.36, -0.075)], np.float64)


def _shoe(rng: np.random.Generator, cx: float, cy: float, scale: float) -> _Product:
    length = rng.uniform(520, 720) * scale
    flip = rng.random() < 0.5
    x0, ys = cx - length / 2, cy + 0.17 * length

    def place(pts: F64) -> F64:
        u = 1 - pts[:, 0] if flip else pts[:, 0]
        return np.stack([x0 + u * length, ys + pts[:, 1] * length], axis=1)

    upper = _pick(rng, _PRODUCT_COLOURS)
    sole = _pick(rng, [(245, 245, 240), (200, 160, 110), (30, 30, 30)])
    accent = _contrast(upper, rng)
    face = _pick_face(rng, bold=True)
    brand = _pick(rng, LATIN_BRANDS)
    px = _fit(brand, face, rng.uniform(24, 44) * scale, 0.24 * length, 0.06 * length)
    u = 0.17
    at = place(np.array([[u, -0.22]]))[0]
    ang = float(rng.uniform(3, 10)) * (1 if flip else -1)
    t = _text(brand, face, px, accent, "shoe-print", kind="product")
    lines = [replace(t, warp=t.warp.then(_translate(at[0], at[1]) @ _rotate(ang)))]
    quads = {
        "sole": place(_SHOE_SOLE),
        "stripe": place(_SHOE_STRIPE),
        "toe": place(_SHOE_TOE),
        "collar": place(_SHOE_COLLAR),
    }
    colors = {"upper": upper, "sole": sole, "accent": accent}
    polys = [place(_SHOE_UPPER), quads["sole"]]
    return _Product("shoe", polys, colors, {"length": length, "ys": ys}, quads, lines)


def _bag(rng: np.random.Generator, cx: float, cy: float, scale: float) -> _Product:
    wt = rng.uniform(300, 420) * scale
    wb = wt * rng.uniform(1.05, 1.2)
    hb = rng.uniform(300, 420) * scale
    yt = cy - hb / 2 + 40 * scale
    yb = yt + hb
    front = np.array(
        [[cx - wt / 2, yt], [cx + wt / 2, yt], [cx + wb / 2, yb], [cx - wb / 2, yb]], np.float64
    )
    polys = [front]
    rh, th = rng.uniform(50, 85) * scale, rng.uniform(9, 15) * scale
    t = np.linspace(0, math.pi, 30)
    for hx in (cx - wt / 4, cx + wt / 4):
        outer = np.stack(
            [hx + (rh + th / 2) * np.cos(t), yt + 4 - (rh + th / 2) * np.sin(t)], axis=1
        )
        inner = np.stack(
            [hx + (rh - th / 2) * np.cos(t), yt + 4 - (rh - th / 2) * np.sin(t)], axis=1
        )
        polys.append(np.r_[outer, inner[::-1]])
    color = _pick(
        rng, [(226, 208, 176), (30, 30, 32), (178, 34, 40), (40, 70, 120), (240, 238, 232)]
    )
    ink = _contrast(color, rng)
    hf = _face_h(front, wt, hb)
    face = _pick_face(rng)
    brand = _pick(rng, LATIN_BRANDS + CJK_BRANDS)
    lines = [
        _text(
            brand,
            face,
            _fit(brand, face, rng.uniform(40, 80) * scale, 0.8 * wt, 0.2 * hb),
            ink,
            "bag-print",
            at=(wt / 2, 0.4 * hb),
            kind="product",
        )
    ]
    sub = _pick(rng, PRODUCT_NAMES + GARMENT_SUBLINES)
    lines.append(
        _text(
            sub,
            face,
            _fit(sub, face, rng.uniform(18, 30) * scale, 0.7 * wt, 0.08 * hb),
            ink,
            "bag-print",
            at=(wt / 2, 0.58 * hb),
            kind="product",
        )
    )
    lines = [replace(ln, warp=_Warp(hf @ ln.warp.h)) for ln in lines]
    return _Product("bag", polys, {"body": color}, {"yt": yt, "yb": yb}, {"front": front}, lines)


_PRODUCTS: dict[str, Callable[[np.random.Generator, float, float, float], _Product]] = {
    "garment": _garment, "can": _can, "box": _box, "shoe": _shoe, "bag": _bag,
}  # fmt: skip


def _poly_grid(polys: Sequence[F64], grid: int = int(REF) // _GRID) -> Mask:
    m = np.zeros((grid, grid), np.uint8)
    cv2.fillPoly(m, [np.round(p / _GRID * 16).astype(np.int32) for p in polys], 1, cv2.LINE_8, 4)
    return m


def _plan_products(rng: np.random.Generator) -> list[_Product]:
    for _ in range(20):
        if rng.random() < 0.25:  # two smaller products side by side
            kinds = [_pick(rng, ("can", "box", "bag", "shoe")) for _ in range(2)]
            dx = rng.uniform(190, 250)
            products = [
                _PRODUCTS[k](
                    rng, 512 + sgn * dx + rng.uniform(-20, 20), 512 + rng.uniform(-40, 40), 0.62
                )
                for k, sgn in zip(kinds, (-1, 1), strict=True)
            ]
        else:
            kind = _pick(rng, tuple(_PRODUCTS))
            products = [
                _PRODUCTS[kind](rng, 512 + rng.uniform(-70, 70), 512 + rng.uniform(-50, 50), 1.0)
            ]
        pts = np.concatenate([p for prod in products for p in prod.polys])
        inside = pts.min() >= 24 and pts.max() <= REF - 24
        grids = [_poly_grid(p.polys) for p in products]
        if inside and not (len(grids) == 2 and np.any(grids[0] & grids[1])):
            return products
    raise RuntimeError("could not place the products")  # not reached with these ranges


# ----------------------------------------------------------------------------- overlays

_INKS: tuple[Color, ...] = (
    (255, 255, 255), (236, 28, 36), (255, 102, 0), (255, 215, 0), (28, 28, 28), (0, 90, 200),
    (255, 0, 90), (120, 60, 200), (0, 150, 110),
)  # fmt: skip
_GRADIENTS: tuple[tuple[Color, Color], ...] = (
    ((255, 238, 150), (226, 140, 10)), ((255, 130, 60), (214, 10, 50)),
    ((255, 255, 255), (255, 200, 110)), ((255, 90, 150), (190, 0, 80)),
    ((130, 210, 255), (20, 80, 210)), ((255, 60, 40), (140, 0, 20)),
)  # fmt: skip
_WATERMARK_INKS: tuple[Color, ...] = (
    (255, 255, 255),
    (128, 128, 128),
    (0, 0, 0),
    (220, 40, 40),
    (255, 120, 0),
)


@dataclass(frozen=True)
class _Ctx:
    bg_light: bool
    bg_color: Color
    product_color: Color


def _semi(rng: np.random.Generator, p_faint: float, p_semi: float) -> float:
    """Opaque, faint (10-35 %) or semi-transparent (40-70 %)."""
    r = rng.random()
    if r < p_faint:
        return float(rng.uniform(0.10, FAINT_OPACITY))
    if r < p_faint + p_semi:
        return float(rng.uniform(0.40, 0.70))
    return 1.0


def _ink_for(rng: np.random.Generator, ctx: _Ctx, relation: str) -> Color:
    if ctx.bg_light and relation == "beside" and rng.random() < 0.4:
        return (255, 255, 255)  # white on a light ground: real, and hard
    return _pick(rng, _INKS)


def _same_colour(c: Color, rng: np.random.Generator) -> Color:
    """A shade of ``c`` a little darker or lighter, as sellers do for tone-on-tone text."""
    k = rng.uniform(0.62, 0.8) if sum(c) > 240 else rng.uniform(1.25, 1.5)
    r, g, b = (int(min(255, max(0, v * k + (12 if k > 1 else 0)))) for v in c)
    return r, g, b


def _rounded(w: float, h: float, r: float, n: int = 8) -> F64:
    """A rounded rectangle centred on the origin."""
    r = min(r, w / 2, h / 2)
    pts = []
    for cx, cy, a0 in (
        (w / 2 - r, -h / 2 + r, -90),
        (w / 2 - r, h / 2 - r, 0),
        (-w / 2 + r, h / 2 - r, 90),
        (-w / 2 + r, -h / 2 + r, 180),
    ):
        for a in np.linspace(a0, a0 + 90, n):
            pts.append((cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))))
    return np.asarray(pts, np.float64)


def _block(
    texts: Sequence[str], face: Face, px: float, fill: Color, style: str,
    *, align: Literal["centre", "left"] = "centre", gap: float = 0.35, heavy: float = 0.0,
    opacity: float = 1.0,
) -> list[_Text]:  # fmt: skip
    """Lines stacked and centred as a block on the origin."""
    sizes = [_ink_size(t, face, px, False, heavy) for t in texts]
    total = sum(h for _, h in sizes) + gap * px * (len(texts) - 1)
    left = -max(w for w, _ in sizes) / 2
    y = -total / 2
    out = []
    for t, (_, h) in zip(texts, sizes, strict=True):
        x = left if align == "left" else 0.0
        out.append(
            _text(t, face, px, fill, style, at=(x, y + h / 2), align=align, heavy=heavy,
                  opacity=opacity)
        )  # fmt: skip
        y += h + gap * px
    return out


def _bounds(texts: Sequence[_Text]) -> tuple[float, float, float, float]:
    pts = np.concatenate([t.quad() for t in texts])
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def _item_plain(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng)
    n = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    texts = [_promo_phrase(rng) for _ in range(n)]
    px = rng.uniform(18, 90)
    op = _semi(rng, 0.25, 0.25)
    heavy = px * rng.uniform(0.02, 0.05) if rng.random() < 0.3 else 0.0
    return _Item(
        "plain-on-texture",
        _block(
            texts,
            face,
            px,
            _ink_for(rng, ctx, relation),
            "plain-on-texture",
            heavy=heavy,
            opacity=op,
        ),
        [],
    )


def _item_outlined(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=rng.random() < 0.7)
    px = rng.uniform(28, 110)
    fill = _pick(rng, _INKS)
    edge = (28, 28, 28) if sum(fill) > 380 else (255, 255, 255)
    text = _promo_phrase(rng)
    op = _semi(rng, 0.05, 0.15)
    return _Item(
        "outlined",
        [
            _text(
                text,
                face,
                px,
                fill,
                "outlined",
                outline=px * rng.uniform(0.04, 0.09),
                outline_color=edge,
                opacity=op,
            )
        ],
        [],
    )


def _item_shadowed(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng)
    px = rng.uniform(24, 100)
    text = _promo_phrase(rng)
    shadow = (
        px * rng.uniform(0.03, 0.08),
        px * rng.uniform(0.03, 0.08),
        px * rng.uniform(0.02, 0.08),
        float(rng.uniform(0.5, 0.85)),
    )
    op = _semi(rng, 0.05, 0.15)
    fill = _ink_for(rng, ctx, relation)
    return _Item(
        "shadowed", [_text(text, face, px, fill, "shadowed", shadow=shadow, opacity=op)], []
    )


def _item_gradient_text(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    px = rng.uniform(48, 140)
    c0, c1 = _pick(rng, _GRADIENTS)
    text = _pick(rng, PROMO_WORDS + PLATFORM_SLOGANS + SALES_FIXED)
    outline = px * rng.uniform(0.03, 0.06) if rng.random() < 0.5 else 0.0
    t = _text(
        text,
        face,
        px,
        c0,
        "gradient-text",
        fill2=c1,
        outline=outline,
        outline_color=(120, 20, 10),
        heavy=px * 0.02,
        opacity=_semi(rng, 0.0, 0.15),
    )
    return _Item("gradient-text", [t], [])


def _item_gradient_badge(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    px = rng.uniform(22, 60)
    n = 1 if rng.random() < 0.6 else 2
    texts = [_pick(rng, SERVICE_PROMISES + PLATFORM_SLOGANS) for _ in range(n)]
    c0, c1 = _pick(rng, _GRADIENTS)
    ink = (255, 255, 255) if sum(c1) < 450 else (150, 20, 10)
    op = _semi(rng, 0.0, 0.2)
    lines = _block(texts, face, px, ink, "gradient-badge", opacity=op)
    x0, y0, x1, y1 = _bounds(lines)
    padx, pady = px * rng.uniform(0.5, 0.9), px * rng.uniform(0.3, 0.5)
    w, h = x1 - x0 + 2 * padx, y1 - y0 + 2 * pady
    if rng.random() < 0.5:
        poly = _rounded(w, h, h / 2)  # capsule
    else:  # price tag: square on the left with a point, round corners on the right
        right = _rounded(w, h, h * 0.15)[:16]  # top-right then bottom-right corner arcs
        poly = np.r_[[(-w / 2, -h / 2)], right, [(-w / 2, h / 2), (-w / 2 - h * 0.45, 0.0)]]
    return _Item("gradient-badge", lines, [_Shape(poly, c0, c1, (0.0, 1.0), op)])


def _item_stamp(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    px = rng.uniform(26, 64)
    red = _pick(rng, [(200, 20, 30), (220, 40, 40), (180, 0, 20)])
    op = float(rng.uniform(0.45, 0.85))
    lines = _block([_pick(rng, STAMP_WORDS)], face, px, red, "stamp", opacity=op)
    x0, y0, x1, y1 = _bounds(lines)
    w, h = x1 - x0 + px * 0.9, y1 - y0 + px * 0.7
    thick = px * rng.uniform(0.06, 0.12)
    shapes = [_Shape(_rounded(w, h, px * 0.12), red, opacity=op, thickness=thick)]
    if rng.random() < 0.5:
        shapes.append(
            _Shape(
                _rounded(w + 3 * thick, h + 3 * thick, px * 0.18),
                red,
                opacity=op,
                thickness=thick * 0.5,
            )
        )
    return _Item("stamp", lines, shapes)


def _item_contact(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=False)
    px = rng.uniform(12, 24)
    makers: list[Callable[[np.random.Generator], str]] = [
        _phone,
        _wechat,
        _url,
        lambda r: _pick(r, SHOP_NAMES),
    ]
    order = rng.permutation(len(makers))[: int(rng.integers(2, 5))]
    texts = [makers[int(i)](rng) for i in order]
    op = _semi(rng, 0.15, 0.3)
    ink = _ink_for(rng, ctx, relation)
    lines = _block(texts, face, px, ink, "contact-block", align="left", gap=0.5, opacity=op)
    shapes = []
    if rng.random() < 0.4:
        x0, y0, x1, y1 = _bounds(lines)
        back = (0, 0, 0) if sum(ink) > 380 else (255, 255, 255)
        w, h = x1 - x0 + px, y1 - y0 + px
        shapes.append(
            _Shape(
                _rounded(w, h, px * 0.3) + np.array([(x0 + x1) / 2, (y0 + y1) / 2]),
                back,
                opacity=float(rng.uniform(0.3, 0.55)),
            )
        )
    return _Item("contact-block", lines, shapes)


def _item_price(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    big = rng.uniform(60, 150)
    small = big * rng.uniform(0.3, 0.45)
    ink = _pick(rng, [(236, 28, 36), (255, 80, 0), (255, 215, 0), (255, 255, 255)])
    value = _price_value(rng)
    number = _pick(rng, [f"¥{value}", f"{value}元", f"¥{value}起"])
    op = _semi(rng, 0.0, 0.15)
    label = _text(_pick(rng, PRICE_LABELS_HO), face, small, ink, "price-block", opacity=op)
    num = _text(
        number,
        face,
        big,
        ink,
        "price-block",
        heavy=big * 0.02,
        opacity=op,
        fill2=_pick(rng, [ink, (180, 0, 20)]),
    )
    lh, nh = label.ink[1], num.ink[1]
    label = replace(label, warp=label.warp.then(_translate(0, -(nh / 2 + small * 0.3))))
    num = replace(num, warp=num.warp.then(_translate(0, lh / 2)))
    shapes = []
    if rng.random() < 0.5:  # an underline bar
        w = num.ink[0] * 1.05
        y = lh / 2 + nh / 2 + big * 0.12
        shapes.append(
            _Shape(
                np.array(
                    [[-w / 2, y], [w / 2, y], [w / 2, y + big * 0.06], [-w / 2, y + big * 0.06]]
                ),
                ink,
                opacity=op,
            )
        )
    return _Item("price-block", [label, num], shapes)


def _item_same_colour(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    px = rng.uniform(30, 90)
    base = ctx.product_color if relation == "on" else ctx.bg_color
    return _Item(
        "same-colour",
        [
            _text(
                _promo_phrase(rng),
                face,
                px,
                _same_colour(base, rng),
                "same-colour",
                heavy=px * 0.015,
            )
        ],
        [],
    )


def _item_vertical(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng)
    px = rng.uniform(24, 60)
    text = _pick(
        rng, [p for p in SERVICE_PROMISES + PROMO_WORDS if p.isalpha() and not p.isascii()]
    )
    op = _semi(rng, 0.1, 0.15)
    shapes = []
    ink = _ink_for(rng, ctx, relation)
    t = _text(text, face, px, ink, "vertical", vertical=True, opacity=op)
    if rng.random() < 0.5:
        c0, c1 = _pick(rng, _GRADIENTS)
        ink = (255, 255, 255) if sum(c1) < 450 else (150, 20, 10)
        t = replace(t, fill=ink)
        w, h = t.ink[0] + px * 0.6, t.ink[1] + px * 0.8
        shapes.append(_Shape(_rounded(w, h, w / 2), c0, c1, (0.0, 1.0), op))
    return _Item("vertical", [t], shapes)


def _item_strip(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng, bold=True)
    px = rng.uniform(22, 40)
    band_h = px * rng.uniform(1.7, 2.2)
    back = _pick(rng, [(0, 0, 0), (200, 16, 30), (255, 90, 0)])
    texts = [_sales(rng), _pick(rng, SERVICE_PROMISES)]
    sep = _pick(rng, ["  ·  ", "｜", "   "])
    ink = _pick(rng, [(255, 255, 255), (255, 220, 80)])
    line = _text(sep.join(texts), face, px, ink, "sales-strip")
    poly = np.array(
        [[-700, -band_h / 2], [700, -band_h / 2], [700, band_h / 2], [-700, band_h / 2]], np.float64
    )
    return _Item(
        "sales-strip",
        [line],
        [_Shape(poly, back, opacity=float(rng.uniform(0.35, 0.65)), may_clip=True)],
    )


def _item_watermark(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    face = _pick_face(rng)
    px = rng.uniform(60, 160)
    text = _pick(rng, SHOP_NAMES + PLATFORM_SLOGANS)
    op = float(rng.uniform(0.10, 0.45))
    lines = [_text(text, face, px, _pick(rng, _WATERMARK_INKS), "watermark-center", opacity=op)]
    if rng.random() < 0.3:
        lines = _block(
            [text, _url(rng)], face, px * 0.6, lines[0].fill, "watermark-center", opacity=op
        )
    return _Item("watermark-center", lines, [])


def _item_faint(rng: np.random.Generator, ctx: _Ctx, relation: str) -> _Item:
    """One faint line (10-35 %): a shop name, slogan or contact a seller barely wants seen."""
    face = _pick_face(rng)
    px = rng.uniform(24, 100)
    text = _pick(
        rng,
        [
            _pick(rng, SHOP_NAMES),
            _pick(rng, PLATFORM_SLOGANS),
            _url(rng),
            _wechat(rng),
            _promo_phrase(rng),
        ],
    )
    op = float(rng.uniform(0.10, FAINT_OPACITY))
    return _Item(
        "faint-line",
        [_text(text, face, px, _ink_for(rng, ctx, relation), "faint-line", opacity=op)],
        [],
    )


_STYLE_WEIGHTS: tuple[tuple[Callable[[np.random.Generator, _Ctx, str], _Item], float], ...] = (
    (_item_plain, 3.0), (_item_outlined, 1.5), (_item_shadowed, 1.5), (_item_gradient_text, 1.2),
    (_item_gradient_badge, 1.5), (_item_stamp, 0.8), (_item_contact, 1.2), (_item_price, 1.2),
    (_item_same_colour, 1.0), (_item_vertical, 0.8), (_item_strip, 0.6), (_item_watermark, 1.3),
    (_item_faint, 1.5),
)  # fmt: skip
_ONCE = ("sales-strip", "watermark-center", "price-block")  # at most one of each per image


def _tiles(rng: np.random.Generator) -> _Item:
    """A tiled watermark over the whole image: one store / platform name on a rotated grid."""
    face = _pick_face(rng)
    px = rng.uniform(20, 52)
    op = float(rng.uniform(0.10, 0.38))
    ink = _pick(rng, _WATERMARK_INKS)
    texts = [_pick(rng, SHOP_NAMES + PLATFORM_SLOGANS)]
    if rng.random() < 0.35:
        texts.append(_pick(rng, [_url(rng), _wechat(rng), _phone(rng)]))
    tile = _block(texts, face, px, ink, "watermark-tile", opacity=op)
    x0, y0, x1, y1 = _bounds(tile)
    angle = 0.0 if rng.random() < 0.2 else float(rng.uniform(15, 40) * rng.choice([-1, 1]))
    # Sparse, as on real listings: a dozen or so whole tiles, not a carpet of them.
    step_x = max((x1 - x0) * rng.uniform(1.5, 2.3), rng.uniform(240, 340))
    step_y = max((y1 - y0) * rng.uniform(2.5, 4.5), rng.uniform(150, 240))
    stagger = rng.random() < 0.6
    rot = _rotate(angle)
    out: list[_Text] = []
    n = int(REF * 1.5 / min(step_x, step_y)) + 2
    for j in range(-n, n + 1):
        for i in range(-n, n + 1):
            gx = i * step_x + (step_x / 2 if stagger and j % 2 else 0.0)
            p = rot @ np.array([gx, j * step_y, 1.0])
            cx, cy = REF / 2 + p[0], REF / 2 + p[1]
            if not (-0.15 * REF < cx < 1.15 * REF and -0.15 * REF < cy < 1.15 * REF):
                continue
            a = _translate(cx, cy) @ rot
            for t in tile:
                moved = replace(t, warp=t.warp.then(a))
                q = moved.quad()
                out.append(replace(moved, listed=bool(q.min() >= 2 and q.max() <= REF - 2)))
    return _Item("watermark-tile", out, [])


def _footprint(item: _Item, margin: int) -> Mask:
    g = int(REF) // _GRID
    m = np.zeros((g, g), np.uint8)
    polys = [t.quad() for t in item.texts] + [s.poly for s in item.shapes]
    cv2.fillPoly(m, [np.round(p / _GRID * 16).astype(np.int32) for p in polys], 1, cv2.LINE_8, 4)
    for s in item.shapes:
        if s.thickness:
            cv2.polylines(
                m,
                [np.round(s.poly / _GRID).astype(np.int32)],
                True,
                1,
                max(1, round(s.thickness / _GRID)),
            )
    if margin:
        m = np.asarray(cv2.dilate(m, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)), np.uint8)
    return m


def _on_product(quad: Quad, product: Mask) -> bool:
    m = np.zeros_like(product)
    cv2.fillPoly(m, [np.round(quad / _GRID * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    area = int(m.sum())
    return area > 0 and int((m & product).sum()) >= 0.5 * area


def _anchor(rng: np.random.Generator, relation: str, product: Mask) -> tuple[float, float] | None:
    """A point on the product, clear of it, or on its silhouette (reference px)."""
    k = np.ones((3, 3), np.uint8)
    if relation == "on":
        region = cv2.erode(product, k, iterations=4)
    elif relation == "beside":
        region = 1 - np.asarray(cv2.dilate(product, k, iterations=6), np.uint8)
    else:
        region = product - np.asarray(cv2.erode(product, k), np.uint8)
    ys, xs = np.nonzero(region)
    if xs.size == 0:
        return None
    i = int(rng.integers(xs.size))
    return (float(xs[i]) + rng.random()) * _GRID, (float(ys[i]) + rng.random()) * _GRID


def _plan_overlays(rng: np.random.Generator, products: list[_Product], ctx: _Ctx) -> list[_Item]:
    product = np.zeros((int(REF) // _GRID,) * 2, np.uint8)
    for p in products:
        product |= _poly_grid(p.polys)
    occupied = _footprint(_Item("", [ln for p in products for ln in p.lines], []), 3)
    n = int(rng.integers(3, 8))
    items: list[_Item] = []
    tiles = rng.random() < 0.4
    makers = [m for m, _ in _STYLE_WEIGHTS]
    weights = np.array([w for _, w in _STYLE_WEIGHTS])
    tries = 0
    while len(items) < n - int(tiles) and tries < 60:
        tries += 1
        relation = str(rng.choice(["on", "beside", "cross"], p=[0.4, 0.35, 0.25]))
        item = makers[int(rng.choice(len(makers), p=weights / weights.sum()))](rng, ctx, relation)
        if item.style in _ONCE and any(it.style == item.style for it in items):
            continue
        for _ in range(15):
            if item.style == "sales-strip":
                _, y0, _, y1 = _bounds(item.texts)
                half = max(y1 - y0, float(np.ptp(item.shapes[0].poly[:, 1]))) / 2
                a = _translate(REF / 2, half if rng.random() < 0.5 else REF - half)
            else:
                at = _anchor(rng, relation, product)
                if at is None:
                    break
                angle = 0.0
                if item.style == "stamp":
                    angle = float(rng.uniform(8, 25) * rng.choice([-1, 1]))
                elif item.style not in ("contact-block", "vertical") and rng.random() < 0.35:
                    angle = float(rng.uniform(-25, 25))
                a = _translate(*at) @ _rotate(angle)
            moved = item.moved(a)
            quads = [t.quad() for t in moved.texts]
            if any(q.min() < 2 or q.max() > REF - 2 for q in quads):
                continue
            if any(
                not s.may_clip and (s.poly.min() < 0 or s.poly.max() > REF) for s in moved.shapes
            ):
                continue
            fp = _footprint(moved, 0)
            if item.style != "watermark-center" and np.any(fp & occupied):
                continue
            if item.style != "watermark-center":
                occupied |= _footprint(moved, 3)
            items.append(moved)
            break
    # Watermarks go on top of everything, as sellers add them last.
    items.sort(key=lambda it: it.style == "watermark-center")
    if tiles:
        items.append(_tiles(rng))
    return [
        _Item(
            it.style,
            [replace(t, on_product=_on_product(t.quad(), product)) for t in it.texts],
            it.shapes,
        )
        for it in items
    ]


_BACKGROUNDS = ("asphalt", "wood", "linen", "paper", "studio")


def _plan(index: int, seed: int) -> _Plan:
    if index < 0:
        raise ValueError(f"held-out case index must be >= 0, got {index}")
    rng = np.random.default_rng([seed, index])
    background = _pick(rng, _BACKGROUNDS)
    if background == "asphalt":
        grey = int(rng.integers(70, 115))
        r, g, b = (grey + int(d) for d in rng.integers(-6, 7, 3))
        bg_color: Color = (r, g, b)
    elif background == "wood":
        bg_color = _pick(rng, [(150, 104, 62), (186, 140, 92), (110, 70, 40), (205, 170, 120)])
    elif background == "linen":
        bg_color = _pick(
            rng, [(214, 204, 186), (170, 180, 190), (120, 40, 50), (60, 80, 70), (236, 230, 220)]
        )
    elif background == "paper":
        bg_color = _pick(rng, [(242, 240, 234), (248, 246, 242), (196, 164, 122), (236, 232, 222)])
    else:
        bg_color = _pick(
            rng, [(244, 244, 246), (236, 238, 242), (250, 232, 224), (220, 236, 246), (60, 64, 72)]
        )
    bg_light = sum(bg_color) > 600
    products = _plan_products(rng)
    for p in products:  # the print is on the product by construction
        p.lines = [replace(ln, on_product=True) for ln in p.lines]
    pc = products[0].colors
    ctx = _Ctx(
        bg_light,
        bg_color,
        pc.get("base", pc.get("body", pc.get("front", pc.get("upper", (128, 128, 128))))),
    )
    items = _plan_overlays(rng, products, ctx)
    return _Plan(
        seed, index, background, bg_color, bg_light, products, items, int(rng.integers(2**31))
    )


# ----------------------------------------------------------------------------- rendering


def _noise(
    rng: np.random.Generator, h: int, w: int, cell: float, stretch: tuple[float, float] = (1.0, 1.0)
) -> F32:
    """Smooth unit-variance noise with features about ``cell`` px (``stretch`` scales x, y)."""
    gh = max(2, int(h / (cell * stretch[1])) + 3)
    gw = max(2, int(w / (cell * stretch[0])) + 3)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    big = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    return np.asarray((big - big.mean()) / (big.std() + 1e-6), np.float32)


def _background(plan: _Plan, s: int, rng: np.random.Generator) -> F32:
    f = s / REF
    base = np.asarray(plan.bg_color, np.float32)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    kind = plan.background
    if kind == "asphalt":
        grain = np.asarray(
            cv2.GaussianBlur(
                rng.standard_normal((s, s)).astype(np.float32), (0, 0), max(0.5, 0.9 * f)
            ),
            np.float32,
        )
        stones = (rng.random((s, s)) > 0.985).astype(np.float32)
        stones = np.asarray(cv2.GaussianBlur(stones, (0, 0), max(0.5, 1.2 * f)), np.float32)
        tone = 1 + 0.06 * _noise(rng, s, s, 140 * f) + 0.25 * grain + 0.9 * stones - 0.03
        img = base[None, None, :] * tone[..., None]
    elif kind == "wood":
        plank = rng.uniform(110, 200) * f
        row = np.floor(yy * s / plank)
        offsets = rng.uniform(-0.1, 0.1, int(s / plank) + 2).astype(np.float32)
        grain_phase = _noise(rng, s, s, 60 * f, (6.0, 1.0)) * 1.8
        rings = np.sin(2 * math.pi * yy * s / (rng.uniform(9, 18) * f) + grain_phase)
        tone = (
            1
            + 0.07 * rings
            + offsets[row.astype(np.int32)]
            + 0.04 * _noise(rng, s, s, 20 * f, (8.0, 1.0))
        )
        seam = np.abs((yy * s / plank) - np.round(yy * s / plank)) * plank < max(1.0, 1.5 * f)
        tone = np.where(seam, tone * 0.55, tone)
        img = base[None, None, :] * tone[..., None]
    elif kind == "linen":
        p = rng.uniform(4, 7) * f
        weave = np.sin(2 * math.pi * xx * s / p) * np.sin(2 * math.pi * yy * s / p)
        # Slubs: threads a little thicker or darker over a few periods, along warp and weft.
        slub = _noise(rng, s, s, p, (10.0, 1.0)) + _noise(rng, s, s, p, (1.0, 10.0))
        tone = 1 + 0.04 * weave + 0.02 * slub + 0.025 * _noise(rng, s, s, 300 * f)
        img = base[None, None, :] * tone[..., None]
    elif kind == "paper":
        fibres = _noise(rng, s, s, 6 * f, (5.0, 1.0))
        tone = (
            1
            + 0.012 * fibres
            + 0.02 * _noise(rng, s, s, 250 * f)
            - 0.05 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
        )
        img = base[None, None, :] * tone[..., None]
    else:  # studio sweep: lighter wall above, floor curving away below
        sweep = (
            1.02 - 0.12 * np.clip((yy - 0.55) / 0.45, 0, 1) ** 1.5 - 0.06 * ((xx - 0.5) ** 2) * 4
        )
        img = base[None, None, :] * sweep[..., None]
    return np.asarray(np.clip(img, 0, 255), np.float32)


def _coverage(polys: Sequence[F64], s: int, f: float) -> F32:
    m = np.zeros((s, s), np.uint8)
    cv2.fillPoly(m, [np.round(p * f * 16).astype(np.int32) for p in polys], 255, cv2.LINE_AA, 4)
    return (m.astype(np.float32) / 255.0).astype(np.float32)


def _render_product(
    img: F32, prod: _Product, f: float, rng: np.random.Generator
) -> tuple[F32, list[Mask]]:
    """Composites ``prod`` and its contact shadow onto ``img``; returns its alpha, print glyphs."""
    s = img.shape[0]
    alpha = _coverage(prod.polys, s, f)
    ys, xs = np.nonzero(alpha)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    # Contact shadow on the ground, under the product's foot.
    width = (x1 - x0) * 0.5
    shadow = np.zeros((s, s), np.float32)
    cv2.ellipse(
        shadow,
        (int((x0 + x1) / 2), int(y1 - 2)),
        (int(width), max(1, int(width * 0.1))),
        0,
        0,
        360,
        1.0,
        -1,
    )
    shadow = np.asarray(cv2.GaussianBlur(shadow, (0, 0), max(1.0, width * 0.12)), np.float32)
    img *= (1 - 0.45 * shadow)[..., None]

    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    albedo = np.zeros_like(img)
    shade = np.ones((s, s), np.float32)
    c = {k: np.asarray(v, np.float32) for k, v in prod.colors.items()}
    g = prod.geo
    if prod.kind == "garment":
        albedo[:] = c["base"]
        if g["stripes"]:
            phase = (yy / f + 3 * np.sin(xx / f / 80)) / g["period"]
            albedo[(phase % 1) < g["duty"]] = c["stripe"]
        folds = 0.06 * _noise(rng, s, s, 90 * f, (0.4, 1.0)) + 0.03 * _noise(rng, s, s, 25 * f)
        edge = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 18 * f), np.float32)
        shade = (0.9 + folds + 0.1 * edge).astype(np.float32)
    elif prod.kind == "can":
        sx = np.clip((xx / f - g["cx"]) / g["r"], -1, 1)
        th = np.arcsin(sx)
        yn = yy / f - g["e"] * g["r"] * np.cos(th)  # the height on the can, rims unbent
        albedo[:] = c["body"]
        albedo[(yn >= g["y1"]) & (yn <= g["y2"])] = c["label"]
        albedo[yn < g["yt"] + g["lid"]] = c["lid"]
        light = float(rng.uniform(-0.7, 0.4))
        shade = (
            0.45
            + 0.6 * np.maximum(0, np.cos(th - light))
            + 0.35 * np.exp(-(((th - light - 0.25) / 0.09) ** 2))
        ).astype(np.float32)
        top = ((xx / f - g["cx"]) / g["r"]) ** 2 + (
            (yy / f - g["yt"]) / (g["e"] * g["r"])
        ) ** 2 <= 1
        albedo[top] = c["lid"] * 1.1
        shade[top] = 1.0
    elif prod.kind == "box":
        for name, k in (("front", 1.0), ("side", 0.7), ("top", 1.12)):
            m = _coverage([prod.quads[name]], s, f) > 0.5
            albedo[m] = c["front"]
            shade[m] = k
        hf = _Warp(_face_h(prod.quads["front"], g["w"], g["h"]))
        band_rect = np.array([[0, 0.58], [1, 0.58], [1, 0.75], [0, 0.75]]) * (g["w"], g["h"])
        band = _coverage([hf.forward(band_rect)], s, f)
        albedo = albedo * (1 - band[..., None]) + c["accent"] * band[..., None]
        shade = shade * (1 - 0.05 * (xx - x0) / max(1, x1 - x0))
    elif prod.kind == "shoe":
        albedo[:] = c["upper"]
        sole = _coverage([prod.quads["sole"]], s, f)
        stripe = _coverage([prod.quads["stripe"]], s, f)
        albedo = albedo * (1 - sole[..., None]) + c["sole"] * sole[..., None]
        albedo = albedo * (1 - stripe[..., None]) + c["accent"] * stripe[..., None]
        for part, k in (("toe", 0.85), ("collar", 0.35)):
            cover = _coverage([prod.quads[part]], s, f)[..., None]
            albedo = albedo * (1 - cover * (1 - k))
        shade = (
            1.05 - 0.2 * (yy - y0) / max(1, y1 - y0) + 0.04 * _noise(rng, s, s, 30 * f)
        ).astype(np.float32)
    else:  # bag
        albedo[:] = c["body"]
        front = _coverage([prod.quads["front"]], s, f)
        shade = (
            0.78
            + 0.22 * front
            + 0.03 * _noise(rng, s, s, 4 * f)
            + 0.05 * _noise(rng, s, s, 120 * f)
        ).astype(np.float32)
    glyphs = [_draw_text(albedo, ln, f) for ln in prod.lines]
    color = np.clip(albedo * shade[..., None], 0, 255)
    img[:] = img * (1 - alpha[..., None]) + color * alpha[..., None]
    return alpha, glyphs


def _draw_text(img: F32, t: _Text, f: float) -> Mask:
    """Composites ``t`` onto ``img`` in place; returns its glyph mask (fill coverage >= 0.5)."""
    s_h, s_w = img.shape[:2]
    k = f * _SS
    heavy = round(t.heavy * k)
    outline = max(1, round(t.outline * k)) if t.outline > 0 else 0
    r = _raster(t.text, t.face, max(1, round(t.px * k)), t.vertical, heavy, outline)
    ink_w, ink_h = t.ink
    pad_ref = r.pad / (r.ink_w / max(ink_w, 1e-6))
    border = t.warp.forward(_rect_border(ink_w, ink_h, pad_ref)) * f
    extra = 2.0
    if t.shadow is not None:
        extra += (abs(t.shadow[0]) + abs(t.shadow[1]) + 3 * t.shadow[2]) * f
    x0, y0 = (int(max(0, math.floor(v - extra))) for v in border.min(axis=0))
    x1 = int(min(s_w, math.ceil(border[:, 0].max() + extra)))
    y1 = int(min(s_h, math.ceil(border[:, 1].max() + extra)))
    glyph = np.zeros((s_h, s_w), np.uint8)
    if x1 <= x0 or y1 <= y0:
        return glyph
    w, h = x1 - x0, y1 - y0

    def sample(scale: int) -> tuple[F64, F64]:
        gx = (x0 + (np.arange(w * scale) + 0.5) / scale) / f
        gy = (y0 + (np.arange(h * scale) + 0.5) / scale) / f
        return t.warp.inverse(*np.meshgrid(gx, gy))

    u, v = sample(_SS)
    mx = np.nan_to_num(u * (r.ink_w / ink_w) + r.pad - 0.5, nan=-1e4).astype(np.float32)
    my = np.nan_to_num(v * (r.ink_h / ink_h) + r.pad - 0.5, nan=-1e4).astype(np.float32)

    def warp(cov: F32) -> F32:
        hi = cv2.remap(cov, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return np.asarray(cv2.resize(hi, (w, h), interpolation=cv2.INTER_AREA), np.float32)

    fill = warp(r.fill)
    edge = warp(r.outline) if r.outline is not None else None
    win = img[y0:y1, x0:x1]
    op = t.opacity
    if t.shadow is not None:
        dx, dy, blur, strength = t.shadow
        base = edge if edge is not None else fill
        moved = cv2.warpAffine(base, np.array([[1, 0, dx * f], [0, 1, dy * f]], np.float32), (w, h))
        sh = (
            np.asarray(cv2.GaussianBlur(moved, (0, 0), max(0.3, blur * f)), np.float32)
            * strength
            * op
        )
        win *= (1 - sh)[..., None]
    if edge is not None:
        a = (edge * op)[..., None]
        win[...] = win * (1 - a) + np.asarray(t.outline_color, np.float32) * a
    if t.fill2 is not None:
        _, v1 = sample(1)
        tt = np.clip(np.nan_to_num(v1 / ink_h), 0, 1).astype(np.float32)[..., None]
        color = np.asarray(t.fill, np.float32) * (1 - tt) + np.asarray(t.fill2, np.float32) * tt
    else:
        color = np.broadcast_to(np.asarray(t.fill, np.float32), (h, w, 3))
    a = (fill * op)[..., None]
    win[...] = win * (1 - a) + color * a
    glyph[y0:y1, x0:x1][fill >= 0.5] = 255
    return glyph


def _draw_shape(img: F32, sh: _Shape, f: float) -> None:
    s = img.shape[0]
    pts = sh.poly * f
    pad = sh.thickness * f + 2
    x0, y0 = (int(max(0, math.floor(v - pad))) for v in pts.min(axis=0))
    x1, y1 = (int(min(s, math.ceil(v + pad))) for v in pts.max(axis=0))
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = np.round((pts - (x0, y0)) * 16).astype(np.int32)
    if sh.thickness > 0:
        cv2.polylines(m, [local], True, 255, max(1, round(sh.thickness * f)), cv2.LINE_AA, 4)
    else:
        cv2.fillPoly(m, [local], 255, cv2.LINE_AA, 4)
    a = (m.astype(np.float32) / 255.0 * sh.opacity)[..., None]
    if sh.c1 is not None:
        proj = pts @ np.asarray(sh.axis)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        t = np.clip(
            (xx * sh.axis[0] + yy * sh.axis[1] - proj.min()) / max(1e-6, np.ptp(proj)), 0, 1
        )[..., None]
        color = np.asarray(sh.c0, np.float32) * (1 - t) + np.asarray(sh.c1, np.float32) * t
    else:
        color = np.broadcast_to(np.asarray(sh.c0, np.float32), (y1 - y0, x1 - x0, 3))
    win = img[y0:y1, x0:x1]
    win[...] = win * (1 - a) + color * a


def _line(t: _Text, glyphs: Mask, f: float) -> HeldoutLine:
    return HeldoutLine(
        t.quad() * f, t.text, t.kind, t.style, round(t.opacity, 4), t.on_product, glyphs
    )


def _render(plan: _Plan, size: int) -> HeldoutCase:
    if size < 64:
        raise ValueError(f"held-out case size must be >= 64 px, got {size}")
    f = size / REF
    rng = np.random.default_rng([plan.render_seed, size])
    img = _background(plan, size, rng)
    alpha = np.zeros((size, size), np.float32)
    lines: list[HeldoutLine] = []
    for prod in plan.products:
        a, glyphs = _render_product(img, prod, f, rng)
        alpha = np.maximum(alpha, a)
        lines.extend(_line(t, g, f) for t, g in zip(prod.lines, glyphs, strict=True))
    # The camera: a touch of lens blur and sensor noise, before any overlay is added.
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), 0.55 * max(f, 0.5)), np.float32)
    img += rng.normal(0, 1.6, img.shape).astype(np.float32)
    clean = np.clip(img, 0, 255).round().astype(np.uint8)
    work = clean.astype(np.float32)
    for item in plan.items:
        for sh in item.shapes:
            _draw_shape(work, sh, f)
        for t in item.texts:
            g = _draw_text(work, t, f)
            if t.listed:
                lines.append(_line(t, g, f))
    image = np.clip(work, 0, 255).round().astype(np.uint8)
    return HeldoutCase(
        image=image,
        clean=clean,
        overlay_mask=changed_mask(image, clean),
        lines=lines,
        product_mask=np.where(alpha >= 0.5, 255, 0).astype(np.uint8),
        seed=plan.seed,
        source="heldout-procedural",
    )


# ----------------------------------------------------------------------------- API


def heldout_case(index: int, size: int = 1024, seed: int = HELDOUT_SEED) -> HeldoutCase:
    """Held-out case ``index``: deterministic in ``(index, size, seed)`` and the fonts installed."""
    return _render(_plan(index, seed), size)


def heldout_cases(
    n: int = HELDOUT_N, size: int = 1024, seed: int = HELDOUT_SEED
) -> Iterator[HeldoutCase]:
    for index in range(n):
        yield heldout_case(index, size, seed)


def summary(cases: Sequence[HeldoutCase] | Iterator[HeldoutCase]) -> dict[str, object]:
    """Counts over ``cases``: images, overlay lines (faint, on the product, by style), product."""
    images = overlay = faint = faint_untiled = product = on_product = 0
    styles: dict[str, int] = {}
    opacities: list[float] = []
    for case in cases:
        images += 1
        for line in case.lines:
            if line.kind == "product":
                product += 1
                continue
            overlay += 1
            styles[line.style] = styles.get(line.style, 0) + 1
            opacities.append(line.opacity)
            faint += line.opacity <= FAINT_OPACITY
            faint_untiled += line.opacity <= FAINT_OPACITY and line.style != "watermark-tile"
            on_product += line.on_product
    return {
        "images": images,
        "overlay_lines": overlay,
        "faint_lines": faint,
        "faint_lines_not_tiled": faint_untiled,
        "product_lines": product,
        "overlay_lines_on_product": on_product,
        "semi_transparent_lines": sum(o < 1.0 for o in opacities),
        "min_opacity": min(opacities, default=1.0),
        "by_style": dict(sorted(styles.items())),
    }


def _main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description="The held-out (test split) synthetic overlay set: counts, and PNGs to look at."
    )
    ap.add_argument("--n", type=int, default=HELDOUT_N)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=HELDOUT_SEED)
    ap.add_argument("--out", type=Path, help="write <i>.png, <i>_clean.png and lines.json here")
    args = ap.parse_args(argv)
    cases = []
    for i, case in enumerate(heldout_cases(args.n, args.size, args.seed)):
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.out / f"{i:03d}.png"), cv2.cvtColor(case.image, cv2.COLOR_RGB2BGR))
            cv2.imwrite(
                str(args.out / f"{i:03d}_clean.png"), cv2.cvtColor(case.clean, cv2.COLOR_RGB2BGR)
            )
        # Keep only what the counts need: 64 full-size cases with every glyph mask do not fit.
        cases.append(HeldoutCase(case.image[:1, :1], case.clean[:1, :1], case.overlay_mask[:1, :1],
                                 [replace(ln, glyphs=ln.glyphs[:1, :1]) for ln in case.lines],
                                 case.product_mask[:1, :1], case.seed, case.source))  # fmt: skip
    if args.out is not None:
        rows = [
            {"case": i, "text": ln.text, "kind": ln.kind, "style": ln.style, "opacity": ln.opacity,
             "on_product": ln.on_product, "box": np.round(ln.box, 1).tolist()}
            for i, c in enumerate(cases) for ln in c.lines
        ]  # fmt: skip
        body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)  # a line a row
        (args.out / "lines.json").write_text(f"[\n{body}\n]\n")
    print(json.dumps(summary(cases), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    _main()

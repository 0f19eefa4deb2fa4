"""Overlay vs product vs scene: which detected text lines were added on top of the photo.

Marketing overlays (badges, banners, price tags, watermarks, shop stamps) are rendered onto the
finished photo; product text was printed on the object and then photographed; scene text stands
in the photographed world. Every line gets measurable cues, each scaled to ``[0, 1]`` (or
``[-1, 1]`` where it can argue both ways), and a logistic of their weighted sum is the score:

    overlay_score = sigmoid(BIAS + sum(CUE_WEIGHTS[c] * cues[c]))

The decision is asymmetric (erasing a product's print is a defect, a missed overlay a
nuisance): a line is an overlay (erased) from ``ERASE_AT`` up, unless it shows strong
product-print evidence (``surface``: the same text on other units of the product, a bent
baseline) and stays under ``SURE_AT``. A line not erased with a score of ``UNSURE_AT`` or more
is kept but ``uncertain`` (``TextAction.KEPT_UNCERTAIN``: offered as a one-click erase).
Otherwise the line is product text when most of it lies on the product mask, scene text when it
does not. Every cue (and the raw measurements behind them) is returned with the decision, so a
wrong call can be traced to the cue that caused it. A cue that cannot be measured (glyphs too
small, no contrast) is left out and counts as neutral.

The weights are a logistic-regression refit (rounded to 0.5) on the labelled real photos in
``bench/labels`` plus synthetic tuning cases (``bench.synthetic``, seeds 0-29); the product
cues and thresholds were set on the tune split only (``python -m bench.classifier_fit``);
``services/ocr/README.md`` gives the measured accuracy and the known failure modes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.schemas import LineDecision, TextKind, TextLine
from globalpic_ocr.surface import Blobs, LineGeometry, surface_cues, warp_cue

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
Quad = npt.NDArray[np.float64]


# Evidence weights: positive = "rendered on top", negative = "photographed".
BIAS = -4.0
CUE_WEIGHTS: dict[str, float] = {
    # Where the line is.
    "off_product": 1.5,  # [-1, 1]: all on the product -1, all off it +1 (scaled by mask trust)
    "crosses_product": 1.0,  # straddles the product outline: not printed on it
    "near_border": 2.0,  # within 6% of the image side from an edge or corner
    "large": 2.5,  # glyphs 4-10% of the image side or more: a headline
    # How it was rendered.
    "crispness": 3.5,  # [-1, 1]: 1 px anti-aliased edges +1, edges blurred over 2.5 px -1
    "flat_backing": 1.5,  # the backing between glyphs is one flat colour (badge / banner)
    "flat_glyphs": 1.5,  # glyph interiors are one flat colour (font fill)
    "outline": 0.5,  # outline / glow / shadow ring (packaging prints outlines too: weak)
    "transparency": 0.5,  # glyphs = blend of one colour and the backing (watermark): weak
    "promo_colour": 2.5,  # saturated red / orange / yellow glyphs or backing
    # How it sits in the frame.
    "axis_aligned": 0.0,  # exactly level: reported only (level product shots are as common)
    "skew": -2.5,  # tilted a few degrees, or like other lines: a hand-held photo
    "lone_tilt": 1.0,  # tilted steeply, unlike the other lines: a designer's rotated sticker
    "perspective": -2.0,  # quad not a rectangle: a photographed plane
    # What it says.
    "promo_words": 3.5,  # promo vocabulary, a price or contact details (weak alone)
    "repetition": 1.5,  # the same text at the same size and angle elsewhere (tiled watermark)
    # Product-print evidence (``surface``): the line carries the product's structure.
    "label_block": -1.0,  # several lines of one label layout on the same product blob
    "unit_repeat": -2.5,  # the same text on other units of the product (not a tile grid)
    "follows_product": -1.5,  # tilted exactly like the product blob under it
    "warped": -1.5,  # the baseline bends along the line (print on a curved surface)
    "inside_product": -1.0,  # well inside the product outline (a glyph height of product round)
}
# The asymmetric decision: erasing a product's print is a defect, a missed overlay a nuisance.
# At ERASE_AT or above a line is erased, unless it shows strong product-print evidence
# (PRINT_EVIDENCE on any of PRINT_CUES) and stays under SURE_AT; from UNSURE_AT up to there it
# is kept and reported as uncertain (``TextAction.KEPT_UNCERTAIN``: one click to erase it).
ERASE_AT = 0.55
SURE_AT = 0.9
UNSURE_AT = 0.25
PRINT_EVIDENCE = 0.5
# A label block is no such evidence (a badge's two stacked lines on the product form one),
# nor is following the product's tilt (a sticker turned by chance like a tilted product).
PRINT_CUES = ("unit_repeat", "warped")
DECIMALS = 3

# Words that mark promo copy. Packaging says 新品 or 正品 too, so this is one cue among many,
# never the decision by itself (its weight alone stays well under the bias).
PROMO_TERMS = (
    "特价", "包邮", "券", "折", "热卖", "限时", "新品", "正品", "送", "抢", "秒杀", "促销",
    "优惠", "活动", "爆款", "下单", "立减", "满减", "领", "福利", "赔", "清仓", "到手", "价",
    "划算", "直降", "包退", "包换", "旗舰", "官方", "授权", "收藏", "关注", "咨询", "旺旺",
    "微信", "客服", "销量", "好评", "上市", "新货", "预售", "限量", "仅限", "今日", "降价",
    "返", "试穿", "运费", "发货", "火爆", "大促", "年货", "第二件", "半价", "拍下", "特惠",
    "专享", "推荐", "狂欢", "双11", "双十一", "618", "聚划算", "现货", "热销", "爆品", "低至",
    "仅需", "加购", "买一", "必买", "好物", "专营", "专卖", "工厂店", "企业店", "直营",
    # Platforms and seller talk: a shop's name or a platform's slogan, never on the product.
    "淘宝", "天猫", "京东", "拼多多", "1688", "阿里巴巴", "抖音", "唯品会", "店铺", "补贴",
    "厂家直", "工厂直", "源头工厂", "联保", "月销", "代发", "批发", "微店",
)  # fmt: skip
_PRICE_RE = re.compile(r"[¥￥$]\s*\d|\d\s*[元起]|\d\s*折|[¥￥]$")
# "@shop" is how a store signs its watermark; packaging prints no handles in China.
_CONTACT_RE = re.compile(r"\d{7,}|www\.|https?:|\.com|\.cn|taobao|tmall|@", re.IGNORECASE)
_NORMALISE_RE = re.compile(r"[\W_]+")

# Crops are scaled so glyphs are at most this tall (speed); below the minimum, only the
# geometric and text cues are measured.
_MAX_GLYPH_PX = 48
_MIN_GLYPH_PX = 6
# Edges weaker than this (grey levels) are too noisy to measure a width on.
_MIN_EDGE_CONTRAST = 40
_MIN_EDGE_STEP = 8
_MIN_EDGE_PIXELS = 10
# Edge width (px) that separates rendered (narrower) from photographed (wider) glyph edges.
_EDGE_WIDTH_SPLIT = 1.9
_EDGE_WIDTH_SPAN = 0.6
_DEFAULT_EDGE_WIDTH = 2.0
# Spread (grey levels) the backing behind a line needs before a blend can be fitted on it.
_MIN_BACKING_VARIATION = 4.0
# Salient blobs smaller than this share of the largest one are badges, not products.
_MIN_BLOB_SHARE = 0.2
# A line with this many same-size, same-angle copies is a watermark tile.
_MIN_TILE_COPIES = 2
# Watermark tiles: fragments share this share of the shorter text's characters; glyph heights
# and angles of one watermark's tiles agree within these (RapidOCR's box angles wobble ~3 deg).
_FRAGMENT_SHARE = 0.6
TILE_SIZE_TOL = 0.15
TILE_ANGLE_DEG = 5.0
# Tilts within this many degrees agree (one hand-held camera tilts all photographed text alike).
_TILT_AGREE_DEG = 3.0
# A tilt up to the first angle is plausible for a hand-held photo on its own; beyond the second
# it counts as "photographed" only when _TILT_SUPPORT other lines share it.
_SMALL_TILT_DEG = (6.0, 12.0)
_TILT_SUPPORT = 2
# Mask blobs are found at this long side: the segmenter's output is 320 px, upsampled.
_BLOB_SIDE = 400


def classify_lines(
    image: ImageArray,
    lines: Sequence[TextLine],
    product_alpha: AlphaArray | None,
) -> list[LineDecision]:
    """Decide overlay / product / scene for every line of one image (same order as ``lines``).

    ``product_alpha`` is the segmenter's soft product mask (H x W, [0, 1]). Without it the
    position cues are neutral and every line that is not an overlay is called product text.
    """
    if not lines:
        return []
    context = _ImageContext.measure(image, lines, product_alpha)
    copies = [tile_copies(lines, i) for i in range(len(lines))]
    agree = [_agreeing_tilts(lines, i, copies[i]) for i in range(len(lines))]
    all_cues = [
        _line_cues(image, context, lines, i, len(copies[i]), agree[i]) for i in range(len(lines))
    ]
    for cues, extra in zip(all_cues, _surface(context, lines, all_cues, copies), strict=True):
        cues.update(extra)
        if cues.get("unit_repeat", 0.0) > 0.0:
            # Copies all on the product are units of it (bottles of one range), not tiles.
            cues["repetition"] = 0.0
    own = [overlay_score(cues) for cues in all_cues]
    for i, cues in enumerate(all_cues):
        # Tiles of one watermark are one overlay: a tile lying on the product (where its own
        # cues are weak) goes with its siblings on the background.
        if len(copies[i]) >= _MIN_TILE_COPIES and cues.get("unit_repeat", 0.0) == 0.0:
            cues["tile_score"] = max(own[j] for j in copies[i])
    return [_decide(cues) for cues in all_cues]


def _surface(
    context: _ImageContext,
    lines: Sequence[TextLine],
    all_cues: Sequence[dict[str, float]],
    copies: Sequence[Sequence[int]],
) -> list[dict[str, float]]:
    """The product-print cues of ``surface`` (empty without a product mask)."""
    if context.blobs is None:
        return [{} for _ in lines]
    geometry = []
    for line, cues in zip(lines, all_cues, strict=True):
        q = _quad(line)
        key = _NORMALISE_RE.sub("", line.text).lower()
        geometry.append(LineGeometry(q, key, cues.get("on_product", 0.0), context.blobs.at(q)))
    same = [
        [j for j, other in enumerate(lines) if j != i and _same_words(line.text, other.text)]
        for i, line in enumerate(lines)
    ]
    return surface_cues(geometry, same, copies, context.blobs, context.mask_trust)


def overlay_score(cues: dict[str, float]) -> float:
    """The logistic of the weighted cue sum (cues missing from ``cues`` count as 0), or the
    best score among the line's watermark tiles (``tile_score``) when that is higher."""
    z = BIAS + sum(weight * cues.get(name, 0.0) for name, weight in CUE_WEIGHTS.items())
    return max(1.0 / (1.0 + math.exp(-z)), cues.get("tile_score", 0.0))


def product_evidence(cues: dict[str, float]) -> float:
    """The strongest product-print cue of a line (0 when none was measured)."""
    return max((cues.get(name, 0.0) for name in PRINT_CUES), default=0.0)


def _decide(cues: dict[str, float]) -> LineDecision:
    score = overlay_score(cues)
    printed = product_evidence(cues) >= PRINT_EVIDENCE
    erase = score >= SURE_AT or (score >= ERASE_AT and not printed)
    if erase:
        kind = TextKind.OVERLAY
    elif cues.get("on_product", 1.0) >= 0.5:
        kind = TextKind.PRODUCT
    else:
        kind = TextKind.SCENE
    rounded = {name: round(float(value), DECIMALS) for name, value in cues.items()}
    return LineDecision(
        kind=kind,
        overlay_score=round(score, DECIMALS),
        cues=rounded,
        uncertain=not erase and score >= UNSURE_AT,
    )


# --------------------------------------------------------------------------------------------
# Image-level context: edge widths and the product mask, measured once per image.


@dataclass(frozen=True)
class _ImageContext:
    height: int
    width: int
    edge_widths: FloatArray  # width (px) of each strong edge pixel, NaN elsewhere
    image_edge_width: float  # median width of the strong edges outside the text lines
    product: BoolArray | None  # the main product blobs of the segmenter's mask
    blobs: Blobs | None  # those blobs labelled, with their axes
    mask_trust: float  # 0..1: how well the mask can separate product from background
    valid: MaskArray  # all 255, image-sized: warped with each crop to mark in-image pixels

    @classmethod
    def measure(
        cls, image: ImageArray, lines: Sequence[TextLine], alpha: AlphaArray | None
    ) -> _ImageContext:
        h, w = image.shape[:2]
        widths = _edge_width_map(np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.uint8))
        drawn = np.zeros((h, w), np.uint8)
        cv2.fillPoly(drawn, [_quad(line).round().astype(np.int32) for line in lines], 255)
        text = np.asarray(cv2.dilate(drawn, np.ones((9, 9), np.uint8)))
        outside = widths[(text == 0) & ~np.isnan(widths)]
        image_width = float(np.median(outside)) if outside.size >= 50 else _DEFAULT_EDGE_WIDTH
        product = _main_product(alpha, (h, w))
        valid = np.full((h, w), 255, np.uint8)
        blobs = Blobs.of(product) if product is not None else None
        return cls(h, w, widths, image_width, product, blobs, _mask_trust(product), valid)


def _edge_width_map(gray: npt.NDArray[np.uint8]) -> FloatArray:
    """Width (px) of each strong edge: its local contrast over its steepest one-pixel step.

    A rendered, anti-aliased edge rises within ~1 px; optics, focus and resampling spread a
    photographed edge over 2-4 px. Forward differences keep 1 px and 2 px ramps apart (a 3x3
    Sobel would spread even a perfect step over 2 px). Edge pixels are the local maxima of the
    step size (all uint8 morphology: a few ms per megapixel).
    """
    step = np.zeros_like(gray)
    step[:, :-1] = cv2.absdiff(gray[:, 1:], gray[:, :-1])
    step[:-1, :] = np.maximum(step[:-1, :], cv2.absdiff(gray[1:, :], gray[:-1, :]))
    peak = cv2.dilate(step, np.ones((3, 3), np.uint8))
    contrast = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8))
    edges = (step == peak) & (step >= _MIN_EDGE_STEP) & (contrast >= _MIN_EDGE_CONTRAST)
    widths = np.full(gray.shape, np.nan, np.float32)
    ratio = contrast[edges].astype(np.float32) / peak[edges].astype(np.float32)
    widths[edges] = np.clip(ratio, 1.0, 8.0)
    return widths


def _main_product(alpha: AlphaArray | None, shape: tuple[int, int]) -> BoolArray | None:
    """The product mask without small salient blobs.

    Saliency models light up badges and banners too (they are designed to stand out); each
    then forms a small blob of its own. Only blobs at least ``_MIN_BLOB_SHARE`` of the largest
    are kept, so several products in one photo all stay.
    """
    if alpha is None:
        return None
    h, w = shape  # the image's size (a mask of another size is stretched to it)
    scale = min(1.0, _BLOB_SIDE / max(h, w))
    small = cv2.resize(alpha, (max(1, round(w * scale)), max(1, round(h * scale))))
    salient = (small >= 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(salient, connectivity=8)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.zeros(count, np.uint8)
        keep[np.flatnonzero(areas >= _MIN_BLOB_SHARE * float(areas.max())) + 1] = 1
        salient = keep[labels]
    full = cv2.resize(salient, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.asarray(full > 0)


def _mask_trust(product: BoolArray | None) -> float:
    """Masks covering almost nothing (a street scene) or almost the whole frame (an all-graphics
    poster, which is salient everywhere) say little about where the product ends."""
    if product is None:
        return 0.0
    cover = float(product.mean())
    return float(np.clip((cover - 0.01) / 0.04, 0, 1) * np.clip((0.85 - cover) / 0.2, 0, 1))


# --------------------------------------------------------------------------------------------
# Geometry of the quad.


def _quad(line: TextLine) -> Quad:
    return np.asarray(line.box, dtype=np.float64).reshape(4, 2)


def side_lengths(q: Quad) -> tuple[float, float]:
    """(length along the text, glyph height) of a clockwise quad; vertical text works too."""
    top = float(np.linalg.norm(q[1] - q[0]))
    bottom = float(np.linalg.norm(q[2] - q[3]))
    left = float(np.linalg.norm(q[3] - q[0]))
    right = float(np.linalg.norm(q[2] - q[1]))
    along, across = (top + bottom) / 2, (left + right) / 2
    return (along, across) if along >= across else (across, along)


def angle_degrees(q: Quad) -> float:
    top = q[1] - q[0]
    return math.degrees(math.atan2(float(top[1]), float(top[0])))


def _skew_degrees(q: Quad) -> float:
    """Angle of the quad's sides away from the nearest image axis, in [0, 45]."""
    angle = angle_degrees(q) % 90.0
    return min(angle, 90.0 - angle)


def _corner_error(q: Quad) -> float:
    """How far the quad is from a rectangle: its worst corner angle off 90, in degrees."""
    worst = 0.0
    for i in range(4):
        a, b = q[i - 1] - q[i], q[(i + 1) % 4] - q[i]
        denom = float(np.linalg.norm(a) * np.linalg.norm(b))
        if denom > 1e-6:
            cos = float(np.clip(np.dot(a, b) / denom, -1.0, 1.0))
            worst = max(worst, abs(math.degrees(math.acos(cos)) - 90.0))
    return worst


def _quad_pixels(q: Quad, shape: tuple[int, int]) -> tuple[slice, slice, BoolArray] | None:
    """The quad's bounding box (clipped to the image) and the quad's mask inside it."""
    h, w = shape
    x0, y0 = (max(0, int(v)) for v in np.floor(q.min(axis=0)))
    x1, y1 = (int(v) + 1 for v in np.ceil(q.max(axis=0)))
    x1, y1 = min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [(q - [x0, y0]).round().astype(np.int32)], 1)
    return slice(y0, y1), slice(x0, x1), mask > 0


# --------------------------------------------------------------------------------------------
# Cues that need no pixels: position, geometry, text.


def _product_cues(q: Quad, context: _ImageContext) -> dict[str, float]:
    if context.product is None:
        return {}
    where = _quad_pixels(q, (context.height, context.width))
    on = 0.0
    if where is not None:
        rows, cols, mask = where
        inside = context.product[rows, cols][mask]
        on = float(inside.mean()) if inside.size else 0.0
    trust = context.mask_trust
    return {
        "on_product": on,
        "mask_trust": trust,
        "off_product": (1.0 - 2.0 * on) * trust,
        # 1 when half the quad is on the product and half off it.
        "crosses_product": 2.0 * min(on, 1.0 - on) * trust,
    }


def _promo_words(text: str) -> float:
    if _PRICE_RE.search(text) or _CONTACT_RE.search(text):
        return 1.0
    return 1.0 if any(term in text for term in PROMO_TERMS) else 0.0


def _same_words(a: str, b: str) -> bool:
    """The same text, or fragments of one text: the OCR reads a faint watermark tile whole
    once and in pieces (优选好 / 好物铺 of @优选好物铺) elsewhere. Both need 2+ characters, and
    the shorter shares ``_FRAGMENT_SHARE`` of its distinct characters with the longer."""
    ka, kb = _NORMALISE_RE.sub("", a).lower(), _NORMALISE_RE.sub("", b).lower()
    if len(ka) < 2 or len(kb) < 2:
        return False
    if ka == kb:
        return True
    if ka.isascii() and kb.isascii():
        # 26 letters: any two words share most of their letters (DR PLANT / LOTIONSPA), so
        # Latin text compares by letter pairs, in order.
        ca, cb = (
            {ka[i : i + 2] for i in range(len(ka) - 1)},
            {kb[i : i + 2] for i in range(len(kb) - 1)},
        )
    else:
        ca, cb = set(ka), set(kb)
    return len(ca & cb) >= _FRAGMENT_SHARE * min(len(ca), len(cb)) and min(len(ca), len(cb)) >= 2


def tile_copies(lines: Sequence[TextLine], index: int) -> list[int]:
    """Other lines with the same text (or a fragment of it) at the same glyph height
    (+-``TILE_SIZE_TOL``) and angle (+-``TILE_ANGLE_DEG``)."""
    text = lines[index].text
    q = _quad(lines[index])
    height = side_lengths(q)[1]
    angle = angle_degrees(q)
    found = []
    for j, other in enumerate(lines):
        if j == index or not _same_words(text, other.text):
            continue
        oq = _quad(other)
        turn = abs(angle_degrees(oq) - angle) % 180.0
        ratio = side_lengths(oq)[1] / max(height, 1e-6)
        same_size = 1 - TILE_SIZE_TOL <= ratio <= 1 + TILE_SIZE_TOL
        if same_size and min(turn, 180.0 - turn) <= TILE_ANGLE_DEG:
            found.append(j)
    return found


def _signed_tilt(q: Quad) -> float:
    """The quad's angle folded into [-45, 45) degrees (sign kept: +10 and -10 differ)."""
    return (angle_degrees(q) + 45.0) % 90.0 - 45.0


def _agreeing_tilts(lines: Sequence[TextLine], index: int, copies: Sequence[int]) -> int:
    """Other lines tilted like this one (within ``_TILT_AGREE_DEG``) that say something else:
    copies and fragments of one watermark (sharing half their characters) do not count."""
    tilt = _signed_tilt(_quad(lines[index]))
    chars = set(_NORMALISE_RE.sub("", lines[index].text))
    count = 0
    for j, other in enumerate(lines):
        if j == index or j in copies or abs(_signed_tilt(_quad(other)) - tilt) > _TILT_AGREE_DEG:
            continue
        shared = len(chars & set(_NORMALISE_RE.sub("", other.text)))
        if shared < 0.5 * max(1, min(len(chars), len(set(other.text)))):
            count += 1
    return count


def _repetition(copies: int) -> float:
    """A tiled watermark repeats its text at one size and angle. One copy scores 0.3 (two
    identical products side by side look like that too); two or more copies score 1."""
    if copies == 0:
        return 0.0
    return 1.0 if copies >= _MIN_TILE_COPIES else 0.3


def _geometry_cues(q: Quad, context: _ImageContext, agreeing: int) -> dict[str, float]:
    along, glyph_h = side_lengths(q)
    skew = _skew_degrees(q)
    # How far the line's ends are off level, in pixels: one degree over a short box is within
    # the box fit's rounding, over a long line it is a real tilt.
    tilt_px = along * math.sin(math.radians(skew))
    side = float(min(context.height, context.width))
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    gap = float(min(x0, y0, context.width - x1, context.height - y1)) / side
    corner = _corner_error(q)
    lo, hi = _SMALL_TILT_DEG
    small = float(np.clip((hi - skew) / (hi - lo), 0.0, 1.0))
    support = max(small, min(1.0, agreeing / _TILT_SUPPORT))
    tilted = float(np.clip((tilt_px - 2.0) / 3.0, 0.0, 1.0))
    return {
        "glyph_height_px": glyph_h,
        "skew_deg": skew,
        "axis_aligned": float(np.clip((2.0 - tilt_px) / 1.5, 0.0, 1.0)),
        "tilt_agreeing": float(agreeing),
        # A steep tilt that no other line shares is a designer's rotated sticker, not a photo.
        "skew": tilted * support,
        "lone_tilt": tilted * (1.0 - support),
        # Detectors that fit rotated rectangles (RapidOCR) always give ~0 here.
        "perspective": float(np.clip((corner - 1.5) / 6.0, 0.0, 1.0)),
        "near_border": float(np.clip(1.0 - gap / 0.06, 0.0, 1.0)),
        "large": float(np.clip((glyph_h / side - 0.04) / 0.06, 0.0, 1.0)),
    }


def _crispness_cues(q: Quad, context: _ImageContext) -> dict[str, float]:
    """Edge width of the glyphs (original pixels: warping would blur them)."""
    where = _quad_pixels(q, (context.height, context.width))
    if where is None:
        return {}
    rows, cols, mask = where
    widths = context.edge_widths[rows, cols][mask]
    widths = widths[~np.isnan(widths)]
    if widths.size < _MIN_EDGE_PIXELS:
        return {}
    width = float(np.median(widths))
    sharp = (_EDGE_WIDTH_SPLIT - width) / _EDGE_WIDTH_SPAN
    return {
        "edge_width": width,
        "image_edge_width": context.image_edge_width,
        # Informational: relative to this photo's own edges. On the labelled photos it added
        # nothing to the absolute width (studio shots and graphics are crisp everywhere).
        "sharper_than_image": float(np.clip(math.log2(context.image_edge_width / width), -1, 1)),
        "crispness": float(np.clip(sharp, -1.0, 1.0)),
    }


# --------------------------------------------------------------------------------------------
# Cues measured on the line's pixels, warped upright with a margin around them.


@dataclass(frozen=True)
class _Crop:
    rgb: npt.NDArray[np.uint8]
    lab: FloatArray
    inside: BoolArray  # the quad
    ring: BoolArray  # the margin around the quad (inside the image)
    glyph_px: float  # glyph height in crop pixels


def _rectify(image: ImageArray, valid: MaskArray, q: Quad, glyph_h: float) -> _Crop | None:
    """Warp the quad upright (glyphs at most ``_MAX_GLYPH_PX`` tall) with a margin around it.

    ``valid`` is an all-255 mask of the image's size: warped like the image, it tells which
    crop pixels come from inside the image.
    """
    scale = min(1.0, _MAX_GLYPH_PX / glyph_h)
    w = max(2, round(float(np.linalg.norm(q[1] - q[0])) * scale))
    h = max(2, round(float(np.linalg.norm(q[3] - q[0])) * scale))
    m = max(2, round(0.35 * glyph_h * scale))
    dst = np.array([[m, m], [m + w, m], [m + w, m + h], [m, m + h]], np.float32)
    transform = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    size = (w + 2 * m, h + 2 * m)
    rgb = cv2.warpPerspective(
        image, transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    valid_crop = cv2.warpPerspective(valid, transform, size, flags=cv2.INTER_NEAREST) > 0
    inside = np.zeros((size[1], size[0]), bool)
    inside[m : m + h, m : m + w] = True
    inside &= valid_crop
    if int(inside.sum()) < 30:
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return _Crop(np.asarray(rgb, np.uint8), lab, inside, ~inside & valid_crop, glyph_h * scale)


def _glyph_mask(crop: _Crop) -> BoolArray | None:
    """Split the quad's pixels into glyphs and backing along their main colour axis (Otsu).

    Glyphs are the class rarer in the margin around the quad than inside it (the backing goes
    on past the quad). The other class is the fallback when that choice covers an implausible
    share of the quad.
    """
    pixels = crop.lab[crop.inside]
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred / len(centred))
    if float(eigvals[-1]) < 25.0:  # no contrast: nothing to separate
        return None
    proj = (crop.lab - mean) @ eigvecs[:, -1]
    lo, hi = float(proj[crop.inside].min()), float(proj[crop.inside].max())
    scaled = np.clip((proj - lo) / max(hi - lo, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    thresh, _ = cv2.threshold(
        scaled[crop.inside].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    above = scaled > thresh
    high, low = above & crop.inside, ~above & crop.inside
    high_ring = float((above & crop.ring).sum()) / max(1, int(crop.ring.sum()))
    order = (high, low) if high_ring < float(high[crop.inside].mean()) else (low, high)
    for glyph in order:
        if 0.03 <= float(glyph[crop.inside].mean()) <= 0.75:
            return np.asarray(glyph, dtype=bool)
    return None


@dataclass(frozen=True)
class _Glyphs:
    """The glyph mask with its distance maps: cheaper than a stack of dilations and erosions."""

    mask: BoolArray
    outside: FloatArray  # distance (px) to the nearest glyph pixel, 0 on glyphs
    inside: FloatArray  # distance (px) to the nearest non-glyph pixel, 0 off glyphs

    @classmethod
    def of(cls, mask: BoolArray) -> _Glyphs:
        glyph = mask.astype(np.uint8)
        outside = np.asarray(cv2.distanceTransform(1 - glyph, cv2.DIST_L2, 3), np.float32)
        inside = np.asarray(cv2.distanceTransform(glyph, cv2.DIST_L2, 3), np.float32)
        return cls(mask, outside, inside)

    def core(self, depth: float) -> BoolArray:
        """Glyph pixels more than ``depth`` px inside the strokes."""
        return np.asarray(self.inside > depth)

    def band(self, start: float, stop: float) -> BoolArray:
        """Non-glyph pixels between ``start`` and ``stop`` px from the nearest glyph."""
        return np.asarray((self.outside > start) & (self.outside <= stop))


def _lab_spread(lab: FloatArray, where: BoolArray) -> float:
    return float(np.sqrt(lab[where].var(axis=0).sum()))


def _flat_share(lab: FloatArray, where: BoolArray, tolerance: float = 6.0) -> float:
    """Share of the pixels within ``tolerance`` (Lab) of their median colour: 1 = one fill."""
    pixels = lab[where]
    dist = np.linalg.norm(pixels - np.median(pixels, axis=0), axis=1)
    return float((dist <= tolerance).mean())


def _flatness_cues(crop: _Crop, glyphs: _Glyphs) -> dict[str, float]:
    clear = max(1, round(0.08 * crop.glyph_px)) + 1
    backing = crop.inside & glyphs.band(clear, np.inf)
    core = glyphs.core(1) & crop.inside
    if int(core.sum()) < 10:
        core = glyphs.mask
    cues = {"flat_glyphs": _flat_share(crop.lab, core)}
    if int(backing.sum()) >= 10:
        spread = _lab_spread(crop.lab, backing)
        cues["backing_spread"] = spread
        # A rendered fill varies by JPEG noise only (< 2 Lab); a lit, photographed surface
        # by 8 or more.
        cues["flat_backing"] = float(np.clip((8.0 - spread) / 6.0, 0.0, 1.0))
    return cues


def _outline(crop: _Crop, glyphs: _Glyphs) -> float:
    """An outline, glow or drop shadow: a band around the glyphs coloured unlike both the
    glyphs and the backing farther out. 0 = none, 1 = strong."""
    r = max(1, round(0.1 * crop.glyph_px))
    area = crop.inside | crop.ring
    near = glyphs.band(1, r + 1) & area
    far = glyphs.band(2 * r + 1, 3 * r + 2) & area
    core = glyphs.core(1)
    if min(int(near.sum()), int(far.sum()), int(core.sum())) < 10:
        return 0.0
    c_glyph = np.median(crop.lab[core], axis=0)
    c_near = np.median(crop.lab[near], axis=0)
    c_far = np.median(crop.lab[far], axis=0)
    span = c_far - c_glyph
    contrast = float(np.linalg.norm(span))
    if contrast < 10.0:
        return 0.0
    # Anti-aliasing and blur put the near band's colour ON the glyph-to-backing segment; an
    # outline or a shadow puts it off (or beyond) the segment.
    t = float(np.clip(np.dot(c_near - c_glyph, span) / contrast**2, 0.0, 1.0))
    off = float(np.linalg.norm(c_near - (c_glyph + t * span)))
    return float(np.clip(off / contrast, 0.0, 1.0))


def _transparency(crop: _Crop, glyphs: _Glyphs) -> float:
    """Whether the glyph colour is a blend of one colour with the backing behind it.

    A semi-transparent overlay of colour C with opacity a shows ``a*C + (1-a)*backing``: along
    the line its glyphs brighten and darken with the backing, with a slope (1 - a) below 1 and
    an offset a*C. Opaque ink ignores the backing; lighting scales glyphs and backing together
    (an offset of ~0). The backing under the glyphs is estimated from the backing pixels
    around them (normalised convolution). Returns the fit's correlation, damped when the
    offset is small; 0 when the backing does not vary enough to fit anything on.
    """
    gray = cv2.cvtColor(crop.rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    clear = max(1, round(0.08 * crop.glyph_px)) + 1
    backing = ((crop.inside | crop.ring) & glyphs.band(clear, np.inf)).astype(np.float32)
    core = glyphs.core(1) & crop.inside
    if int(core.sum()) < 30 or float(backing.sum()) < 30:
        return 0.0
    sigma = max(2.0, crop.glyph_px / 4.0)
    weight = cv2.GaussianBlur(backing, (0, 0), sigma)
    behind = cv2.GaussianBlur(gray * backing, (0, 0), sigma) / np.maximum(weight, 1e-3)
    usable = core & (weight > 0.05)
    if int(usable.sum()) < 30:
        return 0.0
    fg, bg = gray[usable], behind[usable]
    if float(bg.std()) < _MIN_BACKING_VARIATION:
        return 0.0
    cov = float(((fg - fg.mean()) * (bg - bg.mean())).mean())
    slope = cov / float(bg.var())
    offset = float(fg.mean()) - slope * float(bg.mean())
    corr = cov / max(float(fg.std() * bg.std()), 1e-6)
    if not 0.15 <= slope <= 0.9:
        return 0.0
    return float(np.clip(corr, 0.0, 1.0) * np.clip((abs(offset) - 15.0) / 30.0, 0.0, 1.0))


def _promo_colour(crop: _Crop, glyph: BoolArray) -> float:
    """Saturation of red / orange / yellow in the glyphs or in their backing, in [0, 1]."""
    hsv = cv2.cvtColor(crop.rgb, cv2.COLOR_RGB2HSV_FULL)
    best = 0.0
    for part in (glyph, crop.inside & ~glyph):
        if int(part.sum()) < 10:
            continue
        hue, sat, val = (float(v) for v in np.median(hsv[part], axis=0))
        hue_deg = hue * 360.0 / 256.0
        if hue_deg <= 65.0 or hue_deg >= 330.0:
            best = max(best, sat / 255.0 * min(1.0, val / 128.0))
    return best


def _pixel_cues(image: ImageArray, context: _ImageContext, q: Quad) -> dict[str, float]:
    glyph_h = side_lengths(q)[1]
    if glyph_h < _MIN_GLYPH_PX or side_lengths(q)[0] < _MIN_GLYPH_PX:
        return {}
    crop = _rectify(image, context.valid, q, glyph_h)
    mask = _glyph_mask(crop) if crop is not None else None
    if crop is None or mask is None:
        return {}
    glyphs = _Glyphs.of(mask)
    cues = _flatness_cues(crop, glyphs)
    cues["outline"] = _outline(crop, glyphs)
    cues["transparency"] = _transparency(crop, glyphs)
    cues["promo_colour"] = _promo_colour(crop, mask)
    cues.update(warp_cue(mask & crop.inside, crop.inside, crop.glyph_px))
    return cues


def _line_cues(
    image: ImageArray,
    context: _ImageContext,
    lines: Sequence[TextLine],
    index: int,
    copies: int,
    agreeing: int,
) -> dict[str, float]:
    line = lines[index]
    q = _quad(line)
    cues = _product_cues(q, context)
    cues.update(_geometry_cues(q, context, agreeing))
    cues["promo_words"] = _promo_words(line.text)
    cues["repetition"] = _repetition(copies)
    cues.update(_crispness_cues(q, context))
    cues.update(_pixel_cues(image, context, q))
    return cues

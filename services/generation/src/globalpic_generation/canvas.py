"""Subject-aware fitting of a product photo into a marketplace frame (``resize``).

The product box (alpha >= 0.5, segmentation specks left out) plus a margin always stays
inside the frame: the product is never cropped. The photo is scaled so the product fills
the frame as the preset wants, then placed; background is cropped where the photo has more
than the frame needs, and where it has less (a square photo into a 9:16 story) the new area
is synthesised from the photo's own border:

- near the seam, a mirror of the photo (continues texture and gradients without a visible
  join), with mirrored product pixels left out so no ghost copy of the product appears;
- farther out, a smooth push-pull interpolation of the background colours (a mirror would
  repeat structure, a lamp or a table edge, visibly);
- grain matched to the texture energy of the photo's border on the smooth part.

Upscaling uses Lanczos plus a mild edge-aware sharpen (``detail.sharpen``) sized to the
scale factor; downscaling uses area averaging (no aliasing).

Generative backends (``CanvasBackends``, built from ``GenerationSettings.outpainter`` /
``upscaler`` by ``build_canvas_backends``; both "classical" by default) replace two of these
steps when the background is extended, and only then: a white frame (white-background
platforms, cut-outs) and a given background image are never generated.

- an ``Outpainter`` fills the new area instead of the mirror / smooth fill
  (``zimage_resize.ZImageResizer``: Z-Image inpainting of the frame outside the photo);
  every pixel of the placed photo stays as placed;
- an ``Upscaler`` refines the placed photo after the Lanczos + sharpen upscale (Z-Image
  img2img), before the new area is filled so the fill continues the refined photo.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, FitResult, ImageArray, MaskArray
from globalpic_common.models import unload_all
from globalpic_common.platforms import MAX_SIZE_PX, MIN_SIZE_PX
from globalpic_common.product_mask import PRODUCT_THRESHOLD, Box, product_box, product_parts
from globalpic_common.product_mask import product_fill as product_fill
from globalpic_generation.background import push_pull_fill
from globalpic_generation.detail import sharpen
from globalpic_generation.quads import dilate
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.texture import (
    add_grain,
    gradient_energy_map,
    luminance,
    texture_energy,
)

Background = Literal["extend", "white"] | ImageArray
BoolMask = npt.NDArray[np.bool_]

# Default margin around the product, per side, as a share of the frame's shorter side.
MARGIN_SHARE = 0.05
# Whatever ``fill`` asks for, the product box stays this far (px) from the frame's edge:
# rounding of the placement and the soft edge of the alpha must not touch the border.
MIN_MARGIN_PX = 4
# Beyond 4x, a classical upscale only shows blur; a product that small stays smaller.
MAX_UPSCALE = 4.0
# Upscales above this factor get the edge-aware sharpen; its strength grows with log2(scale).
SHARPEN_FROM = 1.1
SHARPEN_PER_OCTAVE = 0.45
SHARPEN_MAX = 0.9
# Extension: how far (share of the frame's shorter side) the mirror reaches before the
# smooth fill takes over, and the long side the push-pull runs at (the fill is smooth anyway).
MIRROR_REACH_SHARE = 0.08
PUSH_PULL_SIDE = 512
# The mirror is used only where its local gradient energy stays under BUSY_FACTOR x the
# photo's usual texture energy (+ BUSY_FLOOR, levels^2, for flat studio backdrops).
BUSY_FACTOR = 3.0
BUSY_FLOOR = 20.0
# Width (px) of the photo's border band whose texture the synthesised grain copies.
GRAIN_RING_PX = 24
# Seam feather (px) when the new area comes from a background image.
FEATHER_PX = 6
# ``enforce_white_background``: default dilation of the product (+ shadow) mask (px).
WHITE_DILATE_PX = 6


class Outpainter(Protocol):
    """Fills a frame's new area (``known`` False) around the placed photo."""

    name: str

    def load(self) -> None: ...

    def outpaint(self, image: ImageArray, known: BoolMask, seed: int) -> ImageArray:
        """``image`` with every pixel outside ``known`` (an axis-aligned rectangle) filled;
        pixels inside ``known`` unchanged."""
        ...


class Upscaler(Protocol):
    """Refines an upscaled photo (the classical Lanczos + sharpen result)."""

    name: str

    def load(self) -> None: ...

    def upscale(self, image: ImageArray, alpha: AlphaArray, scale: float, seed: int) -> ImageArray:
        """``image`` (the photo after a classical upscale by ``scale``, product matte
        ``alpha``) refined, same size; returned as is when the backend does not apply."""
        ...


@dataclass(frozen=True)
class CanvasBackends:
    """The generative parts of ``fit_to_canvas``; None keeps the classical step."""

    outpainter: Outpainter | None = None
    upscaler: Upscaler | None = None

    @property
    def generative(self) -> bool:
        return self.outpainter is not None or self.upscaler is not None

    def load(self) -> None:
        """Load the models (a missing one fails here, before the first image)."""
        for part in (self.outpainter, self.upscaler):
            if part is not None:
                part.load()

    def unload(self) -> None:
        unload_all(self.outpainter, self.upscaler)


CLASSICAL = CanvasBackends()


def build_canvas_backends(settings: GenerationSettings | None = None) -> CanvasBackends:
    """The configured resize backends (composition roots call this). Cheap: a generative
    backend loads its model on ``load()`` or on first use; torch is imported only then."""
    settings = settings or GenerationSettings()
    if settings.outpainter == "classical" and settings.upscaler == "classical":
        return CLASSICAL
    from globalpic_generation.zimage_resize import ZImageResizer

    resizer = ZImageResizer(settings)
    return CanvasBackends(
        outpainter=resizer if settings.outpainter == "zimage" else None,
        upscaler=resizer if settings.upscaler == "zimage" else None,
    )


def _check_inputs(
    image: ImageArray, alpha: AlphaArray, width: int, height: int, fill: float | None
) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BadInputError(f"image must be an H x W x 3 uint8 array, got {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise BadInputError(
            f"alpha is {alpha.shape[1]}x{alpha.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}",
            code=errors.BAD_MASK,
        )
    for side in (width, height):
        if not MIN_SIZE_PX <= side <= MAX_SIZE_PX:
            raise BadInputError(
                f"frame {width}x{height}: each side must be {MIN_SIZE_PX}..{MAX_SIZE_PX} px",
                code=errors.BAD_SIZE,
            )
    if fill is not None and not 0.05 <= fill <= 1.0:
        raise BadInputError(f"fill {fill} must be in 0.05..1", code=errors.BAD_OPTION)


def _scale(box: Box, width: int, height: int, fill: float | None) -> float:
    bw, bh = box[2] - box[0], box[3] - box[1]
    if fill is None:
        margin = max(MIN_MARGIN_PX, round(MARGIN_SHARE * min(width, height)))
        scale = min((width - 2 * margin) / bw, (height - 2 * margin) / bh)
    else:
        # ``fill`` is a wish; the product box must still fit with the minimum margin.
        largest = min((width - 2 * MIN_MARGIN_PX) / bw, (height - 2 * MIN_MARGIN_PX) / bh)
        scale = min(fill / max(bw / width, bh / height), largest)
    return min(scale, MAX_UPSCALE)


def _origin(p0: float, p1: float, size: float, frame: int, centre: bool) -> int:
    """Where the frame starts along one axis, in scaled-image coordinates.

    ``p0``/``p1``: the product's extent, ``size``: the scaled photo's extent. The product
    plus margin must lie in the frame; among those placements, the one that needs the least
    synthesised area, and among those the most centred (``centre``: just the most centred).
    """
    margin = min(max(MIN_MARGIN_PX, MARGIN_SHARE * frame), (frame - (p1 - p0)) / 2)
    lo, hi = p1 + margin - frame, p0 - margin
    ideal = (p0 + p1) / 2 - frame / 2
    if centre or lo > hi:
        return round(ideal)
    a, b = (0.0, size - frame) if size >= frame else (size - frame, 0.0)
    ia, ib = max(lo, a), min(hi, b)
    if ia <= ib:
        return round(min(max(ideal, ia), ib))
    return round(hi if hi < a else lo)


def _place(
    source: npt.NDArray[np.generic],
    scale: float,
    origin: tuple[int, int],
    frame: tuple[int, int],
    interpolation: int,
) -> tuple[npt.NDArray[np.generic], BoolMask]:
    """The part of ``source`` scaled by ``scale`` that the frame at ``origin`` (scaled
    coordinates) sees, on a zero canvas of ``frame`` (w, h), and where it landed.

    Only the source region under the frame (plus the filter's support) is resampled, so
    memory follows the frame, not the scaled photo.
    """
    (cx, cy), (width, height) = origin, frame
    h, w = source.shape[:2]
    pad = 4  # Lanczos-4 support
    sx0 = max(0, math.floor(cx / scale) - pad)
    sy0 = max(0, math.floor(cy / scale) - pad)
    sx1 = min(w, math.ceil((cx + width) / scale) + pad)
    sy1 = min(h, math.ceil((cy + height) / scale) + pad)
    crop = np.ascontiguousarray(source[sy0:sy1, sx0:sx1])
    size = (max(1, round((sx1 - sx0) * scale)), max(1, round((sy1 - sy0) * scale)))
    scaled = np.asarray(cv2.resize(crop, size, interpolation=interpolation))
    ox, oy = round(sx0 * scale) - cx, round(sy0 * scale) - cy
    canvas = np.zeros((height, width, *source.shape[2:]), source.dtype)
    known = np.zeros((height, width), bool)
    dx0, dy0 = max(0, ox), max(0, oy)
    dx1, dy1 = min(width, ox + size[0]), min(height, oy + size[1])
    if dx1 > dx0 and dy1 > dy0:
        canvas[dy0:dy1, dx0:dx1] = scaled[dy0 - oy : dy1 - oy, dx0 - ox : dx1 - ox]
        known[dy0:dy1, dx0:dx1] = True
    return canvas, known


def fit_to_canvas(
    image: ImageArray,
    alpha: AlphaArray,
    width: int,
    height: int,
    *,
    fill: float | None = None,
    background: Background = "extend",
    seed: int = 1234,
    backends: CanvasBackends = CLASSICAL,
) -> FitResult:
    """Fit ``image`` into a ``width`` x ``height`` frame around its product (``alpha``).

    ``fill``: share of the frame the product box should span (see ``product_fill``); None
    keeps the product as large as fits with a 5 % margin. ``background``: "extend"
    synthesises new area from the photo's border; "white" fills it with RGB 255 (and centres
    the product); an image is scaled to cover the frame and shows through new area.
    Deterministic for a given ``seed`` (the grain's, and the generative backends').
    ``backends``: generative upscaler / outpainter, used with "extend" only (see the module).
    """
    _check_inputs(image, alpha, width, height, fill)
    h, w = image.shape[:2]
    box = product_box(alpha >= PRODUCT_THRESHOLD) or (0, 0, w, h)  # none found: keep it all
    scale = _scale(box, width, height, fill)
    extend = isinstance(background, str) and background == "extend"
    cx = _origin(box[0] * scale, box[2] * scale, w * scale, width, centre=not extend)
    cy = _origin(box[1] * scale, box[3] * scale, h * scale, height, centre=not extend)

    down = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    placed, known = _place(image, scale, (cx, cy), (width, height), down)
    out = np.asarray(placed, np.uint8)
    moved, _ = _place(alpha.astype(np.float32), scale, (cx, cy), (width, height), cv2.INTER_LINEAR)
    out_alpha = np.clip(np.asarray(moved, np.float32), 0.0, 1.0)
    if scale > SHARPEN_FROM:
        # Only the photo's rectangle: sharpening across its edge with the empty canvas
        # would draw a bright line along the seam.
        amount = min(SHARPEN_MAX, SHARPEN_PER_OCTAVE * math.log2(scale))
        x0, y0, x1, y1 = _known_rect(known)
        out[y0:y1, x0:x1] = sharpen(out[y0:y1, x0:x1], amount, sigma=max(0.8, 0.5 * scale))
        if extend and backends.upscaler is not None:
            out[y0:y1, x0:x1] = backends.upscaler.upscale(
                out[y0:y1, x0:x1], out_alpha[y0:y1, x0:x1], scale, seed
            )

    if not known.all():
        if isinstance(background, str):
            if background == "white":
                out[~known] = 255
            elif background == "extend" and backends.outpainter is not None:
                out = backends.outpainter.outpaint(out, known, seed)
            elif background == "extend":
                out = _extend(out, known, out_alpha, seed)
            else:
                raise BadInputError(
                    f"background {background!r}: use 'extend', 'white' or an image",
                    code=errors.BAD_OPTION,
                )
        else:
            out = _over_background(out, known, out_alpha, background)
    x0, y0, x1, y1 = box
    moved_box = (
        round(x0 * scale) - cx,
        round(y0 * scale) - cy,
        round(x1 * scale) - cx,
        round(y1 * scale) - cy,
    )
    has_product = bool((alpha >= PRODUCT_THRESHOLD).any())
    return FitResult(
        image=out,
        alpha=out_alpha,
        product_box=moved_box if has_product else None,
        scale=scale,
        extended=np.where(known, 0, 255).astype(np.uint8),
    )


def _known_rect(known: BoolMask) -> Box:
    ys = np.flatnonzero(known.any(axis=1))
    xs = np.flatnonzero(known.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def _extend(image: ImageArray, known: BoolMask, alpha: AlphaArray, seed: int) -> ImageArray:
    """Synthesise the pixels outside ``known`` (an axis-aligned rectangle) from the photo."""
    height, width = known.shape
    x0, y0, x1, y1 = _known_rect(known)
    borders = (y0, height - y1, x0, width - x1)  # top, bottom, left, right
    photo = np.ascontiguousarray(image[y0:y1, x0:x1])
    # BORDER_REFLECT needs >= 2 px to mirror; a 1 px strip can only be repeated.
    mode = cv2.BORDER_REFLECT_101 if min(photo.shape[:2]) > 1 else cv2.BORDER_REPLICATE
    mirror = np.asarray(cv2.copyMakeBorder(photo, *borders, mode), np.float32)
    mirror_alpha = np.asarray(
        cv2.copyMakeBorder(np.ascontiguousarray(alpha[y0:y1, x0:x1]), *borders, mode), np.float32
    )

    reach = max(8.0, MIRROR_REACH_SHARE * min(height, width))
    new = ~known
    dist = np.asarray(cv2.distanceTransform(new.astype(np.uint8), cv2.DIST_L2, 3), np.float32)
    weight = np.clip(1.0 - dist / reach, 0.0, 1.0)
    # No ghost product: where the mirror shows (or nearly shows) the product, use the fill.
    weight *= np.clip(1.0 - 3.0 * _blur_coarse(mirror_alpha, max(1.0, reach / 6)), 0.0, 1.0)
    product = dilate(np.where(alpha >= 0.25, 255, 0).astype(np.uint8), 3) > 0
    # No mirrored structure either: an edge, a lettered banner or a prop reads as a flipped
    # copy. Where the mirror is far busier than the photo's usual texture, use the fill.
    usual = texture_energy(image, known & ~product)
    energy = gradient_energy_map(luminance(np.clip(mirror, 0, 255).astype(np.uint8)))
    busy = _blur_coarse(energy, max(1.0, reach / 8)) / (BUSY_FACTOR * usual + BUSY_FLOOR)
    weight *= np.clip(2.0 - busy, 0.0, 1.0)

    source = known & ~product
    smooth = _smooth_fill(image, source if source.any() else known)
    w = weight[new][:, None]
    blended = w * mirror[new] + (1.0 - w) * smooth[new]
    out = image.copy()
    out[new] = np.clip(np.round(blended), 0, 255).astype(np.uint8)

    grainless = new & (weight < 0.5)  # the mirrored part has the photo's own texture
    ring = known & ~product
    rng = np.random.default_rng(seed)
    # Grain per side strip (the new area plus the photo's border band next to it): the
    # texture to copy is the nearby border's, and strips cost less than the whole frame.
    r = GRAIN_RING_PX
    strips = (
        (slice(0, y0 + r), slice(0, width), y0),
        (slice(max(0, y1 - r), height), slice(0, width), height - y1),
        (slice(y0, y1), slice(0, x0 + r), x0),
        (slice(y0, y1), slice(max(0, x1 - r), width), width - x1),
    )
    for rows, cols, extent in strips:
        if extent > 0:
            out[rows, cols] = add_grain(
                out[rows, cols], grainless[rows, cols], ring[rows, cols], rng
            )
    return out


def _blur_coarse(plane: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    """A wide Gaussian blur computed at a quarter of the size (same result, 1/16 the cost)."""
    height, width = plane.shape
    if sigma < 8:
        return np.asarray(cv2.GaussianBlur(plane, (0, 0), sigma), np.float32)
    small = cv2.resize(
        plane, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA
    )
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / 4)
    return np.asarray(
        cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )


def _smooth_fill(image: ImageArray, source: BoolMask) -> npt.NDArray[np.float32]:
    """Push-pull interpolation of the ``source`` pixels over the whole frame, computed at
    most ``PUSH_PULL_SIDE`` px on the long side (it is smooth; full size would only cost)."""
    height, width = source.shape
    factor = max(1.0, max(height, width) / PUSH_PULL_SIDE)
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    values = image.astype(np.float32) * source[:, :, None]
    small = np.asarray(cv2.resize(values, small_size, interpolation=cv2.INTER_AREA), np.float32)
    weights = cv2.resize(source.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    weights = np.asarray(weights, np.float32)
    # INTER_AREA averaged the zeros of unknown pixels in: divide them back out.
    colours = np.asarray(small / np.maximum(weights, 1e-6)[:, :, None], np.float32)
    # A cell that is a quarter photo already knows its colour well.
    filled = push_pull_fill(colours, np.asarray(np.clip(weights * 4.0, 0.0, 1.0), np.float32))
    return np.asarray(
        cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )


def _over_background(
    image: ImageArray, known: BoolMask, alpha: AlphaArray, background: ImageArray
) -> ImageArray:
    """New area from ``background`` (scaled to cover the frame, centred), feathered into the
    photo's border; the product itself is never blended."""
    if background.ndim != 3 or background.shape[2] != 3 or background.dtype != np.uint8:
        raise BadInputError("background image must be an H x W x 3 uint8 array")
    height, width = known.shape
    bh, bw = background.shape[:2]
    cover = max(width / bw, height / bh)
    size = (max(width, round(bw * cover)), max(height, round(bh * cover)))
    interpolation = cv2.INTER_AREA if cover < 1 else cv2.INTER_LANCZOS4
    scaled = np.asarray(cv2.resize(background, size, interpolation=interpolation), np.uint8)
    ox, oy = (size[0] - width) // 2, (size[1] - height) // 2
    plate = scaled[oy : oy + height, ox : ox + width].astype(np.float32)
    inside = np.asarray(cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3))
    keep = np.maximum(np.clip(inside / FEATHER_PX, 0.0, 1.0), np.clip(alpha * 2.0, 0.0, 1.0))
    keep = np.where(known, keep, 0.0)[:, :, None]
    out = keep * image.astype(np.float32) + (1.0 - keep) * plate
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def enforce_white_background(
    image: ImageArray,
    alpha: AlphaArray,
    shadow_mask: MaskArray | None = None,
    dilate_px: int = WHITE_DILATE_PX,
) -> ImageArray:
    """Every pixel farther than ``dilate_px`` from the product (alpha >= 0.5, specks left
    out) and its shadow (``shadow_mask`` > 0) becomes exactly RGB 255; inside that band the
    photo fades to white with distance (smoothstep), so the edge is soft and a slightly
    tight mask does not cut the product. Raises ``no_product`` when the alpha holds no
    product at all (the result would be a blank frame)."""
    if alpha.shape != image.shape[:2] or (
        shadow_mask is not None and shadow_mask.shape != image.shape[:2]
    ):
        raise BadInputError("alpha / shadow mask size differs from the image", code=errors.BAD_MASK)
    if dilate_px < 0:
        raise BadInputError(f"dilate_px {dilate_px} must be >= 0", code=errors.BAD_OPTION)
    # Specks of the matte would stay as grey smudges on the white: they are not product.
    keep = product_parts(alpha >= PRODUCT_THRESHOLD)
    if not keep.any():
        raise BadInputError(
            "no product found to keep on the white background", code=errors.NO_PRODUCT
        )
    if shadow_mask is not None:
        keep |= shadow_mask > 0
    dist = np.asarray(
        cv2.distanceTransform((~keep).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE),
        np.float32,
    )
    t = np.clip(dist / max(dilate_px, 1), 0.0, 1.0)
    white = (t * t * (3.0 - 2.0 * t))[:, :, None]  # smoothstep: no visible step at either end
    out = image.astype(np.float32) * (1.0 - white) + 255.0 * white
    out[(dist > 0) & (dist >= dilate_px)] = 255.0
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


class CanvasFramer:
    """The pipeline's ``Framer`` in this process: ``fit_to_canvas`` on the configured
    ``backends`` (``build_canvas_backends``), then, when asked, the white-background rule.
    The generation service's ``Fit`` / ``EnforceWhite`` serve one of these."""

    def __init__(self, backends: CanvasBackends = CLASSICAL) -> None:
        self.backends = backends

    def load(self) -> None:
        self.backends.load()

    def unload(self) -> None:
        self.backends.unload()

    def fit(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        width: int,
        height: int,
        *,
        fill: float | None = None,
        background: Literal["extend", "white"] = "extend",
        white_background: bool = False,
    ) -> FitResult:
        fitted = fit_to_canvas(
            image, alpha, width, height, fill=fill, background=background, backends=self.backends
        )
        if white_background:
            fitted = dataclasses.replace(
                fitted, image=enforce_white_background(fitted.image, fitted.alpha)
            )
        return fitted

    def enforce_white(self, image: ImageArray, alpha: AlphaArray) -> ImageArray:
        return enforce_white_background(image, alpha)

    def adjust(
        self,
        image: ImageArray,
        *,
        brightness: float = 0.0,
        saturation: float = 0.0,
        detail: float = 0.0,
        strength: float = 1.0,
        original: ImageArray | None = None,
        alpha: AlphaArray | None = None,
    ) -> ImageArray:
        from globalpic_generation.adjust import adjust

        return adjust(
            image,
            brightness=brightness,
            saturation=saturation,
            detail=detail,
            strength=strength,
            original=original,
            alpha=alpha,
        )

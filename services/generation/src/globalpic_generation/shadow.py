"""What the product leaves on the new background: a contact shadow, a faint reflection.

Both come from the matte's *bottom contour*: for every column, the lowest pixel of the
product (alpha >= 0.5) — only where that pixel is near its own product's base, so a mug
handle or a bag strap hanging above the table casts no contact line. They only ever act on
the background (the "plate"); the product's own pixels are placed over it afterwards.

* Contact shadow: the contour blurred into a thin dark line just under the base (the
  occlusion where the product touches the surface), plus a soft cast shadow: the silhouette
  flattened onto the surface in front of the base and sheared by the light direction, blurred
  widely. Shadows are drawn at reduced size (they are blurry) and darken multiplicatively, so
  the background keeps its hue. Opacities below half a level are dropped, so the shadow has
  a compact footprint and a pure white background stays exactly 255 outside it.
* Tight shadow (``reach_px``, the Amazon main-image style): the contact line only, faded to
  nothing within ``reach_px`` of the product, so everything farther away stays pure white
  (marketplace checkers judge the background a little way out from the product's edge).
* Reflection (glossy styles): the product mirrored about the horizontal line through its
  base, fading over a fifth of its height, at 16 % opacity, slightly blurred as a polished
  (not mirror) surface shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray, ImageArray

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

# Shadows are computed on a copy of the matte at most this many px on its longer side.
WORK_SIDE = 320
# A column's lowest product pixel counts as touching the surface when it is within this
# share of its product's height above that product's base.
GROUNDED_SHARE = 0.08
# Products smaller than this share of the matte's area cast no shadow of their own (specks).
MIN_COMPONENT_SHARE = 0.01
CONTACT_STRENGTH = 0.55
CAST_STRENGTH = 0.3
# Shadow opacities below this are dropped: 255 * (1 - 1/510) still rounds to 255.
CUTOFF = 0.5 / 255.0
# Tight shadows end within this share of the image's longer side (at least the px minimum)
# of the product: inside the 1 % (>= 8 px) ring that the ``check`` op's white-background rule
# leaves to the product's edge and shadow.
TIGHT_REACH_SHARE = 0.008
TIGHT_REACH_MIN_PX = 6.0
REFLECTION_STRENGTH = 0.16
REFLECTION_FADE = 0.2  # of the product's height
REFLECTION_BLUR = 1.5  # px


@dataclass(frozen=True)
class Contour:
    """The matte's bottom contour: per column, the lowest product row (-1: none), and
    whether that row stands on the surface."""

    bottom: I32  # (W,)
    grounded: npt.NDArray[np.bool_]  # (W,)
    base_row: I32  # (W,) the base (lowest row) of the product owning the column's lowest pixel
    product_h: float  # height of the tallest product (px)
    product_w: float


def bottom_contour(alpha: AlphaArray) -> Contour:
    solid = (alpha >= 0.5).astype(np.uint8)
    h, w = solid.shape
    has = solid.any(axis=0)
    bottom = np.where(has, h - 1 - np.argmax(solid[::-1], axis=0), -1).astype(np.int32)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    grounded = np.zeros(w, bool)
    base_row = np.full(w, -1, np.int32)
    tallest, widest = 0.0, 0.0
    if n > 1:
        total = float(stats[1:, cv2.CC_STAT_AREA].sum())
        cols = np.nonzero(has)[0]
        lab = labels[bottom[cols], cols]
        top = stats[lab, cv2.CC_STAT_TOP]
        height = stats[lab, cv2.CC_STAT_HEIGHT]
        base = top + height - 1
        big = stats[lab, cv2.CC_STAT_AREA] >= MIN_COMPONENT_SHARE * total
        grounded[cols] = big & (bottom[cols] >= base - GROUNDED_SHARE * height)
        base_row[cols] = np.where(big, base, -1)
        kept = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= MIN_COMPONENT_SHARE * total]
        tallest = float(kept[:, cv2.CC_STAT_HEIGHT].max())
        widest = float(kept[:, cv2.CC_STAT_WIDTH].max())
    return Contour(bottom, grounded, base_row, tallest, widest)


def tight_reach(width: int, height: int) -> float:
    """The ``reach_px`` of a tight shadow on a ``width`` x ``height`` image."""
    return max(TIGHT_REACH_MIN_PX, TIGHT_REACH_SHARE * max(width, height))


def contact_shadow(alpha: AlphaArray, *, seed: int = 0, reach_px: float | None = None) -> F32:
    """Shadow opacity in [0, 1) (H x W float32) the product casts on the surface; 0 outside
    a compact footprint around its base. ``seed`` varies the light direction a little;
    ``reach_px``: a tight shadow, the contact line only, 0 farther than that from the product."""
    h, w = alpha.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    ws, hs = max(8, round(w * scale)), max(8, round(h * scale))
    small = np.asarray(cv2.resize(alpha, (ws, hs), interpolation=cv2.INTER_AREA), np.float32)
    contour = bottom_contour(small)
    if not contour.grounded.any():
        return np.zeros((h, w), np.float32)
    rng = np.random.default_rng(seed)
    ph, pw = contour.product_h, contour.product_w
    # Contact: the grounded contour, a little below it, blurred into a thin dark line; the
    # seed varies its darkness and softness (the only variation a tight shadow has).
    strength = CONTACT_STRENGTH * float(rng.uniform(0.8, 1.1))
    sigma_y = (0.012 * ph + 0.6) * float(rng.uniform(0.8, 1.25))
    sigma_x = (0.015 * pw + 0.8) * float(rng.uniform(0.8, 1.25))
    if reach_px is not None:
        sigma_y = min(sigma_y, max(0.5, reach_px * scale / 3.0))
    marks = np.zeros((hs, ws), np.float32)
    cols = np.nonzero(contour.grounded)[0]
    rows = np.minimum(contour.bottom[cols] + round(0.5 * sigma_y), hs - 1)
    marks[rows, cols] = 1.0
    contact = cv2.GaussianBlur(marks, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    contact = np.clip(contact * np.sqrt(2 * np.pi) * sigma_y, 0.0, 1.0)  # a long line -> 1
    # Cast: the silhouette flattened onto the surface in front of its base, sheared.
    flatten = float(rng.uniform(0.06, 0.12))
    shear = float(rng.uniform(-0.3, 0.3))
    if reach_px is None:
        base = float(contour.bottom[cols].max())
        matrix = np.array(
            [[1.0, -shear, shear * base], [0.0, -flatten, base * (1.0 + flatten)]], np.float32
        )
        cast = cv2.warpAffine(small, matrix, (ws, hs), flags=cv2.INTER_LINEAR)
        cast = cv2.GaussianBlur(cast, (0, 0), 0.035 * ph + 1.0)
        opacity = 1.0 - (1.0 - strength * contact) * (1.0 - CAST_STRENGTH * cast)
    else:
        opacity = strength * contact
    full = np.asarray(cv2.resize(opacity, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    if reach_px is not None:
        # Fade to 0 at reach_px from the product (distance from its alpha >= 0.5 pixels).
        outside = (alpha < 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
        full *= np.clip(1.0 - dist / reach_px, 0.0, 1.0) ** 2
    full[full < CUTOFF] = 0.0
    return np.clip(full, 0.0, 1.0).astype(np.float32)


def reflection(foreground: F32, alpha: AlphaArray) -> tuple[F32, F32]:
    """The product mirrored in the surface it stands on: (RGB levels, opacity), H x W.

    The mirror is the horizontal line through each product's base (its lowest row), as on a
    real polished floor: a round object's reflection touches it only at its lowest point."""
    h, w = alpha.shape
    contour = bottom_contour(alpha)
    if not (contour.base_row >= 0).any():
        return np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    mirror = contour.base_row.astype(np.float32)[None, :]
    below = (ys > mirror) & (mirror >= 0)
    map_y = np.where(below, 2.0 * mirror - ys, -1.0).astype(np.float32)
    map_x = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :], (h, w)).copy()
    src_alpha = cv2.remap(alpha.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
    src_rgb = cv2.remap(foreground.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
    fade = np.exp(-(ys - mirror) / max(REFLECTION_FADE * contour.product_h, 1.0))
    opacity = np.where(below, REFLECTION_STRENGTH * src_alpha * fade, 0.0).astype(np.float32)
    opacity = np.asarray(cv2.GaussianBlur(opacity, (0, 0), REFLECTION_BLUR), np.float32)
    blurred = np.asarray(cv2.GaussianBlur(src_rgb, (0, 0), REFLECTION_BLUR), np.float32)
    return blurred, opacity


def background_plate(
    background: ImageArray,
    alpha: AlphaArray,
    *,
    foreground: F32 | None = None,
    shadow: bool = True,
    reflect: bool = False,
    seed: int = 0,
    shadow_reach: float | None = None,
) -> ImageArray:
    """The new background as the product's surroundings see it: with the contact shadow
    (tight when ``shadow_reach`` is given) and the reflection (which needs the product's
    colours in ``foreground``)."""
    if not shadow and not reflect:
        return background
    plate = background.astype(np.float32)
    if reflect and foreground is not None:
        rgb, opacity = reflection(foreground, alpha)
        plate += opacity[:, :, None] * (rgb - plate)
    if shadow:
        plate *= (1.0 - contact_shadow(alpha, seed=seed, reach_px=shadow_reach))[:, :, None]
    return np.asarray(np.clip(np.rint(plate), 0, 255), np.uint8)

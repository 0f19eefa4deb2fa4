"""Put the product on a new background so that it looks photographed there, not pasted.

Same canvas, same placement: only the background changes. Per pixel, with alpha the
product's matte:

* alpha == 1: the input pixel, bit-identical (the product is never recoloured);
* alpha == 0: the new background with the product's contact shadow (``shadow.py``);
* the soft band in between: ``alpha * F + (1 - alpha) * plate``, where ``F`` is the product's
  *true* colour there, estimated from the input by multilevel foreground estimation
  (``pymatting.estimate_foreground_ml``, Germer et al. 2020). The input's band pixels still
  hold the old background's colour; without this step it shows as a halo (a red rim when a
  product shot on red moves to white).
* Harmonisation (``harmonize``): the band also takes a little of the new background's light
  (a "light wrap": ``F`` moves toward the blurred plate by up to ``WRAP`` at the transparent
  end), as light from a real background wraps around an object's edge. It never touches
  pixels with alpha == 1.

``fit_background`` prepares a seller's own background photo (``--background FILE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_generation.shadow import background_plate

F32 = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]

# Alpha this close to 0 or 1 is the rounding noise of an 8-bit matte, not transparency.
SNAP = 0.5 / 255.0
# Context (px) around the soft band given to the foreground estimator: it needs pixels of
# both the product and the old background nearby.
FG_MARGIN = 24
# Light wrap: largest share of the blurred new background taken by an edge pixel, and its
# blur (share of the image's longer side, plus 1 px).
WRAP = 0.12
WRAP_BLUR_SHARE = 0.006
# fit_background: a seller's background darker than this median L* (0..100) is lifted to
# it with a gamma on L*: a product lit for a bright studio looks cut out on a dark photo.
MIN_MEDIAN_L = 55.0


@dataclass(frozen=True)
class Cutout:
    """A product ready to be composited onto any background of its size.

    ``foreground`` (float32 levels) is the estimated true product colour in the soft band and
    the input everywhere else; estimating it is the costly step, so candidates share one."""

    image: ImageArray
    alpha: AlphaArray  # snapped to exact 0 / 1 within SNAP
    foreground: F32
    band: BoolMask  # 0 < alpha < 1

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


def check_matte(image: ImageArray, alpha: AlphaArray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BadInputError("image must be an H x W x 3 uint8 array", code=errors.BAD_OPTION)
    if alpha.shape != image.shape[:2]:
        raise BadInputError(
            f"alpha is {alpha.shape[1] if alpha.ndim > 1 else '?'}x{alpha.shape[0]} but the "
            f"image is {image.shape[1]}x{image.shape[0]}",
            code=errors.BAD_MASK,
        )
    if not np.issubdtype(alpha.dtype, np.floating):
        raise BadInputError("alpha must be float in [0, 1]", code=errors.BAD_MASK)
    if not np.isfinite(alpha).all() or float(alpha.min()) < 0.0 or float(alpha.max()) > 1.0:
        raise BadInputError("alpha must lie in [0, 1]", code=errors.BAD_MASK)
    if float(alpha.max()) < 0.5:
        raise BadInputError("alpha holds no product (no pixel >= 0.5)", code=errors.NO_PRODUCT)


def snap_alpha(alpha: AlphaArray) -> AlphaArray:
    out = np.asarray(alpha, np.float32).copy()
    out[out < SNAP] = 0.0
    out[out > 1.0 - SNAP] = 1.0
    return out


def estimate_foreground(image: ImageArray, alpha: AlphaArray, band: BoolMask) -> F32:
    """The product's true colour (float32 levels) in ``band``; the input elsewhere."""
    fg = image.astype(np.float32)
    if not band.any():
        return fg
    from pymatting import estimate_foreground_ml  # type: ignore[import-untyped]

    ys, xs = np.nonzero(band)
    h, w = alpha.shape
    y0, y1 = max(0, int(ys.min()) - FG_MARGIN), min(h, int(ys.max()) + 1 + FG_MARGIN)
    x0, x1 = max(0, int(xs.min()) - FG_MARGIN), min(w, int(xs.max()) + 1 + FG_MARGIN)
    crop = image[y0:y1, x0:x1].astype(np.float64) / 255.0
    estimated = estimate_foreground_ml(crop, alpha[y0:y1, x0:x1].astype(np.float64))
    sub = band[y0:y1, x0:x1]
    fg[y0:y1, x0:x1][sub] = np.asarray(estimated, np.float32)[sub] * 255.0
    return fg


def prepare_cutout(image: ImageArray, alpha: AlphaArray) -> Cutout:
    check_matte(image, alpha)
    snapped = snap_alpha(alpha)
    band = (snapped > 0.0) & (snapped < 1.0)
    return Cutout(image, snapped, estimate_foreground(image, snapped, band), band)


def light_wrap(foreground: F32, plate: ImageArray, alpha: AlphaArray, band: BoolMask) -> F32:
    """``foreground`` with its band pixels moved toward the blurred plate, by up to ``WRAP``
    where the edge is most transparent; other pixels unchanged."""
    if not band.any():
        return foreground
    sigma = WRAP_BLUR_SHARE * max(alpha.shape) + 1.0
    ambient = np.asarray(cv2.GaussianBlur(plate.astype(np.float32), (0, 0), sigma), np.float32)
    weight = (WRAP * (1.0 - alpha))[band][:, None]
    out = foreground.copy()
    out[band] = foreground[band] * (1.0 - weight) + ambient[band] * weight
    return out


def blend(cutout: Cutout, plate: ImageArray, *, harmonize: bool = True) -> ImageArray:
    """``cutout`` over ``plate`` (the new background with its shadow, same size): the input
    where alpha == 1, the plate where alpha == 0, the decontaminated edge in between."""
    if plate.shape != cutout.image.shape or plate.dtype != np.uint8:
        raise BadInputError(
            f"background is {plate.shape[1]}x{plate.shape[0]} but the image is "
            f"{cutout.image.shape[1]}x{cutout.image.shape[0]}",
            code=errors.BAD_OPTION,
        )
    alpha, band = cutout.alpha, cutout.band
    fg = light_wrap(cutout.foreground, plate, alpha, band) if harmonize else cutout.foreground
    out = plate.copy()
    a = alpha[band][:, None]
    out[band] = np.clip(np.rint(a * fg[band] + (1.0 - a) * plate[band]), 0, 255).astype(np.uint8)
    solid = alpha >= 1.0
    out[solid] = cutout.image[solid]
    return out


def plate_for(
    cutout: Cutout,
    background: ImageArray,
    *,
    shadow: bool = True,
    reflection: bool = False,
    seed: int = 0,
    shadow_reach: float | None = None,
) -> ImageArray:
    """``background`` with the cutout's shadow (and reflection): what ``blend`` goes over."""
    if background.shape != cutout.image.shape or background.dtype != np.uint8:
        raise BadInputError(
            f"background is {background.shape[1]}x{background.shape[0]} but the image is "
            f"{cutout.image.shape[1]}x{cutout.image.shape[0]}",
            code=errors.BAD_OPTION,
        )
    return background_plate(background, cutout.alpha, foreground=cutout.foreground,
                            shadow=shadow, reflect=reflection, seed=seed,
                            shadow_reach=shadow_reach)  # fmt: skip


def composite(
    image: ImageArray,
    alpha: AlphaArray,
    background: ImageArray,
    *,
    shadow: bool = True,
    harmonize: bool = True,
    reflection: bool = False,
    seed: int = 0,
    shadow_reach: float | None = None,
) -> ImageArray:
    """The product of ``image`` (matte ``alpha``, float32 in [0, 1]) on ``background`` (same
    size). ``reflection`` adds a faint mirror image (glossy surfaces); ``seed`` varies the
    shadow's light direction; ``shadow_reach`` (px) makes the shadow tight: the contact line
    only, gone that far from the product (``shadow.tight_reach``)."""
    cutout = prepare_cutout(image, alpha)
    plate = plate_for(cutout, background, shadow=shadow, reflection=reflection, seed=seed,
                      shadow_reach=shadow_reach)  # fmt: skip
    return blend(cutout, plate, harmonize=harmonize)


def fit_background(user_bg: ImageArray, width: int, height: int) -> ImageArray:
    """A seller's background photo scaled to cover ``width`` x ``height``, centre-cropped,
    and lifted when it is dark (median L* below ``MIN_MEDIAN_L``) so a product lit for a bright
    studio sits naturally on it."""
    if user_bg.ndim != 3 or user_bg.shape[2] != 3 or user_bg.dtype != np.uint8:
        raise BadInputError("background must be an H x W x 3 uint8 image", code=errors.BAD_OPTION)
    if width < 1 or height < 1:
        raise BadInputError(f"target size {width}x{height} is empty", code=errors.BAD_SIZE)
    h, w = user_bg.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, math.ceil(w * scale - 1e-9)), max(height, math.ceil(h * scale - 1e-9))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    scaled = np.asarray(cv2.resize(user_bg, (sw, sh), interpolation=interp), np.uint8)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    fitted = np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])
    return match_exposure(fitted)


def match_exposure(image: ImageArray) -> ImageArray:
    """Lift a dark image's L* by a gamma that brings its median to ``MIN_MEDIAN_L``
    (colours keep their a* / b*); brighter images are returned unchanged."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    median = float(np.median(lab[:, :, 0]))
    if median >= MIN_MEDIAN_L:
        return image
    gamma = math.log(MIN_MEDIAN_L / 100.0) / math.log(max(median, 1.0) / 100.0)
    lab[:, :, 0] = 100.0 * np.power(np.clip(lab[:, :, 0] / 100.0, 0.0, 1.0), gamma)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.asarray(np.clip(np.rint(rgb * 255.0), 0, 255), np.uint8)

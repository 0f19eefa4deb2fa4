"""Views of a photo in which faint text stands out: the input of the extra OCR passes.

A semi-transparent watermark changes each pixel under its glyphs by ``alpha * (ink - photo)``:
at 20 % white over a mid-grey wall that is 25 levels, while the wall's own texture (marble
veins, wood grain, fabric weave) moves by as much. PP-OCR's detector, trained on crisp text,
scores such strokes below its threshold. Two remappings of the lightness make the strokes the
strongest thing locally:

* ``residual``: lightness minus a large median background (which the thin strokes do not
  move), divided by the local spread of that residual, so that a flat area's 25-level stroke
  and a busy area's 60-level one come out alike; mapped around mid-grey.
* ``clahe``: contrast-limited adaptive histogram equalisation of the lightness, which keeps
  the photo's look (the recogniser reads it like a photo) while stretching each tile's range.

Both are grey: a watermark's colour carries no information the lightness lacks here, and the
colour pass has already looked at the colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray

FloatImage = npt.NDArray[np.float32]

# The background is a median over this many px (at half resolution): wider than any stroke
# of a 12-160 px glyph the passes aim at (strokes are about a tenth of the glyph height), so
# the strokes drop out of it.
BACKGROUND_PX = 31
# The residual's local spread is measured over this window (px); the floor (lightness
# levels) keeps JPEG and sensor noise of flat areas from being stretched into "strokes".
SPREAD_PX = 61
SPREAD_FLOOR = 5.0
# Residual / spread -> grey: mid-grey plus this many levels per unit.
RESIDUAL_GAIN = 55.0
# CLAHE clip limit and tile grid.
CLAHE_CLIP = 6.0
CLAHE_TILES = 8


@dataclass(frozen=True)
class View:
    """A remapped copy of the photo (H x W x 3 uint8 RGB, grey) and its name."""

    name: str
    image: ImageArray


def lightness(image: ImageArray) -> npt.NDArray[np.uint8]:
    """CIELAB L scaled to 0..255 (OpenCV's 8-bit Lab)."""
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2Lab)
    return np.ascontiguousarray(lab[:, :, 0])


def text_residual(image: ImageArray) -> FloatImage:
    """Lightness minus its large-scale background, in units of the local spread (signed:
    light strokes positive, dark ones negative)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be an H x W x 3 uint8 array")
    grey = lightness(image)
    h, w = grey.shape
    small = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    background = cv2.medianBlur(small, BACKGROUND_PX)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    residual = grey.astype(np.float32) - background.astype(np.float32)
    spread = np.sqrt(cv2.blur(residual * residual, (SPREAD_PX, SPREAD_PX)))
    return np.asarray(residual / (spread + SPREAD_FLOOR), np.float32)


def residual_grey(residual: FloatImage) -> npt.NDArray[np.uint8]:
    """``text_residual`` as grey levels around mid-grey."""
    grey: npt.NDArray[np.uint8] = np.clip(128.0 + RESIDUAL_GAIN * residual, 0, 255).astype(np.uint8)
    return grey


def residual_view(image: ImageArray) -> View:
    grey = residual_grey(text_residual(image))
    return View("residual", np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), np.uint8))


def clahe_view(image: ImageArray) -> View:
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(CLAHE_TILES, CLAHE_TILES))
    grey = clahe.apply(lightness(image))
    return View("clahe", np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), np.uint8))


def scaled_view(image: ImageArray) -> View:
    """The photo itself: searched at ``faint_max_side`` it is another scale of the colour
    pass, and the detector finds big headline glyphs at the smaller scale that it misses at
    full size (a 70 px outlined line beside a crossing watermark, a can's 130 px brand)."""
    return View("scaled", np.ascontiguousarray(image))


VIEWS = {"residual": residual_view, "clahe": clahe_view, "scaled": scaled_view}


def views(image: ImageArray, names: tuple[str, ...]) -> list[View]:
    """The named views of ``image`` (unknown names raise ValueError)."""
    unknown = [n for n in names if n not in VIEWS]
    if unknown:
        raise ValueError(f"unknown faint-text view(s) {unknown}; known: {sorted(VIEWS)}")
    return [VIEWS[n](image) for n in names]

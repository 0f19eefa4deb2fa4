"""Tiny test scenes built in code: photo-like backgrounds with overlays drawn by Pillow.

Each scene keeps the background before the overlay and the exact set of pixels the overlay
changed, so tests can check that an erase mask covers the overlay and stays tight. CJK fonts
are used when installed (they are in the dev setup); otherwise Pillow's built-in font draws
Latin text, which exercises the same code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from globalpic_common.schemas import TextLine

Rgb = npt.NDArray[np.uint8]
_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


@dataclass
class Scene:
    image: Rgb  # with the overlay
    clean: Rgb  # before the overlay
    line: TextLine  # the overlay's text line (a tight quad, like OCR gives)

    @property
    def changed(self) -> npt.NDArray[np.bool_]:
        """Pixels the overlay visibly changed (more than 8 levels in some channel)."""
        diff = np.abs(self.image.astype(np.int16) - self.clean.astype(np.int16)).max(axis=2)
        return np.asarray(diff > 8)


def _font(px: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    for path in _CJK_FONTS:
        if path.is_file():
            return ImageFont.truetype(str(path), px), "限时特价"
    return ImageFont.load_default(px), "SALE 50%"


def smooth_background(h: int = 300, w: int = 400, seed: int = 0) -> Rgb:
    """A studio-like background: a soft colour gradient with faint sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([200 - 30 * yy / h, 190 - 20 * xx / w, 170 + 10 * yy / h], axis=2)
    base += rng.normal(0, 1.5, (h, w, 1)).astype(np.float32)
    return np.clip(base, 0, 255).astype(np.uint8)


def textured_background(h: int = 300, w: int = 400, seed: int = 0) -> Rgb:
    """A wood/fabric-like surface: grain stretched along x plus fine noise."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.normal(0, 1, (h // 8, w // 32)).astype(np.float32), (w, h))
    fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 0.8)
    tone = 150 + 18 * coarse + 24 * fine
    rgb = np.stack([tone * 1.05, tone * 0.85, tone * 0.6], axis=2)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _compose(clean: Rgb, layer: Image.Image) -> Rgb:
    rgba = np.asarray(layer, np.float32) / 255.0
    alpha = rgba[:, :, 3:4]
    out = clean.astype(np.float32) * (1 - alpha) + rgba[:, :, :3] * 255.0 * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _line(bbox: tuple[float, float, float, float]) -> TextLine:
    x0, y0, x1, y1 = bbox
    return TextLine(box=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], text="overlay", confidence=0.9)


def draw_text(
    clean: Rgb,
    *,
    xy: tuple[int, int] = (60, 90),
    px: int = 44,
    fill: tuple[int, int, int, int] = (255, 255, 255, 255),
    stroke: int = 0,
    stroke_fill: tuple[int, int, int, int] = (0, 0, 0, 255),
    badge: tuple[int, int, int] | None = None,
) -> Scene:
    """Text (optionally outlined, semi-transparent, or on a rounded badge) over ``clean``."""
    font, text = _font(px)
    h, w = clean.shape[:2]
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    ink = draw.textbbox(xy, text, font=font, stroke_width=stroke)
    if badge is not None:
        pad = px // 2
        draw.rounded_rectangle(
            (ink[0] - pad, ink[1] - pad, ink[2] + pad, ink[3] + pad), radius=pad, fill=(*badge, 255)
        )
    draw.text(xy, text, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    return Scene(_compose(clean, layer), clean, _line(tuple(float(v) for v in ink)))  # type: ignore[arg-type]


@pytest.fixture
def smooth_bg() -> Rgb:
    return smooth_background()


@pytest.fixture
def textured_bg() -> Rgb:
    return textured_background()


@pytest.fixture
def badge_scene(smooth_bg: Rgb) -> Scene:
    return draw_text(smooth_bg, badge=(228, 40, 40))


@pytest.fixture
def outlined_scene(textured_bg: Rgb) -> Scene:
    return draw_text(textured_bg, fill=(255, 230, 0, 255), stroke=3, stroke_fill=(20, 20, 20, 255))


@pytest.fixture
def watermark_scene(smooth_bg: Rgb) -> Scene:
    return draw_text(smooth_bg, fill=(255, 255, 255, 100))


@pytest.fixture
def draw() -> type[SceneMaker]:
    return SceneMaker


class SceneMaker:
    """The scene builders, for tests that need their own variations."""

    smooth = staticmethod(smooth_background)
    textured = staticmethod(textured_background)
    text = staticmethod(draw_text)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Z-Image pipeline saved once per session, loaded by the tests
    through the production loader (``zimage.load_zimage``)."""
    from tests.support.zimage_tiny import save_tiny_zimage  # imports torch

    return save_tiny_zimage(tmp_path_factory.mktemp("zimage") / "tiny-zimage")

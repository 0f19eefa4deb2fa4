"""The frame an image is resized to: a platform preset (with its rules) or a custom size.

Shared by ``globalpic resize`` and ``localize`` so both frame a product the same way. The
pixels are a ``Framer``'s (generation's canvas fit, in process or over gRPC: ``Fit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, FitResult, Framer, ImageArray
from globalpic_common.platforms import Platform, get_platform, parse_size

# Aim this far above a preset's minimum fill: the rule is then met with room to spare for
# rounding and the soft edge of the matte.
FILL_HEADROOM = 0.03


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    platform: Platform | None = None  # None: a custom --size, no rules

    @property
    def white(self) -> bool:
        return self.platform is not None and self.platform.white_background

    @property
    def fill(self) -> float | None:
        if self.platform is None or self.platform.min_fill is None:
            return None
        return min(1.0, self.platform.min_fill + FILL_HEADROOM)


def frame_for(platform: str | None, size: str | None) -> Frame:
    """``--platform ID`` or ``--size WxH`` (exactly one) -> the frame; else ``bad_option``."""
    if (platform is None) == (size is None):
        raise BadInputError(
            "give exactly one of --platform ID or --size WIDTHxHEIGHT", code=errors.BAD_OPTION
        )
    if platform is not None:
        preset = get_platform(platform)
        return Frame(preset.width, preset.height, preset)
    width, height = parse_size(str(size))
    return Frame(width, height)


def fit_frame(
    image: ImageArray,
    alpha: AlphaArray,
    frame: Frame,
    framer: Framer,
    *,
    cutout: bool,
    enforce_white: bool = True,
) -> FitResult:
    """Fit ``image`` (product matte ``alpha``) to ``frame`` without cropping the product.

    A cut-out, or a platform that wants white, needs no synthesised background: new area is
    white (and the product centred); otherwise the photo's background is extended, by the
    ``framer``'s generative backends when configured (outpainting, img2img upscaling; never
    on a white frame). With ``enforce_white`` a white-background platform gets exactly
    RGB 255 outside the product.
    """
    background: Literal["extend", "white"] = "white" if frame.white or cutout else "extend"
    return framer.fit(
        image,
        alpha,
        frame.width,
        frame.height,
        fill=frame.fill,
        background=background,
        white_background=frame.white and enforce_white,
    )

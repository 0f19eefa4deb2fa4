"""Thumbnails for listings and the web UI: small sRGB JPEGs."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from globalpic_common import errors
from globalpic_common.errors import BadInputError

THUMBNAIL_CONTENT_TYPE = "image/jpeg"
_JPEG_QUALITY = 85


def make_thumbnail(data: bytes, max_side: int = 256) -> bytes:
    """A JPEG whose longer side is at most ``max_side`` (never upscaled), EXIF orientation
    applied, transparency flattened onto white (a cut-out product on black looks broken)."""
    if max_side < 1:
        raise BadInputError(f"thumbnail side {max_side} must be positive", code=errors.BAD_SIZE)
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far less work for a thumbnail.
            opened.draft("RGB", (max_side, max_side))
            img = ImageOps.exif_transpose(opened) or opened
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInputError(
            f"image is too large to decode safely ({exc})", code=errors.IMAGE_TOO_LARGE
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadInputError("not an image Pillow can read", code=errors.UNSUPPORTED_FORMAT) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(
            f"corrupt or truncated image ({exc})", code=errors.CORRUPT_IMAGE
        ) from exc
    out = io.BytesIO()
    _flatten(img).save(out, "JPEG", quality=_JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _flatten(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return img.convert("RGB")

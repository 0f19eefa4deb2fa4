"""Reading user images safely and writing results that marketplaces accept.

Input: JPEG, PNG, WEBP; EXIF orientation applied; CMYK, 16-bit, grayscale, palette and alpha
converted to 8-bit sRGB (alpha kept aside so it can be written back); oversized, undersized,
corrupt, truncated, non-image and decompression-bomb files rejected with a stable error code.
Output: sRGB, JPEG quality >= 90, at most ``max_output_bytes``, written atomically so a crash
never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_common.quantities import format_bytes, format_megapixels
from globalpic_common.settings import ServiceSettings, settings_config

SUPPORTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
OUTPUT_FORMATS = ("png", "jpg", "webp")
_PIL_FORMAT = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}
_SRGB_PROFILE = ImageCms.createProfile("sRGB")
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it
# lcms stamps the time it built a profile into the ICC header (bytes 24-35, dateTimeNumber):
# two runs then wrote PNGs that differed in bytes, not in pixels. A fixed date keeps equal
# pixels equal files (the profile ID, bytes 84-99, is unset, so nothing else depends on it).
ICC_DATE = (2024, 1, 1, 0, 0, 0)
_built = ImageCms.ImageCmsProfile(_SRGB_PROFILE).tobytes()
_SRGB_ICC = _built[:24] + struct.pack(">6H", *ICC_DATE) + _built[36:]


@dataclass(frozen=True)
class ImageLimits:
    """Input limits; the defaults follow the product spec and are overridable in settings."""

    max_bytes: int = 20 * 1024 * 1024
    min_side: int = 512
    max_pixels: int = 50_000_000  # ~7000 x 7000; larger files are treated as decompression bombs


@dataclass
class LoadedImage:
    rgb: ImageArray  # H x W x 3 uint8, sRGB, EXIF orientation applied
    alpha: MaskArray | None  # H x W uint8 when the input had transparency
    source_format: str  # "jpg" | "png" | "webp"

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def _open_checked(data: bytes, name: str, limits: ImageLimits) -> Image.Image:
    # Pillow only *warns* between MAX_IMAGE_PIXELS and 2x that; we treat both as errors and
    # check the header's size before decoding a single pixel.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInputError(
            f"{name}: over the {format_megapixels(limits.max_pixels)} limit (decompression bomb?)",
            code=errors.IMAGE_TOO_LARGE,
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(
            f"{name}: not an image Pillow can read", code=errors.UNSUPPORTED_FORMAT
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # a header Pillow recognises, then junk
        raise BadInputError(
            f"{name}: corrupt or truncated image ({exc})", code=errors.CORRUPT_IMAGE
        ) from exc
    if img.format not in SUPPORTED_FORMATS:
        raise BadInputError(
            f"{name}: format {img.format} not supported (use JPEG, PNG or WEBP)",
            code=errors.UNSUPPORTED_FORMAT,
        )
    w, h = img.size
    if w * h > limits.max_pixels:
        raise BadInputError(
            f"{name}: {w}x{h} is {format_megapixels(w * h)}, over the "
            f"{format_megapixels(limits.max_pixels)} limit",
            code=errors.IMAGE_TOO_LARGE,
        )
    if img.format == "JPEG" and len(data) * 8 < w * h / 64:
        # Under one bit per 8 x 8 block: no encoder writes that little even for a flat
        # colour. The file ends long before the frame it declares, and libjpeg would pad the
        # rest with grey (a few hundred bytes standing for megapixels of nothing).
        raise BadInputError(
            f"{name}: {format_bytes(len(data))} cannot hold the {w}x{h} frame it declares "
            "(truncated?)",
            code=errors.CORRUPT_IMAGE,
        )
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(
            f"{name}: corrupt or truncated image ({exc})", code=errors.CORRUPT_IMAGE
        ) from exc
    return img


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert to 8-bit RGB(A) in sRGB, honouring an embedded ICC profile."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale PNG (the only source of these modes among the supported formats):
        # scale to 8 bits instead of clipping at 255. Always by 65535: a dark 16-bit image
        # whose samples all stay <= 255 is near black, not an 8-bit image.
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(arr / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("L", "RGB") and img.info.get("transparency") is not None:
        # A PNG colour key (tRNS on a grey or RGB image): that value is transparent.
        img = img.convert("LA" if img.mode == "L" else "RGBA")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    icc = img.info.get("icc_profile")
    if img.mode == "P":
        img = img.convert("RGBA" if has_alpha else "RGB")
    alpha = img.getchannel("A") if has_alpha else None
    if icc and img.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            base = img.convert("RGB") if img.mode in ("RGBA", "LA") else img
            if base.mode == "LA":
                base = base.convert("L")
            converted = ImageCms.profileToProfile(base, src, _SRGB_PROFILE, outputMode="RGB")
            if converted is not None:
                img = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile is not worth rejecting the photo: fall back to plain convert
    rgb = img.convert("RGB")
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def load_image(path: str | Path, limits: ImageLimits | None = None) -> LoadedImage:
    """Read and validate a user image. Raises ``BadInputError`` with a stable code."""
    limits = limits or ImageLimits()
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise BadInputError(f"{path}: no such file", code=errors.FILE_NOT_FOUND)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise BadInputError(
            f"{name}: {format_bytes(size)} exceeds the {format_bytes(limits.max_bytes)} limit",
            code=errors.FILE_TOO_LARGE,
        )
    if size == 0:
        raise BadInputError(f"{name}: empty file", code=errors.CORRUPT_IMAGE)
    return decode_image(path.read_bytes(), name, limits)


def decode_image(data: bytes, name: str, limits: ImageLimits | None = None) -> LoadedImage:
    """Validate and decode image bytes (the REST API uses this on uploads)."""
    limits = limits or ImageLimits()
    if len(data) > limits.max_bytes:
        raise BadInputError(
            f"{name}: {format_bytes(len(data))} exceeds the {format_bytes(limits.max_bytes)} limit",
            code=errors.FILE_TOO_LARGE,
        )
    img = _open_checked(data, name, limits)
    fmt = SUPPORTED_FORMATS[str(img.format)]
    # Unreadable EXIF: keep the stored orientation rather than reject the photo.
    with contextlib.suppress(OSError, ValueError, SyntaxError):
        img = ImageOps.exif_transpose(img) or img
    w, h = img.size
    if min(w, h) < limits.min_side:
        raise BadInputError(
            f"{name}: {w}x{h} is smaller than {limits.min_side}px on a side",
            code=errors.IMAGE_TOO_SMALL,
        )
    img = _to_srgb(img)
    arr = np.asarray(img)
    alpha: MaskArray | None = None
    if arr.shape[2] == 4:
        alpha = np.ascontiguousarray(arr[:, :, 3])
        if int(alpha.min()) == 255:
            alpha = None  # an opaque alpha channel carries nothing
    rgb = np.ascontiguousarray(arr[:, :, :3])
    return LoadedImage(rgb=rgb, alpha=alpha, source_format=fmt)


def load_mask(path: str | Path, size: tuple[int, int]) -> MaskArray:
    """Read a user-painted mask file for an image of ``size`` (w, h): ``decode_mask``."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such mask file", code=errors.FILE_NOT_FOUND)
    return decode_mask(path.read_bytes(), path.name, size)


def decode_mask(data: bytes, name: str, size: tuple[int, int]) -> MaskArray:
    """A user-painted mask (white / opaque = painted) for an image of ``size`` (w, h), as
    0 / 255.

    A mask with the image's aspect ratio but another resolution is resized (nearest), so a
    brush stroke painted on a preview still lands in the right place.
    """
    try:
        opened = Image.open(io.BytesIO(data))
        if opened.width * opened.height > Image.MAX_IMAGE_PIXELS:  # type: ignore[operator]
            raise BadInputError(f"{name}: mask is too large", code=errors.BAD_MASK)
        opened.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadInputError(f"{name}: mask is not a readable image", code=errors.BAD_MASK) from exc
    img: Image.Image = ImageOps.exif_transpose(opened) or opened
    w, h = size
    mw, mh = img.size
    if abs(mw * h - w * mh) > 0.01 * w * mh:  # another aspect ratio (1 % either way)
        raise BadInputError(
            f"{name}: mask is {mw}x{mh} but the image is {w}x{h}", code=errors.BAD_MASK
        )
    if img.mode in ("RGBA", "LA") and np.asarray(img.getchannel("A")).min() < 255:
        gray = img.getchannel("A")  # painted strokes on a transparent layer
    else:
        gray = img.convert("L")
    if (mw, mh) != (w, h):
        gray = gray.resize((w, h), Image.Resampling.NEAREST)
    return np.where(np.asarray(gray) > 127, 255, 0).astype(np.uint8)


def encode_image(
    rgb: ImageArray,
    fmt: str = "png",
    alpha: MaskArray | None = None,
    max_bytes: int = 5 * 1024 * 1024,
    jpeg_quality: int = 95,
) -> bytes:
    """Encode to PNG / JPEG / WEBP with an sRGB profile, within ``max_bytes``.

    JPEG / WEBP step quality down (never below 90); if the file is still too large the image is
    downscaled until it fits, because marketplaces reject the upload otherwise.
    """
    if fmt not in _PIL_FORMAT:
        raise BadInputError(
            f"output format {fmt!r} not one of {', '.join(OUTPUT_FORMATS)}", code=errors.BAD_OPTION
        )
    # A 2-D array is a mask or grayscale image and is written as such.
    img = Image.fromarray(rgb, "L" if rgb.ndim == 2 else "RGB")
    if alpha is not None and fmt != "jpg" and rgb.ndim == 3:
        img.putalpha(Image.fromarray(alpha, "L"))
    qualities = [jpeg_quality, 92, 90] if fmt in ("jpg", "webp") else [0]
    while True:
        for q in qualities:
            buf = io.BytesIO()
            kwargs: dict[str, object] = {}
            if img.mode != "L":
                kwargs["icc_profile"] = _SRGB_ICC
            if fmt == "png":
                kwargs["optimize"] = False
                kwargs["compress_level"] = 3  # 0.13 s vs 0.32 s at 6 for 1024², 9% larger
            else:
                kwargs["quality"] = q
            if fmt == "jpg":
                kwargs["subsampling"] = 0 if q >= 95 else 2
            img.save(buf, _PIL_FORMAT[fmt], **kwargs)
            if buf.tell() <= max_bytes:
                return buf.getvalue()
        scale = (max_bytes / buf.tell()) ** 0.5 * 0.95
        img = img.resize(
            (max(1, int(img.width * scale)), max(1, int(img.height * scale))),
            Image.Resampling.LANCZOS,
        )


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write via a temp file and rename, so readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp creates 0600; a result file should get the usual permissions (umask).
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_image(
    path: str | Path,
    rgb: ImageArray,
    fmt: str | None = None,
    alpha: MaskArray | None = None,
    max_bytes: int = 5 * 1024 * 1024,
) -> Path:
    path = Path(path)
    fmt = fmt or {".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}.get(path.suffix.lower(), "png")
    write_atomic(path, encode_image(rgb, fmt, alpha=alpha, max_bytes=max_bytes))
    return path


class InputLimitsSettings(ServiceSettings):
    """Input limits from ``GLOBALPIC_INPUT__MAX_BYTES`` / ``__MIN_SIDE`` / ``__MAX_PIXELS``."""

    model_config = settings_config("input")

    max_bytes: int = ImageLimits.max_bytes
    min_side: int = ImageLimits.min_side
    max_pixels: int = ImageLimits.max_pixels

    def limits(self) -> ImageLimits:
        return ImageLimits(self.max_bytes, self.min_side, self.max_pixels)

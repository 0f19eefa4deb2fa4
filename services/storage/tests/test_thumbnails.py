from __future__ import annotations

import io

import pytest
from PIL import Image

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.thumbnails import make_thumbnail


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_long_side_fits_and_aspect_is_kept() -> None:
    source = Image.new("RGB", (1200, 800), (200, 30, 30))
    thumb = _open(make_thumbnail(_encode(source, "JPEG")))
    assert thumb.format == "JPEG" and thumb.mode == "RGB"
    assert thumb.size == (256, 171)
    r, g, b = thumb.getpixel((128, 85))  # type: ignore[misc]
    assert abs(r - 200) < 8 and g < 45 and b < 45


def test_custom_side_and_no_upscaling() -> None:
    source = _encode(Image.new("RGB", (100, 300), "blue"), "PNG")
    assert _open(make_thumbnail(source, max_side=150)).size == (50, 150)
    assert _open(make_thumbnail(source, max_side=1000)).size == (100, 300)


def test_transparency_becomes_white() -> None:
    source = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    source.paste((10, 200, 10, 255), (100, 100, 300, 300))
    thumb = _open(make_thumbnail(_encode(source, "PNG")))
    assert min(thumb.getpixel((2, 2))) > 245  # type: ignore[arg-type]
    r, g, b = thumb.getpixel((128, 128))  # type: ignore[misc]
    assert g > 180 and r < 40 and b < 40


def test_exif_orientation_applied() -> None:
    source = Image.new("RGB", (600, 300), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    thumb = _open(make_thumbnail(_encode(source, "JPEG", exif=exif.tobytes())))
    assert thumb.size == (128, 256)


def test_not_an_image() -> None:
    with pytest.raises(BadInputError) as excinfo:
        make_thumbnail(b"not an image at all")
    assert excinfo.value.code == errors.UNSUPPORTED_FORMAT


def test_truncated_image() -> None:
    whole = _encode(Image.effect_noise((300, 300), 40).convert("RGB"), "PNG")
    with pytest.raises(BadInputError) as excinfo:
        make_thumbnail(whole[: len(whole) // 2])
    assert excinfo.value.code == errors.CORRUPT_IMAGE


def test_decompression_bomb_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(BadInputError) as excinfo:
        make_thumbnail(_encode(Image.new("RGB", (150, 100)), "PNG"))  # 1.5x the limit: a warning
    assert excinfo.value.code == errors.IMAGE_TOO_LARGE

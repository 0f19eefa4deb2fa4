from __future__ import annotations

import io

import numpy as np
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


def _stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores with EXIF ``Orientation`` so that a viewer shows ``upright``,
    from the tag's EXIF 2.3 definition (which visual side the stored 0th row / 0th column is:
    1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top, 6 right/top,
    7 right/bottom, 8 left/bottom), written with numpy rather than Pillow's transpose table."""
    u = np.asarray(upright)
    t = u.transpose(1, 0, 2)
    stored = {1: u, 2: u[:, ::-1], 3: u[::-1, ::-1], 4: u[::-1, :]}.get(orientation)
    if stored is None:
        stored = {5: t, 6: t[::-1, :], 7: t[::-1, ::-1], 8: t[:, ::-1]}[orientation]
    return Image.fromarray(np.ascontiguousarray(stored))


def _colour_at(thumb: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    r, g, b = thumb.getpixel((x, y))  # type: ignore[misc]
    return int(r), int(g), int(b)


def _near(colour: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(c - w) <= 40 for c, w in zip(colour, want, strict=True))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(orientation: int) -> None:
    # The upright scene: landscape 600x300, white, red quarter at the top-left, blue block at
    # the top-right. A viewer honouring the tag shows exactly this.
    upright = Image.new("RGB", (600, 300), (255, 255, 255))
    upright.paste((255, 0, 0), (0, 0, 150, 150))
    upright.paste((0, 0, 255), (500, 0, 600, 100))
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = _stored_for_orientation(upright, orientation)
    thumb = _open(make_thumbnail(_encode(stored, "JPEG", exif=exif.tobytes(), quality=95)))
    assert thumb.size == (256, 128)
    # In the 256x128 thumbnail: red covers (0..64, 0..64), blue (213..256, 0..43).
    corners = {
        "top-left": _colour_at(thumb, 20, 20),
        "top-right": _colour_at(thumb, 245, 10),
        "bottom-left": _colour_at(thumb, 10, 117),
        "bottom-right": _colour_at(thumb, 245, 117),
    }
    want = {
        "top-left": (255, 0, 0),
        "top-right": (0, 0, 255),
        "bottom-left": (255, 255, 255),
        "bottom-right": (255, 255, 255),
    }
    wrong = {k: v for k, v in corners.items() if not _near(v, want[k])}
    assert not wrong, f"orientation {orientation}: corners {corners}"
    assert _near(_colour_at(thumb, 150, 64), (255, 255, 255))


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

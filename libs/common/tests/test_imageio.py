"""Input validation and output encoding: every rejected case has a stable code."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import (
    ImageLimits,
    decode_image,
    encode_image,
    load_image,
    load_mask,
    save_image,
)


def _photo(w: int = 640, h: int = 560, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)], axis=-1)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _save(img: Image.Image, path: Path, fmt: str, **kw: object) -> Path:
    img.save(path, fmt, **kw)
    return path


def _code(exc: pytest.ExceptionInfo[BadInputError]) -> str:
    return exc.value.code


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_reads_supported_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    arr = _photo()
    path = _save(Image.fromarray(arr), tmp_path / f"a.{ext}", fmt, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape == (560, 640, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.source_format == ext
    assert loaded.alpha is None


def test_exif_orientation_applied(tmp_path: Path) -> None:
    arr = _photo(700, 560)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = _save(img, tmp_path / "r.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape[:2] == (700, 560)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_photo()).convert("CMYK"), tmp_path / "c.jpg", "JPEG")
    loaded = load_image(path)
    assert loaded.rgb.shape == (560, 640, 3)
    # Red-ish top-right corner stays red-ish after CMYK -> RGB.
    r, g, b = loaded.rgb[5, 630].astype(int)
    assert r > g and r > b


def test_16bit_grayscale_png_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 600)[None, :].repeat(560, 0)).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(ramp).save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (560, 600, 3)
    assert loaded.rgb[0, 0, 0] < 5 and loaded.rgb[0, -1, 0] > 250
    assert 100 < loaded.rgb[0, 300, 0] < 155  # mid-grey, not saturated


def test_grayscale_and_palette(tmp_path: Path) -> None:
    gray = _save(Image.fromarray(_photo()).convert("L"), tmp_path / "g.png", "PNG")
    pal = _save(Image.fromarray(_photo()).convert("P"), tmp_path / "p.png", "PNG")
    assert load_image(gray).rgb.shape == (560, 640, 3)
    assert load_image(pal).rgb.shape == (560, 640, 3)


def test_alpha_kept_aside(tmp_path: Path) -> None:
    img = Image.fromarray(_photo()).convert("RGBA")
    a = np.full((560, 640), 255, np.uint8)
    a[:100] = 0
    img.putalpha(Image.fromarray(a))
    loaded = load_image(_save(img, tmp_path / "a.png", "PNG"))
    assert loaded.alpha is not None and loaded.alpha[0, 0] == 0 and loaded.alpha[-1, -1] == 255


def test_embedded_icc_profile_converted_to_srgb(tmp_path: Path) -> None:
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = _save(Image.fromarray(_photo()), tmp_path / "i.jpg", "JPEG", icc_profile=lab)
    assert load_image(path).rgb.shape == (560, 640, 3)


def test_too_small_rejected(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_photo(600, 400)), tmp_path / "s.png", "PNG")
    with pytest.raises(BadInputError) as exc:
        load_image(path)
    assert _code(exc) == errors.IMAGE_TOO_SMALL
    assert load_image(path, ImageLimits(min_side=256)).height == 400  # configurable


def test_too_large_file_rejected(tmp_path: Path) -> None:
    path = _save(Image.fromarray(_photo()), tmp_path / "big.png", "PNG")
    with pytest.raises(BadInputError) as exc:
        load_image(path, ImageLimits(max_bytes=1000))
    assert _code(exc) == errors.FILE_TOO_LARGE


def test_decompression_bomb_rejected_before_decoding(tmp_path: Path) -> None:
    # 20000 x 20000 of a single colour compresses to a tiny PNG: a classic bomb.
    path = tmp_path / "bomb.png"
    Image.new("L", (20000, 20000)).save(path, optimize=True)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(BadInputError) as exc:
        load_image(path)
    assert _code(exc) == errors.IMAGE_TOO_LARGE


def test_truncated_and_corrupt_rejected(tmp_path: Path) -> None:
    good = _save(Image.fromarray(_photo()), tmp_path / "t.jpg", "JPEG", quality=95).read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(good[: len(good) // 2])
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "trunc.jpg")
    assert _code(exc) == errors.CORRUPT_IMAGE
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff" + b"garbage" * 100)
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "junk.jpg")
    assert _code(exc) in (errors.CORRUPT_IMAGE, errors.UNSUPPORTED_FORMAT)


def test_non_image_and_unsupported_format(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not an image at all")
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "notes.jpg")
    assert _code(exc) == errors.UNSUPPORTED_FORMAT
    gif = _save(Image.fromarray(_photo()).convert("P"), tmp_path / "a.gif", "GIF")
    with pytest.raises(BadInputError) as exc:
        load_image(gif)
    assert _code(exc) == errors.UNSUPPORTED_FORMAT


def test_missing_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "nope.jpg")
    assert _code(exc) == errors.FILE_NOT_FOUND
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "empty.png")
    assert _code(exc) == errors.CORRUPT_IMAGE


def test_jpeg_output_is_srgb_quality_at_least_90(tmp_path: Path) -> None:
    arr = _photo(1024, 1024)
    path = save_image(tmp_path / "o.jpg", arr)
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert img.info.get("icc_profile")
        desc = ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        )
        assert "sRGB" in desc
        # libjpeg's quantisation tables scale with quality: q95 luminance DC entry is 2.
        assert img.quantization[0][0] <= 3
    back = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert np.abs(back - arr).mean() < 4


def test_output_capped_at_max_bytes() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)
    for fmt in ("png", "jpg", "webp"):
        data = encode_image(noise, fmt, max_bytes=1_000_000)
        assert len(data) <= 1_000_000
        assert decode_image(data, "x", ImageLimits(min_side=1)).rgb.ndim == 3


def test_png_keeps_alpha(tmp_path: Path) -> None:
    arr = _photo()
    alpha = np.zeros(arr.shape[:2], np.uint8)
    alpha[100:200] = 255
    path = save_image(tmp_path / "a.png", arr, alpha=alpha)
    assert Image.open(path).mode == "RGBA"


def test_save_is_atomic_no_temp_left(tmp_path: Path) -> None:
    save_image(tmp_path / "x.png", _photo())
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]
    umask = os.umask(0)
    os.umask(umask)
    # Not mkstemp's private 0600: the permissions any new file gets under this umask.
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_load_mask_scales_and_rejects_wrong_aspect(tmp_path: Path) -> None:
    m = np.zeros((280, 320), np.uint8)
    m[10:50, 10:50] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    full = load_mask(tmp_path / "m.png", (640, 560))
    assert full.shape == (560, 640) and full[40, 40] == 255 and full[300, 300] == 0
    with pytest.raises(BadInputError) as exc:
        load_mask(tmp_path / "m.png", (640, 640))
    assert _code(exc) == errors.BAD_MASK


def test_recognised_header_then_junk_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(BadInputError) as exc:
        load_image(tmp_path / "b.jpg")
    assert _code(exc) == errors.CORRUPT_IMAGE

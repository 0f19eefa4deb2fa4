"""Input validation and output encoding: every rejected case has a stable code."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import (
    ICC_DATE,
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


ANY_SIZE = ImageLimits(min_side=1)
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _upright_scene(h: int = 48, w: int = 80) -> np.ndarray:
    """What a viewer must show: landscape, white, a red block at the top-left corner and a
    smaller blue one at the top-right (one marked corner plus the frame's shape already tell
    all 8 orientations apart; the second block makes a failure easier to read)."""
    scene = np.full((h, w, 3), 255, np.uint8)
    scene[:16, :16] = RED
    scene[:8, -8:] = BLUE
    return scene


def _stored_for_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores with EXIF ``Orientation`` so that a viewer shows
    ``upright``, from the EXIF 2.3 definition of the tag (which visual side the stored
    0th row / 0th column is), written with numpy, not with Pillow's transpose table:
    1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top, 6 right/top,
    7 right/bottom, 8 left/bottom."""
    u = upright
    return {
        1: u,
        2: u[:, ::-1],
        3: u[::-1, ::-1],
        4: u[::-1, :],
        5: u.transpose(1, 0, 2),
        6: u.transpose(1, 0, 2)[::-1, :],  # = np.rot90(u): the viewer turns it 90 deg CW
        7: u.transpose(1, 0, 2)[::-1, ::-1],
        8: u.transpose(1, 0, 2)[:, ::-1],  # = np.rot90(u, -1): the viewer turns it 90 deg CCW
    }[orientation].copy()


def _with_orientation(arr: np.ndarray, orientation: int, fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    params: dict[str, object] = {"exif": exif.tobytes()}
    if fmt == "JPEG":
        params.update(quality=100, subsampling=0)
    Image.fromarray(arr).save(buf, fmt, **params)
    return buf.getvalue()


def _png(arr: np.ndarray, colour_type: int, bit_depth: int = 16) -> bytes:
    """A minimal PNG written by hand (Pillow cannot write 16-bit colour): ``arr`` is
    H x W x C big-endian samples (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)."""
    h, w = arr.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    raw = b"".join(b"\x00" + arr[y].astype(dtype).tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --- A Display P3 ICC profile (v2 matrix/TRC), built here so no file outside the repo is
# needed. Primaries: Apple's Display P3 profile, Bradford-adapted to D50 as ICC wants; tone
# curve: the sRGB one (as Display P3 has), as a parametric curve of type 3.
_D50 = (0.9642, 1.0, 0.8249)
_P3_PRIMARIES_D50 = {
    b"rXYZ": (0.5151, 0.2412, -0.0011),
    b"gXYZ": (0.2920, 0.6922, 0.0419),
    b"bXYZ": (0.1571, 0.0666, 0.7841),
}
# Linear Display P3 -> linear sRGB (both D65): the textbook matrix, independent of LittleCMS.
_P3_TO_SRGB = np.array([[1.2249, -0.2247, 0.0], [-0.0420, 1.0419, 0.0], [-0.0197, -0.0786, 1.0979]])


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _display_p3_icc() -> bytes:
    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(_s15f16(c) for c in v)

    srgb_curve = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    trc = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15f16(v) for v in srgb_curve)
    name = b"Display P3 (test)\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + bytes(8 + 3 + 67)
    tags = [(b"desc", desc), (b"wtpt", xyz(_D50))]
    tags += [(sig, xyz(v)) for sig, v in _P3_PRIMARIES_D50.items()]
    tags += [(b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc), (b"cprt", b"text\0\0\0\0CC0\0")]
    start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += bytes(-len(data) % 4)  # tag data starts on a 4-byte boundary
        table += sig + struct.pack(">II", start + len(data), len(body))
        data += body
    data += bytes(-len(data) % 4)
    header = (
        struct.pack(">I", start + len(data))
        + b"lcms"
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + bytes(12)  # date
        + b"acspAPPL"
        + bytes(20)  # flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + b"".join(_s15f16(c) for c in _D50)  # PCS illuminant
        + bytes(48)  # creator, id, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def _p3_to_srgb_expected(p3: np.ndarray) -> np.ndarray:
    """What a colour-managed viewer shows for P3 ``p3`` on an sRGB screen (relative
    colorimetric, out-of-gamut channels clipped), computed with numpy."""
    v = p3.astype(np.float64) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    out = np.clip(linear @ _P3_TO_SRGB.T, 0.0, 1.0)
    encoded = np.where(out <= 0.0031308, out * 12.92, 1.055 * out ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255.0).astype(np.uint8)


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_reads_supported_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    arr = _photo()
    path = _save(Image.fromarray(arr), tmp_path / f"a.{ext}", fmt, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape == (560, 640, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.source_format == ext
    assert loaded.alpha is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_shows_the_upright_scene(tmp_path: Path, orientation: int) -> None:
    upright = _upright_scene()
    stored = _stored_for_orientation(upright, orientation)
    assert orientation == 1 or stored.shape != upright.shape or not (stored == upright).all()
    path = tmp_path / "o.png"  # lossless: the result must equal the scene pixel for pixel
    path.write_bytes(_with_orientation(stored, orientation, "PNG"))
    rgb = load_image(path, ANY_SIZE).rgb
    assert rgb.shape == upright.shape
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[15, 15]) == RED, "red block not top-left"
    assert tuple(rgb[0, -1]) == BLUE, "blue block not top-right"
    assert tuple(rgb[-1, 0]) == WHITE and tuple(rgb[-1, -1]) == WHITE
    assert np.array_equal(rgb, upright)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_of_jpeg_bytes(orientation: int) -> None:
    """The upload path (``decode_image``) on the camera's own format."""
    upright = _upright_scene(96, 160)
    upright[:32, :32] = RED  # blocks as large as several JPEG blocks: the centres are exact
    upright[:16, -16:] = BLUE
    data = _with_orientation(_stored_for_orientation(upright, orientation), orientation, "JPEG")
    rgb = decode_image(data, "o.jpg", ANY_SIZE).rgb.astype(int)
    assert rgb.shape == upright.shape
    diff = np.abs(rgb - upright.astype(int))
    assert diff[8:24, 8:24].max() <= 8, f"red block not top-left: {rgb[16, 16]}"
    assert diff[4:12, -12:-4].max() <= 8, f"blue block not top-right: {rgb[8, -8]}"
    assert diff[-40:, :].max() <= 8 and np.abs(diff).mean() < 2


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
    expected = np.round(ramp.astype(np.float64) * 255 / 65535)
    assert np.abs(loaded.rgb[..., 0] - expected).max() <= 1
    assert (loaded.rgb[..., 0] == loaded.rgb[..., 1]).all()
    assert (loaded.rgb[..., 0] == loaded.rgb[..., 2]).all()


def test_dark_16bit_grayscale_png_is_not_read_as_8bit() -> None:
    """A 16-bit file whose samples all happen to be <= 255 is nearly black, not white: the
    low byte must not be taken for an 8-bit value."""
    dark = np.array([0x0000, 0x0080, 0x00FF, 0x00FF], np.uint16)[None, :, None].repeat(2, 0)
    rgb = decode_image(_png(dark, colour_type=0), "dark.png", ANY_SIZE).rgb
    assert rgb[..., 0].tolist() == [[0, 0, 1, 1]] * 2


@pytest.mark.parametrize("alpha", [False, True])
def test_16bit_colour_png_scaled_to_8bit(alpha: bool) -> None:
    samples = [0x0000, 0x00FF, 0x7FFF, 0x8000, 0x80FF, 0xFF00, 0xFFFF]
    expected = [s * 255 / 65535 for s in samples]
    ramp = np.array(samples, np.uint16)
    # R ramps up, G ramps down, B is constant 0x00FF: channel order and low bytes both show.
    arr = np.stack([ramp, ramp[::-1], np.full_like(ramp, 0x00FF)], axis=-1)
    if alpha:
        arr = np.concatenate([arr, ramp[::-1, None]], axis=-1)
    arr = arr[None].repeat(3, 0)
    loaded = decode_image(_png(arr, colour_type=6 if alpha else 2), "c16.png", ANY_SIZE)
    r, g, b = (loaded.rgb[1, :, c].astype(float) for c in range(3))
    assert np.abs(r - expected).max() <= 1, f"red {r.tolist()}"
    assert np.abs(g - expected[::-1]).max() <= 1, f"green {g.tolist()}"
    assert b.max() <= 1, f"0x00FF must be ~0, got {b.tolist()}"  # low byte never leaks
    assert r[3] in (127, 128) and r[-1] == 255 and r[1] <= 1
    if alpha:
        assert loaded.alpha is not None
        a = loaded.alpha[1].astype(float)
        assert np.abs(a - expected[::-1]).max() <= 1, f"alpha {a.tolist()}"
    else:
        assert loaded.alpha is None


def test_grayscale_values_become_equal_rgb(tmp_path: Path) -> None:
    levels = np.arange(256, dtype=np.uint8)[None, :].repeat(4, 0)
    levels[:, 0] = 77
    path = _save(Image.fromarray(levels, "L"), tmp_path / "g.png", "PNG")
    loaded = load_image(path, ANY_SIZE)
    assert tuple(loaded.rgb[0, 0]) == (77, 77, 77)
    assert np.array_equal(loaded.rgb, np.repeat(levels[..., None], 3, axis=2))
    assert loaded.alpha is None


def _palette_image() -> tuple[Image.Image, np.ndarray, np.ndarray]:
    palette = np.array([[255, 0, 0], [0, 128, 0], [10, 20, 200], [250, 240, 5]], np.uint8)
    indices = np.array([[0, 1, 2, 3] * 4, [3, 2, 1, 0] * 4] * 4, np.uint8)
    img = Image.fromarray(indices, "P")
    img.putpalette(palette.flatten().tolist())
    return img, indices, palette


def test_palette_indices_map_to_their_colours(tmp_path: Path) -> None:
    img, indices, palette = _palette_image()
    loaded = load_image(_save(img, tmp_path / "p.png", "PNG"), ANY_SIZE)
    assert tuple(loaded.rgb[0, 1]) == (0, 128, 0)
    assert np.array_equal(loaded.rgb, palette[indices])
    assert loaded.alpha is None


def test_palette_transparent_index_becomes_alpha(tmp_path: Path) -> None:
    img, indices, palette = _palette_image()
    single = load_image(_save(img, tmp_path / "t.png", "PNG", transparency=2), ANY_SIZE)
    assert single.alpha is not None
    assert np.array_equal(single.alpha, np.where(indices == 2, 0, 255))
    assert np.array_equal(single.rgb, palette[indices])
    # tRNS with one alpha per palette entry: each index gets its own alpha.
    per_entry = bytes([255, 0, 128, 255])
    multi = load_image(_save(img, tmp_path / "m.png", "PNG", transparency=per_entry), ANY_SIZE)
    assert multi.alpha is not None
    assert np.array_equal(multi.alpha, np.array([255, 0, 128, 255], np.uint8)[indices])


def test_grayscale_with_alpha_keeps_both(tmp_path: Path) -> None:
    gray = np.tile(np.array([0, 77, 200, 255], np.uint8), (4, 4))
    alpha = np.tile(np.array([[255], [128], [1], [0]], np.uint8), (1, 16))
    img = Image.merge("LA", [Image.fromarray(gray, "L"), Image.fromarray(alpha, "L")])
    loaded = load_image(_save(img, tmp_path / "la.png", "PNG"), ANY_SIZE)
    assert loaded.alpha is not None and np.array_equal(loaded.alpha, alpha)
    assert np.array_equal(loaded.rgb, np.repeat(gray[..., None], 3, axis=2))


def test_alpha_kept_aside(tmp_path: Path) -> None:
    arr = _photo()
    img = Image.fromarray(arr).convert("RGBA")
    a = np.full((560, 640), 255, np.uint8)
    a[:100] = 0
    a[100:120] = 77
    img.putalpha(Image.fromarray(a))
    loaded = load_image(_save(img, tmp_path / "a.png", "PNG"))
    assert loaded.alpha is not None and np.array_equal(loaded.alpha, a)
    assert np.array_equal(loaded.rgb, arr)  # colour under transparency is not premultiplied


def test_embedded_wide_gamut_profile_converted_to_srgb(tmp_path: Path) -> None:
    icc = _display_p3_icc()
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).startswith(
        "Display P3"
    )
    p3 = np.array(
        [[128, 128, 128], [200, 80, 40], [60, 160, 90], [90, 90, 200], [255, 255, 255]],
        np.uint8,
    )
    arr = np.repeat(p3[None], 4, axis=0)
    path = _save(Image.fromarray(arr), tmp_path / "p3.png", "PNG", icc_profile=icc)
    rgb = load_image(path, ANY_SIZE).rgb[0].astype(int)
    expected = _p3_to_srgb_expected(p3).astype(int)
    # The colours really move (a loader that ignores the profile fails here) ...
    assert np.abs(expected - p3.astype(int)).max() >= 60
    assert expected[2, 0] == 0  # P3 (60, 160, 90) is outside sRGB: red clips to 0
    assert np.abs(rgb - expected).max() <= 2, f"got {rgb.tolist()}, want {expected.tolist()}"
    # ... while neutrals stay neutral (same white point, same tone curve).
    assert tuple(rgb[0]) == (128, 128, 128) and tuple(rgb[4]) == (255, 255, 255)


def test_embedded_srgb_profile_leaves_pixels_alone(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    arr = _photo(64, 48)
    path = _save(Image.fromarray(arr), tmp_path / "s.png", "PNG", icc_profile=srgb)
    assert np.abs(load_image(path, ANY_SIZE).rgb.astype(int) - arr).max() <= 1


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
    alpha[150:160] = 77
    path = save_image(tmp_path / "a.png", arr, alpha=alpha)
    with Image.open(path) as img:
        assert img.mode == "RGBA"
        written = np.asarray(img)
    assert np.array_equal(written[..., 3], alpha)
    assert np.array_equal(written[..., :3], arr)
    back = load_image(path)
    assert back.alpha is not None and np.array_equal(back.alpha, alpha)


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


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_colour_key_transparency_becomes_alpha(tmp_path: Path, mode: str) -> None:
    """tRNS on a grey / RGB PNG names one colour as transparent: alpha 0 there only."""
    grey = np.tile(np.array([0, 77, 200, 255], np.uint8), (4, 4))
    arr = grey if mode == "L" else np.stack([grey, grey, grey], axis=-1)
    key: int | tuple[int, int, int] = 77 if mode == "L" else (77, 77, 77)
    path = _save(Image.fromarray(arr, mode), tmp_path / "k.png", "PNG", transparency=key)
    loaded = load_image(path, ANY_SIZE)
    assert loaded.alpha is not None, "the colour key's transparency was dropped"
    assert np.array_equal(loaded.alpha, np.where(grey == 77, 0, 255))
    assert np.array_equal(loaded.rgb, np.repeat(grey[..., None], 3, axis=2))


def test_equal_pixels_give_equal_files_whenever_written(tmp_path: Path) -> None:
    """The embedded sRGB profile carries a fixed creation date, not the time lcms built it
    (two runs of `make demo` wrote PNGs that differed only there)."""
    arr = _photo(64, 48)
    first = save_image(tmp_path / "a.png", arr).read_bytes()
    with Image.open(tmp_path / "a.png") as img:
        icc = img.info["icc_profile"]
    assert struct.unpack(">6H", icc[24:36]) == ICC_DATE
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    assert save_image(tmp_path / "b.png", arr).read_bytes() == first

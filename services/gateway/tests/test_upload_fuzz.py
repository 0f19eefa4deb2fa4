"""Crafted uploads against the real gateway (hypothesis, derandomized: the same examples on
every run).

Malformed uploads (truncated JPEG / PNG / WEBP, polyglots, empty files, decompression bombs,
EXIF bombs, absurd dimension headers, wrong content types and file names, random bytes, broken
multipart bodies, batches with one bad file, bad options beside good photos) go to a gateway
without a runner: every answer is a 4xx problem+json whose ``code`` is one the case allows,
never a 5xx, and nothing is stored (the storage directory stays empty, no job, image or
idempotency rows). Valid but unusual images (CMYK, 16-bit, grayscale, palette, RGBA, animated,
EXIF-rotated, mislabelled) go to a gateway with a runner (the tiny model, ``ops=extract``): 202,
and a completed image whose result has the photo's upright size and pixels.

One gateway per kind for the whole module, served from a thread of its own; each test counts
its uploads and asserts it sent at least its share (``MINIMUM``): more than 1 000 in all.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from globalpic_common.errors import BadInputError
from globalpic_common.imageio import ImageLimits, decode_image
from globalpic_jobs.options import parse_options
from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

# Pillow warns about the broken EXIF this module sends, in the gateway's thread.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

PROBLEM_JSON = "application/problem+json"
BOUNDARY = "fuzz-boundary-7d3a"
# The status each refusal code goes with (README, "Errors").
STATUS = {
    "bad_multipart": 400,
    "file_too_large": 413,
    "request_too_large": 413,
    "unsupported_format": 415,
    "unsupported_media_type": 415,
    "corrupt_image": 422,
    "image_too_small": 422,
    "image_too_large": 422,
    "no_images": 422,
    "too_many_images": 422,
    "validation_error": 422,
    "bad_option": 422,
    "bad_mask": 422,
    "unknown_style": 422,
    "unknown_platform": 422,
}
NOT_AN_IMAGE = {"unsupported_format", "corrupt_image"}
# Uploads each test sends at least (it asserts so): 1 000+ in all, whatever the xdist split.
MINIMUM = {
    "truncated": 180,
    "prepended": 60,
    "empty": 8,
    "bombs": 110,
    "exif": 110,
    "dimensions": 110,
    "labels": 110,
    "random": 140,
    "multipart": 100,
    "batches": 60,
    "options": 80,
}
UPLOADS: Counter[str] = Counter()

BASE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


def fuzz(kind: str) -> settings:
    """Reproducible (derandomized, no example database), no deadline (real HTTP round trips);
    a margin over the minimum for the examples hypothesis skips or repeats."""
    return settings(BASE, max_examples=MINIMUM[kind] * 5 // 4 + 5)


# --- crafting ------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    """An asymmetric picture: a red block top-left, a blue one bottom-right, on a ramp; its
    orientation shows in any corner."""
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack(
        [80 + 100 * x // max(width, 1), 80 + 100 * y // max(height, 1), 120 + 0 * x], axis=-1
    ).astype(np.uint8)
    arr[: height // 4, : width // 4] = (230, 20, 20)
    arr[-height // 4 :, -width // 4 :] = (20, 20, 230)
    return Image.fromarray(arr, "RGB")


def product(width: int, height: int) -> Image.Image:
    """A product photo (what the runner's cut-out is quick on); the box sits low and has a
    darker left edge, so any rotation or mirror of it differs from it."""
    side = max(width, height)
    photo = Image.open(io.BytesIO(photo_bytes(side, seed=7)))
    return photo.convert("RGB").crop((0, 0, width, height))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_declaring(width: int, height: int, depth: int = 8, color: int = 2) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` over a few bytes of pixels."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


TINY_JPEG = encode(gradient(16, 16), "JPEG", quality=80)
TINY_WEBP = encode(gradient(16, 16), "WEBP", quality=50)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 16 x 16 JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(TINY_JPEG)
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def webp_declaring(width: int, height: int) -> bytes:
    """A 16 x 16 WEBP behind a VP8X header whose canvas is ``width`` x ``height``."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4)
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    payload = b"WEBP" + vp8x + TINY_WEBP[12:]
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def declaring(fmt: str, width: int, height: int) -> bytes:
    if fmt == "png":
        return png_declaring(width, height)
    if fmt == "jpg":
        return jpeg_declaring(width, height)
    return webp_declaring(width, height)


DIMENSION_LIMIT = {"png": 2**31 - 1, "jpg": 2**16 - 1, "webp": 2**24}


def tiff(
    entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0, extra: bytes = b""
) -> bytes:
    """Little-endian TIFF (EXIF) bytes: IFD0 at offset 8 with ``entries``."""
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack("<HHI", tag, kind, count) + value
    return out + struct.pack("<I", next_ifd) + extra


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _u16(value: int) -> bytes:
    return struct.pack("<HH", value, 0)


EXIF_BOMBS: dict[str, bytes] = {
    "orientation_6": tiff([(0x0112, 3, 1, _u16(6))]),
    "orientation_0": tiff([(0x0112, 3, 1, _u16(0))]),
    "orientation_65535": tiff([(0x0112, 3, 1, _u16(65535))]),
    "orientation_as_text": tiff([(0x0112, 2, 4, b"six\x00")]),
    "count_4g": tiff([(0x0112, 3, 0xFFFFFFFF, _u32(26))]),
    "ifd_loops_to_itself": tiff([(0x0112, 3, 1, _u16(3))], next_ifd=8),
    "exif_ifd_cycle": tiff([(0x8769, 4, 1, _u32(8)), (0x0112, 3, 1, _u16(8))]),
    "gps_ifd_cycle": tiff([(0x8825, 4, 1, _u32(8))]),
    "offset_past_end": tiff([(0x010F, 2, 1000, _u32(0x7FFFFFF0))]),
    "claims_65535_entries": b"II*\x00" + _u32(8) + struct.pack("<H", 65535) + bytes(60),
    "bad_byte_order": b"XX*\x00" + _u32(8) + bytes(20),
    "ifd_offset_4g": b"II*\x00" + _u32(0xFFFFFFF0),
    "5000_entries": tiff([(0x9000 + k % 4000, 7, 8, _u32(8)) for k in range(5000)]),
    "60k_string": tiff([(0x010E, 2, 60000, _u32(26))], extra=b"A" * 60000),
    "rational_0_over_0": tiff([(0x011A, 5, 1, _u32(26))], extra=_u32(0) + _u32(0)),
    "nested_exif_ifds": tiff(
        [(0x8769, 4, 1, _u32(26))],
        extra=struct.pack("<H", 1) + struct.pack("<HHI", 0x8769, 4, 1) + _u32(26) + _u32(0),
    ),
}


def with_app1(jpeg: bytes, segments: list[bytes]) -> bytes:
    """``jpeg`` with APP1 segments right after its SOI."""
    out = jpeg[:2]
    for segment in segments:
        out += b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment
    return out + jpeg[2:]


def exif_image(container: str, exif: bytes, copies: int) -> bytes:
    """A 24 x 16 image (too small to process: refused after its EXIF was read) carrying
    ``exif`` ``copies`` times (JPEG: one APP1 segment each, up to 64 KB apiece)."""
    small = gradient(24, 16)
    if container == "jpg":
        segment = b"Exif\x00\x00" + exif[:65000]
        return with_app1(encode(small, "JPEG"), [segment] * copies)
    if container == "png":
        base = encode(small, "PNG")
        chunks = png_chunk(b"eXIf", exif) * copies
        return base[:33] + chunks + base[33:]  # after IHDR
    return encode(small, "WEBP", exif=b"Exif\x00\x00" + exif)


def _build_sources() -> dict[str, bytes]:
    photo = Image.open(io.BytesIO(photo_bytes(512, seed=5)))
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    return {
        "jpeg": photo_bytes(512, seed=5),
        "jpeg_progressive": encode(photo, "JPEG", quality=85, progressive=True),
        "png": encode(photo.resize((512, 512)), "PNG"),
        "png_interlaced": encode(product(520, 512), "PNG", interlace=1),
        "webp": encode(photo, "WEBP", quality=80),
        "webp_lossless_rgba": encode(rgba, "WEBP", lossless=True),
    }


SOURCES = _build_sources()
VALID_PHOTO = SOURCES["jpeg"]

HTML = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>\n"
ZIP_EMPTY = b"PK\x05\x06" + bytes(18)


def zip_with(name: str, data: bytes) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


PREFIXES = {
    "html": HTML,
    "zip": zip_with("payload.html", HTML),
    "empty_zip": ZIP_EMPTY,
    "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\n",
    "shell": b"#!/bin/sh\nrm -rf /\n",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "gif_header": b"GIF89a",
    "bom": b"\xef\xbb\xbf",
}


def local_verdict(data: bytes) -> str | None:
    """What the gateway's own decoder makes of ``data``: None if it decodes as a photo."""
    try:
        decode_image(data, "x", ImageLimits())
    except BadInputError as exc:
        return exc.code
    return None


# --- the served gateways -------------------------------------------------------------------


@dataclass
class Gateway:
    base_url: str
    keys: dict[str, str]
    root: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=60)

    def stored(self) -> list[Path]:
        return [p for p in (self.root / "storage").rglob("*") if p.is_file()]

    def rows(self) -> dict[str, int]:
        with sqlite3.connect(self.root / "gw.db") as db:
            return {
                table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("job", "job_image", "idempotency_key")
            }

    def post(
        self,
        kind: str,
        body: bytes,
        content_type: str | None = f"multipart/form-data; boundary={BOUNDARY}",
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        UPLOADS[kind] += 1
        sent = {"Authorization": f"Bearer {self.keys['tenant-a']}", **(headers or {})}
        if content_type is not None:
            sent["Content-Type"] = content_type
        return self.http.post("/v1/jobs", content=body, headers=sent)


@contextmanager
def served(root: Path, nats_url: str, *, runner: bool) -> Iterator[Gateway]:
    """The gateway (and a runner) served from a thread of its own until the module ends."""
    settings_, keys = harness_settings(f"sqlite:///{root / 'gw.db'}", nats_url)
    ready = threading.Event()
    failed: list[BaseException] = []
    control: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        control["loop"], control["stop"] = asyncio.get_running_loop(), stop
        storage = storage_at(root / "storage")
        async with running_gateway(settings_, keys, storage, concurrency=2 if runner else 1) as gw:
            if runner:
                await gw.start_runner(embedded_processor())
            control["url"] = gw.base_url
            ready.set()
            await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failed.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="fuzz-gateway", daemon=True)
    thread.start()
    ready.wait(180)
    if failed or "url" not in control:
        raise RuntimeError("the gateway did not start") from (failed[0] if failed else None)
    gateway = Gateway(control["url"], keys, root)
    try:
        yield gateway
    finally:
        gateway.http.close()
        control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(120)
        if failed:
            raise failed[0]


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> Iterator[Gateway]:
    """No runner: what is refused must leave nothing behind."""
    with served(tmp_path_factory.mktemp("fuzz-bare"), nats_url, runner=False) as gateway:
        yield gateway
    print(f"\ncrafted uploads on this worker: {sum(UPLOADS.values())} {dict(UPLOADS)}")


@pytest.fixture(scope="module")
def processing(
    tmp_path_factory: pytest.TempPathFactory, nats_url: str, tiny_u2net: Path
) -> Iterator[Gateway]:
    """With a runner on the tiny random-weight model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tiny_u2net))
        with served(tmp_path_factory.mktemp("fuzz-run"), nats_url, runner=True) as gateway:
            yield gateway


# --- multipart -----------------------------------------------------------------------------


def file_part(
    payload: bytes,
    filename: str = "photo.jpg",
    content_type: str | None = "image/jpeg",
    field_name: str = "images",
) -> bytes:
    escaped = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    head = f'Content-Disposition: form-data; name="{field_name}"; filename="{escaped}"\r\n'
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\n".encode() + head.encode() + b"\r\n" + payload + b"\r\n"


def field_part(name: str, value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
    return head.encode() + raw + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(payload: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> bytes:
    """One image and cheap options (the ops never run here)."""
    return multipart(field_part("ops", "extract"), file_part(payload, filename, content_type))


def refused(gateway: Gateway, response: httpx.Response, codes: Collection[str]) -> str:
    """A 4xx problem+json with one of ``codes``, and still nothing stored."""
    status = response.status_code
    assert 400 <= status < 500, f"{status} {response.text[:1000]}"
    assert response.headers.get("content-type") == PROBLEM_JSON, response.headers
    body = response.json()
    code = body["code"]
    assert body["status"] == status and body["type"] == f"urn:globalpic:problem:{code}", body
    assert code in codes, body
    assert STATUS.get(code, status) == status, body
    assert body["title"] and body["detail"], body
    assert gateway.stored() == [], "a refused upload left files behind"
    return str(code)


def nothing_recorded(gateway: Gateway, kind: str) -> None:
    assert gateway.stored() == []
    assert gateway.rows() == {"job": 0, "job_image": 0, "idempotency_key": 0}
    assert UPLOADS[kind] >= MINIMUM[kind], (kind, UPLOADS[kind])


# --- malformed: refused, nothing stored ----------------------------------------------------


def test_truncated_images(bare: Gateway) -> None:
    codes: Counter[str] = Counter()

    @fuzz("truncated")
    @given(source=st.sampled_from(sorted(SOURCES)), data=st.data())
    def check(source: str, data: st.DataObject) -> None:
        whole = SOURCES[source]
        cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
        payload = whole[:cut]
        if local_verdict(payload) is None:
            return  # the cut left a decodable image (a PNG missing only IEND): not malformed
        codes[refused(bare, bare.post("truncated", upload(payload)), NOT_AN_IMAGE)] += 1

    check()
    nothing_recorded(bare, "truncated")
    assert codes["corrupt_image"] > codes["unsupported_format"] > 0, codes


def test_prepended_polyglots(bare: Gateway) -> None:
    @fuzz("prepended")
    @given(
        prefix=st.sampled_from(sorted(PREFIXES)),
        source=st.sampled_from(sorted(SOURCES)),
        extra=st.binary(max_size=64),
    )
    def check(prefix: str, source: str, extra: bytes) -> None:
        payload = PREFIXES[prefix] + extra + SOURCES[source]
        response = bare.post("prepended", upload(payload, "photo.jpg"))
        # GIF89a + a JPEG: a GIF whose screen size is read from the JPEG's bytes (a bomb)
        refused(bare, response, NOT_AN_IMAGE | {"image_too_large", "image_too_small"})

    check()
    nothing_recorded(bare, "prepended")


def test_zero_byte_files(bare: Gateway) -> None:
    for content_type in ("image/jpeg", "image/png", "image/webp", "application/octet-stream", None):
        for body in (
            multipart(file_part(b"", "empty.jpg", content_type)),
            multipart(field_part("ops", "extract"), file_part(b"", "", content_type)),
        ):
            refused(bare, bare.post("empty", body), {"unsupported_format"})
    nothing_recorded(bare, "empty")


def test_decompression_bombs(bare: Gateway) -> None:
    @fuzz("bombs")
    @given(fmt=st.sampled_from(["png", "jpg", "webp"]), data=st.data())
    def check(fmt: str, data: st.DataObject) -> None:
        top = DIMENSION_LIMIT[fmt]
        width = data.draw(st.integers(1, top), label="width")
        low = max(1, 50_000_001 // width + 1)
        if low > top:
            width, low = top, 50_000_001 // top + 1
        height = data.draw(st.integers(low, top), label="height")
        assert width * height > 50_000_000
        response = bare.post("bombs", upload(declaring(fmt, width, height)))
        # WEBP's decoder refuses a canvas its frame does not fill before the size is checked
        allowed = {"image_too_large"} | ({"corrupt_image"} if fmt == "webp" else set())
        refused(bare, response, allowed)

    check()
    # the one the issue names: a small PNG declaring 50 000 x 50 000
    bomb = png_declaring(50_000, 50_000)
    assert len(bomb) < 200
    assert refused(bare, bare.post("bombs", upload(bomb, "bomb.png", "image/png")), STATUS) == (
        "image_too_large"
    )
    nothing_recorded(bare, "bombs")


def test_exif_bombs(bare: Gateway) -> None:
    exif = st.one_of(
        st.sampled_from(sorted(EXIF_BOMBS)).map(EXIF_BOMBS.__getitem__),
        st.binary(min_size=8, max_size=4096).map(lambda raw: b"II*\x00" + _u32(8) + raw),
        st.binary(min_size=0, max_size=512),
    )

    @fuzz("exif")
    @given(container=st.sampled_from(["jpg", "png", "webp"]), raw=exif, copies=st.integers(1, 40))
    def check(container: str, raw: bytes, copies: int) -> None:
        payload = exif_image(container, raw, copies)
        response = bare.post("exif", upload(payload, f"exif.{container}"))
        # read (and transposed by) its EXIF, then refused for its size: never a 5xx (a hang
        # ends in the client's timeout)
        refused(bare, response, {"image_too_small"})

    check()
    # huge EXIF: 40 APP1 segments of 64 KB (2.6 MB of metadata on a 24 x 16 photo)
    payload = exif_image("jpg", EXIF_BOMBS["60k_string"] + bytes(4000), 40)
    assert len(payload) > 2_500_000
    refused(bare, bare.post("exif", upload(payload)), {"image_too_small"})
    nothing_recorded(bare, "exif")


def test_absurd_dimension_headers(bare: Gateway) -> None:
    @fuzz("dimensions")
    @given(fmt=st.sampled_from(["png", "jpg", "webp"]), data=st.data())
    def check(fmt: str, data: st.DataObject) -> None:
        top = DIMENSION_LIMIT[fmt]
        low = 0 if fmt != "webp" else 1
        small = data.draw(st.integers(low, 511), label="short side")
        # A JPEG is decoded (its missing scan padded grey) before its size is checked: keep
        # those under 4 MP here (the cost is a finding of its own, reported elsewhere).
        longest = top if fmt != "jpg" else max(low, 4_000_000 // max(small, 1))
        other = data.draw(
            st.one_of(
                st.integers(low, min(600, longest)),
                st.integers(low, longest),
                st.sampled_from([low, longest]),
            ),
            label="long side",
        )
        width, height = data.draw(st.sampled_from([(small, other), (other, small)]))
        if width * height > 50_000_000:
            allowed = {"image_too_large", "corrupt_image"}
        else:
            allowed = {"image_too_small", "corrupt_image", "unsupported_format"}
        response = bare.post("dimensions", upload(declaring(fmt, width, height)))
        refused(bare, response, allowed)

    check()
    nothing_recorded(bare, "dimensions")


NOT_IMAGES = {
    "html": HTML,
    "zip": zip_with("a.jpg", VALID_PHOTO),
    "text": b"just some text\n",
    "gif": encode(gradient(600, 600).convert("P"), "GIF"),
    "bmp": encode(gradient(600, 600), "BMP"),
    "tiff": encode(gradient(600, 600), "TIFF"),
    "ico": encode(gradient(64, 64), "ICO"),
    "tiny_jpeg": encode(gradient(100, 80), "JPEG"),
    "truncated_jpeg": VALID_PHOTO[: len(VALID_PHOTO) // 2],
    "png_signature_only": PNG_SIGNATURE,
    "jpeg_soi_only": b"\xff\xd8\xff",
    "riff_webp_header": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
}
CONTENT_TYPES = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "text/html",
    "application/zip",
    "application/octet-stream",
    "image/svg+xml",
    "multipart/form-data",
    "image/jpeg; charset=utf-8",
    "x/x/x",
    "",
]
FILENAMES = st.one_of(
    st.sampled_from(
        [
            "photo.jpg",
            "../../etc/passwd",
            "..\\..\\windows\\win.ini",
            "/abs/path.png",
            "",
            ".",
            "..",
            "a" * 1000 + ".jpg",
            "杯子 ✓.jpeg",
            "name\x00.jpg",
            'quote".jpg',
            "crlf\r\nX-Injected: 1.jpg",
            "%00%2e%2e%2f.jpg",
            "photo.JPG.exe",
            "\u202egpj.exe",
        ]
    ),
    st.text(max_size=80),
)


def test_wrong_content_types_and_names(bare: Gateway) -> None:
    unsupported = {"gif", "bmp", "tiff", "ico", "html", "zip", "text"}

    @fuzz("labels")
    @given(
        kind=st.sampled_from(sorted(NOT_IMAGES)),
        content_type=st.sampled_from(CONTENT_TYPES),
        filename=FILENAMES,
    )
    def check(kind: str, content_type: str, filename: str) -> None:
        body = upload(NOT_IMAGES[kind], filename, content_type)
        response = bare.post("labels", body)
        if kind in unsupported:
            allowed = {"unsupported_format"}
        elif kind == "tiny_jpeg":
            allowed = {"image_too_small"}
        else:
            allowed = NOT_AN_IMAGE
        refused(bare, response, allowed)

    check()
    nothing_recorded(bare, "labels")


def test_random_bytes(bare: Gateway) -> None:
    @fuzz("random")
    @given(
        head=st.sampled_from([b"", b"\xff\xd8\xff", PNG_SIGNATURE, b"RIFF\0\0\0\0WEBP", b"GIF8"]),
        payload=st.binary(max_size=4096),
        content_type=st.sampled_from(CONTENT_TYPES),
    )
    def check(head: bytes, payload: bytes, content_type: str) -> None:
        response = bare.post("random", upload(head + payload, "r.bin", content_type))
        refused(bare, response, NOT_AN_IMAGE | {"image_too_small", "image_too_large"})

    check()
    nothing_recorded(bare, "random")


def _multipart_cases() -> st.SearchStrategy[tuple[bytes, str | None, set[str]]]:
    good = upload(VALID_PHOTO)
    header_values = st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=80
    )
    return st.one_of(
        # a photo cut off anywhere before its closing boundary
        st.integers(0, len(good) - 4).map(
            lambda cut: (good[:cut], f"multipart/form-data; boundary={BOUNDARY}", {"bad_multipart"})
        ),
        # not multipart at all
        st.tuples(
            st.sampled_from([VALID_PHOTO, b"{}", b"", b"images=a.jpg"]),
            st.sampled_from(
                [
                    "image/jpeg",
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                ]
            ),
        ).map(lambda case: (case[0], case[1], {"unsupported_media_type"})),
        st.just((good, None, {"unsupported_media_type"})),
        # multipart with a boundary missing, another one, or a junk header
        st.sampled_from(
            [
                "multipart/form-data",
                "multipart/form-data; boundary=",
                'multipart/form-data; boundary=""',
                "multipart/form-data; boundary=other",
                "multipart/form-data; boundary=fuzz-boundary-7d3",
                "multipart/form-data; boundary=" + "b" * 200,
            ]
        ).map(lambda content_type: (good, content_type, {"bad_multipart"})),
        header_values.map(
            lambda value: (
                good,
                "multipart/form-data; boundary=" + value,
                {"bad_multipart", "unsupported_media_type"},
            )
        ),
        # parts without a name, without form-data, headers without a colon, binary junk
        st.sampled_from(
            [
                f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n",
                f"--{BOUNDARY}\r\nContent-Disposition: attachment; name=images\r\n\r\nx\r\n"
                f"--{BOUNDARY}--\r\n",
                f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--{BOUNDARY}--\r\n",
                f"--{BOUNDARY}\r\n\r\nx\r\n--{BOUNDARY}--\r\n",
                f"--{BOUNDARY}--\r\n",
                f"--{BOUNDARY}\r\n",
            ]
        ).map(
            lambda body: (
                body.encode(),
                f"multipart/form-data; boundary={BOUNDARY}",
                {"bad_multipart", "no_images"},
            )
        ),
        st.binary(max_size=600).map(
            lambda junk: (
                f"--{BOUNDARY}\r\n".encode() + junk + f"\r\n--{BOUNDARY}--\r\n".encode(),
                f"multipart/form-data; boundary={BOUNDARY}",
                {"bad_multipart", "no_images", "validation_error", "request_too_large"}
                | NOT_AN_IMAGE,
            )
        ),
        # fields and files the route does not take, or too many of them
        st.sampled_from(
            [
                multipart(file_part(VALID_PHOTO, field_name="photo")),
                multipart(field_part("ops", "a"), field_part("ops", "b"), file_part(b"x")),
                multipart(*(field_part(f"f{k}", "x") for k in range(40)), file_part(b"x")),
                multipart(field_part("ops", "x" * 5000), file_part(b"x")),
                multipart(
                    file_part(b"x", field_name="background"),
                    file_part(b"y", "b.png", "image/png", "background"),
                ),
                multipart(field_part("ops", "extract")),
            ]
        ).map(
            lambda body: (
                body,
                f"multipart/form-data; boundary={BOUNDARY}",
                {"validation_error", "request_too_large", "no_images"},
            )
        ),
    )


def test_broken_multipart_bodies(bare: Gateway) -> None:
    @fuzz("multipart")
    @given(case=_multipart_cases())
    def check(case: tuple[bytes, str | None, set[str]]) -> None:
        body, content_type, allowed = case
        response = bare.post("multipart", body, content_type)
        refused(bare, response, allowed)

    check()
    nothing_recorded(bare, "multipart")


BAD_FILES = {
    "truncated": VALID_PHOTO[:5000],
    "html": HTML,
    "gif": NOT_IMAGES["gif"],
    "tiny": NOT_IMAGES["tiny_jpeg"],
    "bomb": png_declaring(50_000, 50_000),
    "empty": b"",
}
BAD_FILE_CODES = {
    "truncated": {"corrupt_image"},
    "html": {"unsupported_format"},
    "gif": {"unsupported_format"},
    "tiny": {"image_too_small"},
    "bomb": {"image_too_large"},
    "empty": NOT_AN_IMAGE,
}


def test_batches_with_one_bad_file(bare: Gateway) -> None:
    """Good photos around one bad file (an image, a mask or the background): refused whole,
    and not one of the good photos stored."""

    @fuzz("batches")
    @given(
        good=st.integers(1, 3),
        data=st.data(),
        bad=st.sampled_from(sorted(BAD_FILES)),
        slot=st.sampled_from(["images", "masks", "background"]),
    )
    def check(good: int, data: st.DataObject, bad: str, slot: str) -> None:
        photos = [file_part(SOURCES[name]) for name in ("jpeg", "png", "webp")[:good]]
        bad_part = file_part(BAD_FILES[bad], f"bad-{bad}", "image/png", field_name=slot)
        if slot == "masks" and bad == "gif":
            bad = "html"  # any readable picture of the photo's aspect ratio is a mask
            bad_part = file_part(BAD_FILES[bad], "bad-html", "image/png", field_name=slot)
        if slot == "images":
            at = data.draw(st.integers(0, good), label="position")
            parts = [field_part("ops", "extract"), *photos[:at], bad_part, *photos[at:]]
            allowed = BAD_FILE_CODES[bad]
        elif slot == "masks":
            parts = [field_part("ops", "clean,extract"), *photos, bad_part]
            allowed = {"bad_mask"}
        else:
            parts = [field_part("ops", "extract,remix"), *photos, bad_part]
            allowed = BAD_FILE_CODES[bad]
        refused(bare, bare.post("batches", multipart(*parts)), allowed)

    check()
    nothing_recorded(bare, "batches")


def test_bad_options_beside_good_photos(bare: Gateway) -> None:
    option = st.one_of(
        st.tuples(
            st.just("candidates"),
            st.one_of(
                st.sampled_from(["0", "9", "-1", "1.5", "1e3", "٣", "99999999999999999999", ""]),
                st.text(max_size=20),
            ),
        ),
        st.tuples(
            st.just("ops"),
            st.one_of(st.sampled_from(["", ",", "erase", "resize,"]), st.text(max_size=40)),
        ),
        st.tuples(st.sampled_from(["style", "platform"]), st.text(max_size=40)),
        st.tuples(st.just("copy_platforms"), st.sampled_from(["myspace", "amazon,,", "x" * 100])),
        st.tuples(st.sampled_from(["keywords", "facts"]), st.text(min_size=1, max_size=40)),
    )

    @fuzz("options")
    @given(option=option)
    def check(option: tuple[str, str]) -> None:
        name, value = option
        form = {"ops": "extract", name: value}
        try:
            parse_options(form)
        except BadInputError:
            pass
        else:
            return  # valid options (a blank style is no style): not what this test is about
        body = multipart(*(field_part(k, v) for k, v in form.items()), file_part(VALID_PHOTO))
        response = bare.post("options", body)
        refused(
            bare,
            response,
            {"bad_option", "validation_error", "unknown_style", "unknown_platform"},
        )

    check()
    nothing_recorded(bare, "options")


def test_the_uploads_add_up(bare: Gateway) -> None:
    """Each test checked its own share; together they are more than 1 000 uploads."""
    assert sum(MINIMUM.values()) > 1000


# --- valid but unusual: accepted and processed upright ---------------------------------------


def _exif_rotated(orientation: int) -> tuple[bytes, Image.Image]:
    """A JPEG stored sideways with the EXIF orientation that shows it upright, and the upright
    picture itself."""
    upright = product(600, 520)
    inverse = {
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        5: Image.Transpose.TRANSPOSE,
    }[orientation]
    stored = upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif), upright


def _png16(upright: Image.Image) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow writes none): rows of big-endian samples."""
    arr = np.asarray(upright).astype(np.uint16) * 257
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in arr)
    header = struct.pack(">IIBBBBB", upright.width, upright.height, 16, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def _animated(fmt: str) -> bytes:
    first = product(560, 540)
    second = Image.new("RGB", first.size, (0, 200, 0))
    return encode(first, fmt, save_all=True, append_images=[second], duration=100, loop=0)


def _cmyk() -> bytes:
    return encode(product(600, 520).convert("CMYK"), "JPEG", quality=95)


def _with_icc() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(product(560, 600), "PNG", icc_profile=profile)


def _palette_with_transparency() -> bytes:
    image = product(600, 520).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return encode(image, "PNG", transparency=0)


def _rgba() -> bytes:
    image = product(520, 600).convert("RGBA")
    image.putalpha(200)
    return encode(image, "PNG")


# (name, bytes, content type sent, file name, expected upright (w, h), upright picture or None)
def _valid_cases() -> list[tuple[str, bytes, str, str, tuple[int, int], Image.Image | None]]:
    cases: list[tuple[str, bytes, str, str, tuple[int, int], Image.Image | None]] = []
    for orientation in (3, 6, 8, 5):
        data, upright = _exif_rotated(orientation)
        cases.append(
            (f"exif_orientation_{orientation}", data, "image/jpeg", "r.jpg", upright.size, upright)
        )
    g = product(600, 520)
    cases += [
        ("cmyk_jpeg", _cmyk(), "image/jpeg", "cmyk.jpg", (600, 520), None),
        ("png_16bit_rgb", _png16(g), "image/png", "deep.png", (600, 520), g),
        (
            "png_16bit_gray",
            encode(g.convert("I;16"), "PNG"),
            "image/png",
            "g16.png",
            (600, 520),
            None,
        ),
        (
            "grayscale_jpeg",
            encode(g.convert("L"), "JPEG"),
            "image/jpeg",
            "gray.jpg",
            (600, 520),
            None,
        ),
        (
            "grayscale_alpha_png",
            encode(g.convert("LA"), "PNG"),
            "image/png",
            "la.png",
            (600, 520),
            None,
        ),
        (
            "palette_png_transparency",
            _palette_with_transparency(),
            "image/png",
            "p.png",
            (600, 520),
            None,
        ),
        ("rgba_png", _rgba(), "image/png", "rgba.png", (520, 600), None),
        (
            "animated_webp_first_frame",
            _animated("WEBP"),
            "image/webp",
            "anim.webp",
            (560, 540),
            product(560, 540),
        ),
        (
            "progressive_jpeg",
            SOURCES["jpeg_progressive"],
            "image/jpeg",
            "prog.jpg",
            (512, 512),
            None,
        ),
        ("interlaced_png", SOURCES["png_interlaced"], "image/png", "adam7.png", (520, 512), None),
        (
            "lossless_webp_alpha",
            SOURCES["webp_lossless_rgba"],
            "image/webp",
            "ll.webp",
            (512, 512),
            None,
        ),
        ("icc_profile_png", _with_icc(), "image/png", "icc.png", (560, 600), None),
        (
            "labelled_octet_stream",
            encode(g, "PNG"),
            "application/octet-stream",
            "noext",
            (600, 520),
            None,
        ),
        ("labelled_wrong_type", encode(g, "JPEG"), "image/png", "杯子 ✓.gif", (600, 520), None),
    ]
    return cases


VALID = _valid_cases()


def test_valid_but_unusual_images_are_processed_upright(processing: Gateway) -> None:
    submitted: dict[str, str] = {}
    for name, data, content_type, filename, _, _ in VALID:
        response = processing.post("valid", upload(data, filename, content_type))
        assert response.status_code == 202, (name, response.text)
        job = response.json()
        assert job["images"][0]["filename"] == filename.rsplit("/", 1)[-1], name
        submitted[name] = job["id"]
    gif = processing.post("valid", upload(_animated("GIF"), "anim.gif", "image/gif"))
    assert gif.status_code == 415 and gif.json()["code"] == "unsupported_format", gif.text

    deadline = time.monotonic() + 240
    pending = dict(submitted)
    jobs: dict[str, dict[str, Any]] = {}
    while pending and time.monotonic() < deadline:
        for name, job_id in list(pending.items()):
            job = processing.http.get(
                f"/v1/jobs/{job_id}",
                headers={"Authorization": f"Bearer {processing.keys['tenant-a']}"},
            ).json()
            if job["status"] in ("completed", "failed"):
                jobs[name] = job
                del pending[name]
        time.sleep(0.3)
    assert not pending, f"not finished: {sorted(pending)}"

    for name, _data, _ct, _fn, size, upright in VALID:
        job = jobs[name]
        image = job["images"][0]
        assert job["status"] == "completed", (name, image["error"])
        assert (image["width"], image["height"]) == size, name
        result = processing.http.get(
            image["outputs"][0]["url"],
            headers={"Authorization": f"Bearer {processing.keys['tenant-a']}"},
        )
        assert result.status_code == 200, (name, result.text)
        with Image.open(io.BytesIO(result.content)) as out:
            assert out.size == size, (name, out.size)
            if upright is not None:
                assert _orientation(out, upright) == "upright", name


def _orientation(result: Image.Image, upright: Image.Image) -> str:
    """Which view of ``upright`` ``result`` is (the cut-out keeps the photo's colours under
    its matte): the one of the same size it differs least from."""
    got = np.asarray(result.convert("RGBA"))[..., :3].astype(float)
    views = {
        "upright": upright,
        "rotated_180": upright.transpose(Image.Transpose.ROTATE_180),
        "mirrored": upright.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "flipped": upright.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        "rotated_90": upright.transpose(Image.Transpose.ROTATE_90),
        "rotated_270": upright.transpose(Image.Transpose.ROTATE_270),
        "transposed": upright.transpose(Image.Transpose.TRANSPOSE),
        "transversed": upright.transpose(Image.Transpose.TRANSVERSE),
    }
    scores = {
        view: float(np.abs(got - np.asarray(image, dtype=float)).mean())
        for view, image in views.items()
        if image.size == result.size
    }
    return min(scores, key=scores.__getitem__)


# --- what the first fuzz runs found ---------------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path, nats_url: str) -> Iterator[Gateway]:
    """A gateway of its own: these uploads are stored."""
    with served(tmp_path, nats_url, runner=False) as gateway:
        yield gateway


@pytest.mark.parametrize("suffix", ["zip", "html"])
def test_appended_polyglots_are_served_back_inert(scratch: Gateway, suffix: str) -> None:
    """Bytes after the image's end marker are kept (phones append motion-photo video there),
    so a JPEG + HTML polyglot is accepted; it comes back as an attachment the browser may not
    sniff into a page nor run."""
    payload = SOURCES["jpeg"] + PREFIXES[suffix]
    response = scratch.post("findings", upload(payload))
    assert response.status_code == 202, response.text
    auth = {"Authorization": f"Bearer {scratch.keys['tenant-a']}"}
    original = scratch.http.get(f"/v1/jobs/{response.json()['id']}/images/0/original", headers=auth)
    assert original.status_code == 200 and original.content == payload
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in original.headers["content-security-policy"]
    assert original.headers["content-disposition"].startswith("attachment")


def test_a_tiny_jpeg_declaring_a_huge_frame_is_refused(scratch: Gateway) -> None:
    """Under one bit per 8 x 8 block cannot be a whole JPEG: libjpeg would pad it with grey."""
    payload = jpeg_declaring(4096, 4096)
    assert len(payload) < 1000
    response = scratch.post("findings", upload(payload))
    assert response.status_code == 422, response.status_code
    assert response.json()["code"] == "corrupt_image"
    assert scratch.stored() == []

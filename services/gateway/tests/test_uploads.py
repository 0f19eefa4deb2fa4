"""The streaming multipart parser refuses oversize uploads while they stream in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.uploads import UploadLimits, parse_upload

BOUNDARY = "testboundary"
CHUNK = 64 * 1024


def _part(name: str, payload: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if filename:
        head += "Content-Type: image/jpeg\r\n"
    return head.encode() + b"\r\n" + payload + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class _Stream:
    """An ASGI receive() serving ``body`` in chunks and counting what was read."""

    def __init__(self, body: bytes) -> None:
        self.chunks: Iterator[bytes] = iter(
            [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
        )
        self.total = (len(body) + CHUNK - 1) // CHUNK
        self.read = 0

    async def __call__(self) -> dict[str, object]:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.read += 1
        return {"type": "http.request", "body": chunk, "more_body": self.read < self.total}


def _request(stream: _Stream, headers: dict[str, str] | None = None) -> Request:
    raw = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", **(headers or {})}
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/jobs",
        "headers": [(k.encode(), v.encode()) for k, v in raw.items()],
    }
    return Request(scope, stream)  # type: ignore[arg-type]


def _parse(body: bytes, limits: UploadLimits, **headers: str) -> tuple[object, _Stream]:
    stream = _Stream(body)

    async def run() -> object:
        return await parse_upload(_request(stream, headers), limits)

    try:
        return asyncio.run(run()), stream
    except ApiError as exc:
        return exc, stream


def test_fields_and_files_are_parsed() -> None:
    body = _body(
        _part("ops", b"extract,remix"),
        _part("images", b"A" * 1000, "a.jpg"),
        _part("images", b"B" * 300_000, "dir/b.jpg"),
    )
    parsed, _ = _parse(body, UploadLimits(max_file_bytes=1_000_000, max_files=5))
    assert not isinstance(parsed, ApiError)
    assert parsed.fields == {"ops": "extract,remix"}  # type: ignore[attr-defined]
    files = parsed.files  # type: ignore[attr-defined]
    assert [(f.filename, f.size) for f in files] == [("a.jpg", 1000), ("b.jpg", 300_000)]
    assert files[1].read() == b"B" * 300_000


def test_an_oversize_file_is_refused_before_the_body_is_read() -> None:
    big = _part("images", b"x" * (4 * 1024 * 1024), "huge.jpg")
    body = _body(big, _part("images", b"y" * 10, "late.jpg"))
    error, stream = _parse(body, UploadLimits(max_file_bytes=200_000, max_files=5))
    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (413, "file_too_large")
    # stopped a chunk or so past the limit, not after the whole 4 MB
    assert stream.read <= 200_000 // CHUNK + 2 < stream.total


def test_too_many_files_stops_at_the_first_file_past_the_limit() -> None:
    parts = [_part("images", b"z" * 100_000, f"{n}.jpg") for n in range(10)]
    error, stream = _parse(_body(*parts), UploadLimits(max_file_bytes=1_000_000, max_files=3))
    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (422, "too_many_images")
    assert stream.read < stream.total


def test_content_length_beyond_any_valid_request_is_refused_unread() -> None:
    body = _body(_part("images", b"x" * 10, "a.jpg"))
    limits = UploadLimits(max_file_bytes=1000, max_files=2)
    error, stream = _parse(body, limits, **{"content-length": str(50_000_000)})
    assert isinstance(error, ApiError)
    assert error.code == "request_too_large" and stream.read == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b"--testboundary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--testboundary--\r\n",
            "bad_multipart",
        ),
        (_body(_part("photo", b"x", "a.jpg")), "validation_error"),
        (_body(_part("ops", b"a"), _part("ops", b"b")), "validation_error"),
        (_body(_part("ops", b"o" * 10_000)), "request_too_large"),
    ],
)
def test_malformed_bodies(body: bytes, code: str) -> None:
    error, _ = _parse(body, UploadLimits(max_file_bytes=1000, max_files=2))
    assert isinstance(error, ApiError) and error.code == code


def test_not_multipart_is_unsupported_media_type() -> None:
    stream = _Stream(b"{}")
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", b"application/json")],
    }

    async def run() -> None:
        await parse_upload(Request(scope, stream), UploadLimits(1000, 2))  # type: ignore[arg-type]

    with pytest.raises(ApiError) as info:
        asyncio.run(run())
    assert (info.value.status, info.value.code) == (415, "unsupported_media_type")

"""A stored file as an HTTP download: ``Content-Length``, a strong ``ETag`` (the key is
content-addressed: its sha256 is the ETag), ``If-None-Match`` -> 304, and one byte ``Range``
-> 206 (RFC 9110 §14; several ranges in one request are answered whole, which the RFC allows).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError
from globalpic_storage import Storage

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# A stored upload is served back as it came: one that is also an HTML page or a script (a
# polyglot: bytes after the image's end marker) must stay an inert image download.
INERT = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


@dataclass(frozen=True)
class Download:
    tenant_id: str
    key: str
    media_type: str
    headers: dict[str, str]


def etag_of(key: str) -> str:
    """``tenants/<t>/<kind>/<sha256>.<ext>`` -> ``"<sha256>"``."""
    return '"' + key.rsplit("/", 1)[-1].split(".", 1)[0] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _byte_range(spec: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` (or ``a-``, ``-n``) -> (first, last) inclusive; None: serve it whole;
    ``ApiError(416)`` when nothing of the file is in it."""
    match = _RANGE.fullmatch(spec.strip())
    if match is None:
        return None  # another unit, or several ranges: the whole file (RFC 9110 §14.2)
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # the last n bytes
        first, last = max(0, size - int(last_text)), size - 1
    else:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or first > last:
        raise ApiError(
            416,
            problems.RANGE_NOT_SATISFIABLE,
            f"range {spec!r} is outside the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return first, last


async def download(request: Request, storage: Storage, item: Download) -> Response:
    etag = etag_of(item.key)
    headers = {**item.headers, "ETag": etag, "Accept-Ranges": "bytes", **INERT}
    headers["Cache-Control"] = "private, max-age=3600"  # a key never changes its bytes
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    info = await asyncio.to_thread(storage.stat, item.tenant_id, item.key)
    spec = request.headers.get("range")
    if_range = request.headers.get("if-range")
    span = _byte_range(spec, info.size) if spec and (if_range in (None, etag)) else None
    if span is None:
        chunks = await asyncio.to_thread(storage.iter_chunks, item.tenant_id, item.key)
        headers["Content-Length"] = str(info.size)
        return StreamingResponse(chunks, media_type=item.media_type, headers=headers)
    first, last = span
    data = await asyncio.to_thread(storage.get, item.tenant_id, item.key)
    headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    return Response(
        data[first : last + 1], status_code=206, media_type=item.media_type, headers=headers
    )

"""Reading an upload in bounded chunks: hash it, count it, stop at the size limit.

An upload may be bytes, a binary file object or an iterator of chunks (a gRPC stream). It is
never read whole into memory: each chunk goes to a sink (a temp file) as it arrives, and the
copy stops with ``file_too_large`` as soon as the running total passes the limit, so an
oversized upload costs at most one chunk beyond the limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from globalpic_common import errors
from globalpic_common.errors import BadInputError

CHUNK_BYTES = 1024 * 1024

Payload = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class Copied:
    size: int
    sha256: str


def iter_payload(payload: Payload, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    if isinstance(payload, bytes | bytearray | memoryview):
        view = memoryview(payload)
        for start in range(0, len(view), chunk_bytes):
            yield bytes(view[start : start + chunk_bytes])
        return
    read = getattr(payload, "read", None)
    if callable(read):  # a file object: read in chunks, never line by line
        while chunk := read(chunk_bytes):
            yield bytes(chunk)
        return
    for chunk in payload:  # type: ignore[union-attr]
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"upload chunks must be bytes, not {type(chunk).__name__}")
        yield bytes(chunk)


def copy_bounded(payload: Payload, sink: _Writable, max_bytes: int) -> Copied:
    """Copy ``payload`` into ``sink`` while hashing it; ``BadInputError`` (``file_too_large``)
    the moment it exceeds ``max_bytes``. The caller discards the sink on error."""
    digest = hashlib.sha256()
    size = 0
    if isinstance(payload, bytes | bytearray | memoryview) and len(payload) > max_bytes:
        raise _too_large(max_bytes)  # known up front: do not even start copying
    for chunk in iter_payload(payload):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        digest.update(chunk)
        sink.write(chunk)
    return Copied(size=size, sha256=digest.hexdigest())


def _too_large(max_bytes: int) -> BadInputError:
    return BadInputError(
        f"object exceeds the {max_bytes} byte limit (GLOBALPIC_STORAGE__MAX_OBJECT_BYTES)",
        code=errors.FILE_TOO_LARGE,
    )

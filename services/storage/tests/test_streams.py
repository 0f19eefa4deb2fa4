from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.streams import copy_bounded, iter_payload


def test_copy_hashes_and_counts() -> None:
    data = b"x" * 3_000_000
    sink = io.BytesIO()
    copied = copy_bounded(io.BytesIO(data), sink, max_bytes=len(data))
    assert copied.size == len(data)
    assert copied.sha256 == hashlib.sha256(data).hexdigest()
    assert sink.getvalue() == data


def test_stops_reading_an_endless_stream_at_the_limit() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"\0" * 1000

    sink = io.BytesIO()
    with pytest.raises(BadInputError) as excinfo:
        copy_bounded(endless(), sink, max_bytes=10_000)
    assert excinfo.value.code == errors.FILE_TOO_LARGE
    assert pulled == 11  # the chunk that crossed the limit, not one more
    assert len(sink.getvalue()) <= 10_000  # the crossing chunk was never written


def test_oversized_bytes_refused_before_copying() -> None:
    sink = io.BytesIO()
    with pytest.raises(BadInputError):
        copy_bounded(b"\0" * 11, sink, max_bytes=10)
    assert sink.getvalue() == b""


def test_file_objects_are_read_in_chunks_not_lines() -> None:
    data = b"line\n" * 10
    assert list(iter_payload(io.BytesIO(data), chunk_bytes=20)) == [
        data[:20],
        data[20:40],
        data[40:],
    ]


def test_non_bytes_chunks_refused() -> None:
    with pytest.raises(TypeError):
        list(iter_payload(["text"]))  # type: ignore[list-item]

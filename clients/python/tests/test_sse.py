"""The SSE parser against the HTML standard's event stream interpretation."""

from __future__ import annotations

import pytest

from globalpic_client._models import Event
from globalpic_client._sse import SSEDecoder


def _feed_all(chunks: list[bytes]) -> tuple[list[Event], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events, decoder


def _split_everywhere(stream: bytes) -> list[list[bytes]]:
    """The stream whole, byte by byte, and cut in two at every offset."""
    cuts = [[stream], [stream[i : i + 1] for i in range(len(stream))]]
    cuts += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    return cuts


STREAM = (
    b"\xef\xbb\xbf: hello, a comment\n"
    b"retry: 2500\n"
    b'id: 7\nevent: progress\ndata: {"a":\ndata:  1}\n ignored: leading space\n\n'
    b": ping\r\n"
    b"id: 8\r\nevent: progress\r\ndata\r\ndata: x\r\n\r\n"
    b"id: 9\rdata: cr only\r\r"
    b"data: no id keeps the last\nunknown: field\nid: bad\0id\n\n"
    b"id: 10\n\n"  # an id without data: remembered, nothing dispatched
    b"event: completed\ndata: {}\n\n"
    b"data: cut off before its blank line"
)


@pytest.mark.parametrize("chunks", _split_everywhere(STREAM))
def test_events_whatever_the_chunking(chunks: list[bytes]) -> None:
    events, decoder = _feed_all(chunks)
    assert events == [
        Event(event="progress", data='{"a":\n 1}', id="7", retry=2500),
        Event(event="progress", data="\nx", id="8"),
        Event(event="message", data="cr only", id="9"),
        Event(event="message", data="no id keeps the last", id="9"),
        Event(event="completed", data="{}", id="10"),
    ]
    assert decoder.last_event_id == "10"
    assert decoder.retry == 2500
    assert decoder.comments == 2


def test_utf8_split_inside_a_character_and_json() -> None:
    payload = '{"input": "杯子.jpg", "percent": 50}'.encode()
    stream = b"id: 1\nevent: progress\ndata: " + payload + b"\n\n"
    for chunks in _split_everywhere(stream):
        events, _ = _feed_all(chunks)
        assert [e.json() for e in events] == [{"input": "杯子.jpg", "percent": 50}]


def test_field_without_space_and_colon_in_value() -> None:
    events, _ = _feed_all([b"data:a:b\nevent:x\n\n"])
    assert events == [Event(event="x", data="a:b")]


def test_invalid_retry_is_ignored() -> None:
    events, decoder = _feed_all([b"retry: 1s\ndata: a\n\n"])
    assert decoder.retry is None and events[0].retry is None

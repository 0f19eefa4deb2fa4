"""A Server-Sent Events parser (the WHATWG HTML "event stream interpretation"), fed bytes as
they arrive: lines end in CRLF, LF or CR (a CR at the end of a chunk may be half of a CRLF),
``data`` lines join with newlines, ``:`` lines are comments (the server's pings), ``id`` sets
the last event id (also when its event has no data), ``retry`` the reconnection time, and an
event is dispatched on a blank line only: a stream that ends mid-event drops that event."""

from __future__ import annotations

import codecs

from globalpic_client._models import Event


class SSEDecoder:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._first = True
        self._event = ""
        self._data: list[str] = []
        self._retry: int | None = None
        self.last_event_id = ""  # the stream's: kept across events, sent back on a resume
        self.retry: int | None = None  # the server's reconnection time (ms), if it set one
        self.comments = 0  # comment lines seen (pings): proof the connection is alive

    def feed(self, chunk: bytes) -> list[Event]:
        """The events ``chunk`` completes."""
        text = self._text.decode(chunk)
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        self._buffer += text
        events: list[Event] = []
        start = 0
        buffer = self._buffer
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr + 1 == length:  # a CR last in the chunk: wait for a possible LF
                    break
                end, after = cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:
                end, after = lf, lf + 1
            event = self._line(buffer[start:end])
            if event is not None:
                events.append(event)
            start = after
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = self.retry = int(value)
        return None  # other fields are ignored

    def _dispatch(self) -> Event | None:
        data, kind, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return Event(
            event=kind or "message",
            data="\n".join(data),
            id=self.last_event_id or None,
            retry=retry,
        )

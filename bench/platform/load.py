"""Open-loop load on the read side of the API: simulated users polling a running job.

Each of ``users`` users sends ``rate`` requests per second, on a fixed schedule that starts at
a random offset in [0, 1/rate) (jitter, so the users do not fire in lockstep) and does not wait
for earlier answers: a slow server gets the same request rate, not fewer requests (open loop).
Users alternate between the two endpoints, half of them starting with each:

* ``status``: ``GET /v1/jobs/{id}``; latency = scheduled send time -> whole body received.
* ``sse``: ``GET /v1/jobs/{id}/events``; latency = scheduled send time -> the first complete
  event received (the job's first event, replayed from the events stream), then the client
  closes the stream. It covers authentication, the job lookup, creating the JetStream
  consumer and the first delivery: what a browser waits for before its progress bar moves.

Latencies are measured from the *scheduled* time, so a lagging client loop counts against
the numbers rather than hiding a slow server (no coordinated omission); ``lag`` (actual send
- scheduled send) is reported so a lagging load generator shows. A request that errs or takes
longer than ``timeout`` is counted as an error, not as a latency; among the errors, answers
``429`` (the gateway's rate limits) and ``5xx`` are counted apart.

Users share one set of request headers, or each has its own (``headers`` a list: one API key
per user, so that each has its own rate-limit budgets, as separate customers do).

Each user is an ``HttpUser``: a minimal keep-alive HTTP/1.1 client on asyncio streams, light
enough not to take the CPU it is measuring (see its docstring).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

ENDPOINTS = ("status", "sse")
SLOW_S = 0.1  # the latency target (100 ms); slow_seconds counts the requests over it


class HttpStatusError(RuntimeError):
    """An answer other than 200; ``status`` says which (429s and 5xx are counted apart)."""

    def __init__(self, what: str, status: int) -> None:
        super().__init__(f"{what} {status}")
        self.status = status


@dataclass
class Sample:
    endpoint: str
    latency_s: float | None  # None: error
    lag_s: float
    error: str | None = None
    status: int | None = None  # the HTTP status of an error answer; None: no answer
    scheduled_s: float = 0.0  # its scheduled send, seconds after the load started


def _counts(errors: list[Sample]) -> dict[str, int]:
    statuses = [s.status for s in errors if s.status is not None]
    return {
        "rate_limited": sum(1 for status in statuses if status == 429),
        "server_errors": sum(1 for status in statuses if status >= 500),
    }


@dataclass
class LoadResult:
    users: int
    rate: float
    duration_s: float
    samples: list[Sample] = field(default_factory=list)

    def stats(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for endpoint in ENDPOINTS:
            mine = [s for s in self.samples if s.endpoint == endpoint]
            ok = [s.latency_s for s in mine if s.latency_s is not None]
            errors = [s for s in mine if s.latency_s is None]
            out[endpoint] = {
                "requests": len(mine),
                "errors": len(errors),
                **_counts(errors),
                "error_examples": sorted({s.error for s in errors if s.error})[:3],
                "p50_ms": percentile_ms(ok, 50),
                "p90_ms": percentile_ms(ok, 90),
                "p95_ms": percentile_ms(ok, 95),
                "p99_ms": percentile_ms(ok, 99),
                "max_ms": percentile_ms(ok, 100),
                "achieved_rps": len(mine) / self.duration_s if self.duration_s else 0.0,
            }
        lags = [s.lag_s for s in self.samples]
        out["client_lag"] = {"p50_ms": percentile_ms(lags, 50), "p99_ms": percentile_ms(lags, 99)}
        out["slow"] = self.slow_seconds()
        return out

    def slow_seconds(self, top: int = 5) -> dict[str, Any]:
        """Requests slower than ``SLOW_S`` and the seconds of the load (by scheduled send)
        holding most of them: a few crowded seconds are stalls, an even spread is contention."""
        slow = [s for s in self.samples if s.latency_s is not None and s.latency_s > SLOW_S]
        seconds = Counter(int(s.scheduled_s) for s in slow)
        return {
            "over_ms": SLOW_S * 1000,
            "requests": len(slow),
            "worst_seconds": [[second, count] for second, count in seconds.most_common(top)],
        }


def percentile_ms(values: list[float], q: float) -> float | None:
    """The q-th percentile in ms (linear interpolation between closest ranks); None if empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) * 1000.0


class HttpUser:
    """One simulated user's HTTP/1.1 client: keep-alive connections, like a browser's.

    Deliberately small (asyncio streams, no HTTP library): the load generator shares the 2 cores
    with what it measures, and 100 ``httpx.AsyncClient``s cost about 2.5 ms of CPU per request —
    a fifth of a core at 100 requests/s, time taken from the platform, and a generator that lags
    when the batch takes the CPU. This one costs a few tenths of a millisecond. It speaks just
    what these two requests need (GET, a ``Content-Length`` or chunked answer, ``Connection:
    close``) and fails loudly on anything else. Like the httpx clients it replaced: at most
    ``max_connections`` at once, ``max_idle`` kept open for the next request; a stream left
    before its end (SSE after its first event) closes its connection.
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        max_connections: int = 8,
        max_idle: int = 2,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"{base_url!r}: http://host[:port] only")
        self.host = url.hostname
        self.port = url.port or 80
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = f"Host: {url.netloc}\r\n{extra}"
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._max_idle = max_idle
        self._open: set[asyncio.StreamWriter] = set()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            self._drop(writer)
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self._open.add(writer)
        return reader, writer

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    async def _send(self, writer: asyncio.StreamWriter, path: str, accept: str) -> None:
        writer.write(f"GET {path} HTTP/1.1\r\n{self._head}Accept: {accept}\r\n\r\n".encode())
        await writer.drain()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        return status, fields

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        """The chunks of a ``Transfer-Encoding: chunked`` body, until the last."""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailer fields
                return
            chunk = await reader.readexactly(size + 2)
            yield chunk[:-2]

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``: (status, the whole body)."""
        async with self._slots:
            reader, writer = await self._connect()
            reusable = False
            try:
                await self._send(writer, path, "application/json")
                status, fields = await self._read_head(reader)
                if "content-length" in fields:
                    body = await reader.readexactly(int(fields["content-length"]))
                elif fields.get("transfer-encoding", "").lower() == "chunked":
                    body = b"".join([chunk async for chunk in self._chunks(reader)])
                else:
                    raise RuntimeError(f"status {status}: a body without a length")
                reusable = fields.get("connection", "").lower() != "close"
                return status, body
            finally:
                if reusable and len(self._idle) < self._max_idle:
                    self._idle.append((reader, writer))
                else:
                    self._drop(writer)

    async def first_event(self, path: str) -> dict[str, str]:
        """GET ``path`` as an event stream: the fields of its first complete event (a block
        with an ``event:`` line; comments such as pings are skipped), then the stream is
        closed."""
        async with self._slots:
            reader, writer = await self._connect()
            try:
                await self._send(writer, path, "text/event-stream")
                status, fields = await self._read_head(reader)
                if status != 200:
                    raise HttpStatusError("SSE", status)
                if fields.get("transfer-encoding", "").lower() != "chunked":
                    raise RuntimeError(f"SSE {fields.get('content-type')}: not a stream")
                buffer = ""
                async for chunk in self._chunks(reader):
                    buffer += chunk.decode()
                    blocks = buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
                    for block in blocks[:-1]:  # the last one is not complete yet
                        event = dict(
                            (name, value.removeprefix(" "))
                            for name, _, value in (
                                line.partition(":")
                                for line in block.split("\n")
                                if line and not line.startswith(":")
                            )
                        )
                        if "event" in event:
                            return event
                raise RuntimeError("stream ended without an event")
            finally:
                self._drop(writer)  # left mid-stream: not reusable

    async def close(self) -> None:
        for writer in list(self._open):
            self._drop(writer)
        self._idle.clear()


async def _status(user: HttpUser, job_id: str) -> None:
    status, _body = await user.get(f"/v1/jobs/{job_id}")
    if status != 200:
        raise HttpStatusError("status", status)


async def _sse_first_event(user: HttpUser, job_id: str) -> None:
    await user.first_event(f"/v1/jobs/{job_id}/events")


async def run_load(
    base_url: str,
    headers: Mapping[str, str] | Sequence[Mapping[str, str]],
    job_id: str,
    stop: asyncio.Event,
    *,
    users: int,
    rate: float = 1.0,
    timeout: float = 10.0,
    seed: int = 0,
    duration: float | None = None,
) -> LoadResult:
    """Load until ``stop`` is set, or for ``duration`` seconds (requests already sent are
    awaited). ``headers``: every user's, or a list of one per user."""
    rng = random.Random(seed)
    period = 1.0 / rate
    per_user = [headers] * users if isinstance(headers, Mapping) else list(headers)
    if len(per_user) != users:
        raise ValueError(f"{len(per_user)} users' headers for {users} users")
    clients = [HttpUser(base_url, dict(h)) for h in per_user]
    samples: list[Sample] = []
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    started = loop.time()
    if duration is not None:
        loop.call_later(duration, stop.set)

    async def one(client: HttpUser, endpoint: str, scheduled: float) -> None:
        lag = loop.time() - scheduled
        at = scheduled - started
        try:
            call = (
                _status(client, job_id)
                if endpoint == "status"
                else _sse_first_event(client, job_id)
            )
            await asyncio.wait_for(call, timeout)
            samples.append(Sample(endpoint, loop.time() - scheduled, lag, None, None, at))
        except Exception as exc:
            status = exc.status if isinstance(exc, HttpStatusError) else None
            error = f"{type(exc).__name__}: {exc}"[:120]
            samples.append(Sample(endpoint, None, lag, error, status, at))

    async def user(number: int) -> None:
        client = clients[number]
        first = started + rng.uniform(0.0, period)
        k = 0
        while not stop.is_set():
            scheduled = first + k * period
            delay = scheduled - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            endpoint = ENDPOINTS[(number + k) % 2]
            task = asyncio.create_task(one(client, endpoint, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            k += 1

    try:
        await asyncio.gather(*(user(n) for n in range(users)))
        duration = loop.time() - started
        if in_flight:
            await asyncio.gather(*list(in_flight), return_exceptions=True)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return LoadResult(users, rate, duration, samples)

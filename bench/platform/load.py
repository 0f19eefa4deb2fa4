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
longer than ``timeout`` is counted as an error, not as a latency.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from bench.platform.client import sse_events

ENDPOINTS = ("status", "sse")


@dataclass
class Sample:
    endpoint: str
    latency_s: float | None  # None: error
    lag_s: float
    error: str | None = None


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
            errors = [s.error for s in mine if s.latency_s is None]
            out[endpoint] = {
                "requests": len(mine),
                "errors": len(errors),
                "error_examples": sorted({e for e in errors if e})[:3],
                "p50_ms": percentile_ms(ok, 50),
                "p90_ms": percentile_ms(ok, 90),
                "p99_ms": percentile_ms(ok, 99),
                "max_ms": percentile_ms(ok, 100),
                "achieved_rps": len(mine) / self.duration_s if self.duration_s else 0.0,
            }
        lags = [s.lag_s for s in self.samples]
        out["client_lag"] = {"p50_ms": percentile_ms(lags, 50), "p99_ms": percentile_ms(lags, 99)}
        return out


def percentile_ms(values: list[float], q: float) -> float | None:
    """The q-th percentile in ms (linear interpolation between closest ranks); None if empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) * 1000.0


async def _status(client: httpx.AsyncClient, job_id: str) -> None:
    response = await client.get(f"/v1/jobs/{job_id}")
    if response.status_code != 200:
        raise RuntimeError(f"status {response.status_code}")
    await response.aread()


async def _sse_first_event(client: httpx.AsyncClient, job_id: str) -> None:
    async for _event in sse_events(client, job_id):
        return  # leaving the generator closes the stream
    raise RuntimeError("stream ended without an event")


async def run_load(
    base_url: str,
    headers: dict[str, str],
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
    awaited)."""
    rng = random.Random(seed)
    period = 1.0 / rate
    # One TLS context for all (plain http here): httpx would load the CA bundle per client,
    # which takes seconds for a hundred of them.
    tls = ssl.create_default_context()
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            verify=tls,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=2),
        )
        for _ in range(users)
    ]
    samples: list[Sample] = []
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    started = loop.time()
    if duration is not None:
        loop.call_later(duration, stop.set)

    async def one(client: httpx.AsyncClient, endpoint: str, scheduled: float) -> None:
        lag = loop.time() - scheduled
        try:
            call = (
                _status(client, job_id)
                if endpoint == "status"
                else _sse_first_event(client, job_id)
            )
            await asyncio.wait_for(call, timeout)
            samples.append(Sample(endpoint, loop.time() - scheduled, lag))
        except Exception as exc:
            samples.append(Sample(endpoint, None, lag, f"{type(exc).__name__}: {exc}"[:120]))

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
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    return LoadResult(users, rate, duration, samples)

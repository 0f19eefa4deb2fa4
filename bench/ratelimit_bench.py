"""The gateway's rate limits under load (issue 16): ``python -m bench.ratelimit_bench``.

1. **check overhead**: what ``RateLimitMiddleware`` adds to a request (the credential looked up,
   its plan, one token-bucket script in Redis on loopback, the headers), around an app that
   answers at once: p50 / p99 over ``--checks`` requests one after another (target p99 <= 1 ms
   with Redis), and how many checks a second one process makes when saturated (64 in flight),
   for Redis and for the in-process fallback;
2. **burst**: the gateway served as ``globalpic-gateway`` serves it (its own process, Redis,
   NATS, SQLite), a free-plan key bursting ``--burst-reads`` reads (``GET /v1/jobs``) in
   ``--burst-seconds`` s on a fixed schedule (open loop: a refused client does not slow down),
   while another key polls at ``--other-rate`` requests a second within its plan: the burst's
   answers by status (every 429 with ``Retry-After``; 5xx: target 0), and the other key's
   latency (target p99 <= 100 ms), beside its latency alone just before.

Redis: ``--redis-url``, else 127.0.0.1:6379 when it answers, else a private ``redis-server``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from globalpic_dev import redisd
from globalpic_dev.natsd import NatsServer, free_port
from globalpic_gateway.core.auth import ApiKeyAuthenticator
from globalpic_gateway.core.billing import Billing
from globalpic_gateway.core.config import ApiKeyEntry, GatewaySettings, hash_api_key, new_api_key
from globalpic_gateway.core.ratelimit import (
    InProcessStore,
    RateLimiter,
    RateLimitMiddleware,
    RedisStore,
    Store,
)
from globalpic_jobs.db import migrate

OVERHEAD_TARGET_MS = 1.0
LATENCY_TARGET_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- 1. the check's overhead --------------------------------------------------------------------


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def check_overhead(store: Store, checks: int) -> dict[str, float]:
    """The middleware around an app that answers at once: seconds per request."""
    keys = [new_api_key() for _ in range(100)]
    entries = [
        ApiKeyEntry(tenant_id=f"bench-{n}", key_sha256=hash_api_key(key), plan="enterprise")
        for n, key in enumerate(keys)
    ]
    state = SimpleNamespace(
        authenticator=ApiKeyAuthenticator(entries), billing=Billing(GatewaySettings(), None)
    )
    app = SimpleNamespace(state=SimpleNamespace(globalpic=state))
    huge = {"reads": 10**9, "submissions": 10**9, "streams": 10**9}
    limiter = RateLimiter(
        {"default": huge, "anonymous": huge, "enterprise": huge},
        1,
        store,
        prefix=f"bench:{uuid.uuid4().hex}:",
    )
    middleware = RateLimitMiddleware(_answer, limiter)
    statuses: Counter[int] = Counter()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] += 1
            assert any(k == b"ratelimit" for k, _v in message["headers"])

    async def one(n: int) -> float:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/v1/jobs",
            "headers": [(b"authorization", f"Bearer {keys[n % len(keys)]}".encode())],
            "client": ("127.0.0.1", 40000),
            "app": app,
            "state": {},
        }
        started = time.perf_counter()
        await middleware(scope, receive, send)
        return time.perf_counter() - started

    for n in range(200):  # warm: connections, script cache
        await one(n)
    sequential = [await one(n) for n in range(checks)]
    gate = asyncio.Semaphore(64)

    async def bounded(n: int) -> float:
        async with gate:
            return await one(n)

    began = time.perf_counter()
    concurrent = await asyncio.gather(*(bounded(n) for n in range(checks)))
    saturated = checks / (time.perf_counter() - began)
    await limiter.close()
    assert set(statuses) == {200}, statuses
    ms = 1000.0
    return {
        "sequential_p50_ms": percentile(sequential, 50) * ms,
        "sequential_p99_ms": percentile(sequential, 99) * ms,
        "in_flight_64_p50_ms": percentile(list(concurrent), 50) * ms,
        "in_flight_64_p99_ms": percentile(list(concurrent), 99) * ms,
        "checks_per_second_saturated": saturated,
    }


# -- 2. the burst against a served gateway ------------------------------------------------------


@dataclass
class Answers:
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: int = 0
    missing_headers: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


async def _open_loop(
    base: str, key: str, count: int, seconds: float, answers: Answers, started: float
) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30, limits=limits
    ) as client:

        async def request(at: float) -> None:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            began = time.perf_counter()
            try:
                answer = await client.get("/v1/jobs")
            except httpx.HTTPError as exc:
                answers.errors[type(exc).__name__] += 1
                return
            answers.latencies.append(time.perf_counter() - began)
            answers.statuses[answer.status_code] += 1
            if answer.status_code == 429 and int(answer.headers.get("Retry-After", "0")) >= 1:
                answers.retry_after += 1
            if "RateLimit-Policy" not in answer.headers or "RateLimit" not in answer.headers:
                answers.missing_headers += 1

        await asyncio.gather(*(request(n * seconds / count) for n in range(count)))


@contextmanager
def served_gateway(work: Path, redis_url: str, keys: dict[str, tuple[str, str]]) -> Iterator[str]:
    """``globalpic-gateway`` in its own process (rate limits on, Redis, NATS, SQLite):
    its base URL. ``keys``: tenant -> (key, plan)."""
    database_url = f"sqlite:///{work / 'gateway.db'}"
    migrate(database_url)
    script = Path(sys.executable).parent / "globalpic-gateway"
    with NatsServer(work / "nats") as nats:
        port = free_port()
        entries = [
            ApiKeyEntry(tenant_id=tenant, key_sha256=hash_api_key(key), plan=plan).model_dump()
            for tenant, (key, plan) in keys.items()
        ]
        env = {
            **os.environ,
            "GLOBALPIC_GATEWAY__DATABASE_URL": database_url,
            "GLOBALPIC_GATEWAY__MIGRATE_ON_STARTUP": "false",
            "GLOBALPIC_GATEWAY__NATS_URL": nats.url,
            "GLOBALPIC_GATEWAY__HOST": "127.0.0.1",
            "GLOBALPIC_GATEWAY__PORT": str(port),
            "GLOBALPIC_GATEWAY__API_KEYS": json.dumps(entries),
            "GLOBALPIC_GATEWAY__RATE_LIMITS": "true",
            "GLOBALPIC_GATEWAY__REDIS_URL": redis_url,
            "GLOBALPIC_GATEWAY__LOG_LEVEL": "WARNING",
            "GLOBALPIC_STORAGE__ROOT": str(work / "storage"),
        }
        log = (work / "gateway.log").open("wb")
        process = subprocess.Popen([str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the gateway did not start; see {work / 'gateway.log'}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(20)
            log.close()


async def burst(
    base: str, burster: str, other: str, reads: int, seconds: float, other_rate: float
) -> tuple[Answers, Answers, Answers]:
    """(the burster's answers, the other key's meanwhile, the other key's alone before)."""
    alone, hot, calm = Answers(), Answers(), Answers()
    polls = round(other_rate * seconds)
    await _open_loop(base, other, polls, seconds, alone, time.monotonic() + 0.5)
    started = time.monotonic() + 0.5
    await asyncio.gather(
        _open_loop(base, burster, reads, seconds, hot, started),
        _open_loop(base, other, polls, seconds, calm, started),
    )
    return hot, calm, alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ratelimit_bench", description=__doc__)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--burst-reads", type=int, default=600)
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--other-rate", type=float, default=10.0)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="globalpic-ratelimit-") as scratch:
        work = Path(scratch)
        with redisd.redis_url(args.redis_url, work) as redis_url:
            print(f"Redis: {redis_url}", flush=True)
            for name, store in (
                ("redis", RedisStore(redis_url)),
                ("in_process", InProcessStore()),
            ):
                figures = asyncio.run(check_overhead(store, args.checks))
                out[f"overhead_{name}"] = figures
                print(
                    f"[overhead] {name:10s} {args.checks} requests: one at a time "
                    f"p50 {figures['sequential_p50_ms']:.3f} ms, "
                    f"p99 {figures['sequential_p99_ms']:.3f} ms; saturated (64 in flight, "
                    f"this process' CPU): {figures['checks_per_second_saturated']:.0f} checks/s",
                    flush=True,
                )
            redis_p99 = out["overhead_redis"]["sequential_p99_ms"]
            ok &= redis_p99 <= OVERHEAD_TARGET_MS

            keys = {"burster": (new_api_key(), "free"), "other": (new_api_key(), "default")}
            with served_gateway(work, redis_url, keys) as base:
                hot, calm, alone = asyncio.run(
                    burst(
                        base,
                        keys["burster"][0],
                        keys["other"][0],
                        args.burst_reads,
                        args.burst_seconds,
                        args.other_rate,
                    )
                )
    five_xx = sum(n for status, n in hot.statuses.items() if status >= 500)
    five_xx += sum(n for status, n in calm.statuses.items() if status >= 500)
    calm_ms = [s * 1000 for s in calm.latencies]
    hot_ms = [s * 1000 for s in hot.latencies]
    alone_ms = [s * 1000 for s in alone.latencies]
    out["burst"] = {
        "reads": args.burst_reads,
        "seconds": args.burst_seconds,
        "statuses": dict(hot.statuses),
        "refused_with_retry_after": hot.retry_after,
        "missing_ratelimit_headers": hot.missing_headers + calm.missing_headers,
        "errors": dict(hot.errors + calm.errors),
        "five_xx": five_xx,
        "burster_p50_ms": percentile(hot_ms, 50),
        "burster_p99_ms": percentile(hot_ms, 99),
        "other_requests": len(calm_ms),
        "other_statuses": dict(calm.statuses),
        "other_p50_ms": percentile(calm_ms, 50),
        "other_p99_ms": percentile(calm_ms, 99),
        "other_max_ms": max(calm_ms),
        "other_mean_ms": statistics.fmean(calm_ms),
        "other_alone_p50_ms": percentile(alone_ms, 50),
        "other_alone_p99_ms": percentile(alone_ms, 99),
    }
    b = out["burst"]
    print(
        f"[burst] free-plan key, {args.burst_reads} reads in {args.burst_seconds:g} s: "
        f"{b['statuses'].get(200, 0)} x 200, {b['statuses'].get(429, 0)} x 429 "
        f"({b['refused_with_retry_after']} with Retry-After), {five_xx} x 5xx, "
        f"{sum(b['errors'].values())} errors, {b['missing_ratelimit_headers']} without "
        f"RateLimit headers; its latency p50 {b['burster_p50_ms']:.1f} ms, "
        f"p99 {b['burster_p99_ms']:.1f} ms",
        flush=True,
    )
    print(
        f"[burst] meanwhile another key at {args.other_rate:g}/s: {b['other_requests']} reads "
        f"({b['other_statuses']}), p50 {b['other_p50_ms']:.1f} ms, p99 {b['other_p99_ms']:.1f} "
        f"ms, max {b['other_max_ms']:.1f} ms (alone, before the burst: p50 "
        f"{b['other_alone_p50_ms']:.1f} ms, p99 {b['other_alone_p99_ms']:.1f} ms)",
        flush=True,
    )
    ok &= five_xx == 0 and not b["errors"] and b["other_p99_ms"] <= LATENCY_TARGET_MS
    ok &= b["refused_with_retry_after"] == b["statuses"].get(429, 0) > 0
    ok &= set(calm.statuses) == {200} and set(alone.statuses) == {200}
    print(
        f"targets: overhead p99 <= {OVERHEAD_TARGET_MS:g} ms with Redis, 0 x 5xx, other key "
        f"p99 <= {LATENCY_TARGET_MS:g} ms: {'met' if ok else 'MISSED'}",
        flush=True,
    )
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Rate limits per credential and plan (``core.ratelimit``).

The bucket math runs on a fake clock; the served gateway runs against a real Redis (the
machine's on 127.0.0.1:6379, ``GLOBALPIC_TEST_REDIS_URL``, or a private ``redis-server`` these
tests start) and against the in-process fallback. Served tests use a window of an hour, so
nothing refills while they run: counts are exact, whatever the machine's speed. Each limiter
gets its own key prefix: tests sharing one Redis never see each other's buckets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from globalpic_dev import redisd
from globalpic_dev.natsd import free_port
from globalpic_dev.redisd import RedisServer
from globalpic_gateway.core import ratelimit
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.core.ratelimit import (
    Bucket,
    InProcessStore,
    RateLimiter,
    RedisStore,
    Store,
    Verdict,
    bucket_verdict,
    classify,
    rate_limit_headers,
    take_token,
)
from tests.support.gateway_harness import (
    assert_problem,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

HOUR = 3600

# -- Redis for the tests ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``GLOBALPIC_TEST_REDIS_URL``, else the machine's Redis, else a private one."""
    scratch = tmp_path_factory.mktemp("redis")
    with redisd.redis_url(os.environ.get("GLOBALPIC_TEST_REDIS_URL"), scratch) as url:
        yield url


def _prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- the math (fake clock) ------------------------------------------------------------------


def test_the_token_bucket_spends_refills_and_caps() -> None:
    bucket = Bucket(capacity=10, rate=10.0)
    tokens: float | None = None
    stamp = 0.0
    allowed = []
    for _ in range(11):
        ok, tokens, stamp = take_token(tokens, stamp, 0.0, bucket)
        allowed.append(ok)
    assert allowed == [True] * 10 + [False]
    assert tokens == 0.0
    assert bucket_verdict("reads", bucket, 1, False, tokens).retry_after == 1
    # half a token 50 ms later: still refused; a whole one at 100 ms: allowed
    ok, tokens, stamp = take_token(tokens, stamp, 0.05, bucket)
    assert not ok and tokens == pytest.approx(0.5)
    ok, tokens, stamp = take_token(tokens, stamp, 0.1, bucket)
    assert ok and tokens == pytest.approx(0.0)
    # a long pause fills the bucket, never more than its capacity
    ok, tokens, stamp = take_token(tokens, stamp, 100.0, bucket)
    assert ok and tokens == pytest.approx(9.0)
    # a clock that went back refills nothing
    ok, tokens, stamp = take_token(tokens, stamp, 50.0, bucket)
    assert ok and tokens == pytest.approx(8.0) and stamp == 100.0


def test_retry_after_and_reset_are_whole_seconds_of_at_least_one() -> None:
    # 1 submission a second: empty after one, back in 1 s
    one = Bucket(1, 1.0)
    assert bucket_verdict("submissions", one, 1, True, 0.0) == Verdict(
        "submissions", 1, 1, True, 0, 1
    )
    refused = bucket_verdict("submissions", one, 1, False, 0.2)
    assert (refused.retry_after, refused.reset, refused.remaining) == (1, 1, 0)
    # 5 per hour: a token every 720 s
    slow = bucket_verdict("reads", Bucket(5, 5 / HOUR), HOUR, False, 0.0)
    assert slow.retry_after == 720 and slow.reset == 720
    full = bucket_verdict("reads", Bucket(10, 10.0), 1, True, 10.0 - 1.0)
    assert (full.remaining, full.reset) == (9, 1)


def test_the_headers_follow_the_ietf_draft() -> None:
    reads = bucket_verdict("reads", Bucket(10, 10.0), 1, True, 7.0)
    streams = Verdict("streams", 2, None, True, 1)
    headers = rate_limit_headers([reads, streams])
    assert headers["RateLimit-Policy"] == (
        '"reads";q=10;w=1, "streams";q=2;qu="concurrent-requests"'
    )
    assert headers["RateLimit"] == '"reads";r=7;t=1, "streams";r=1'
    # failed open: the policy still, no numbers that would be made up
    unknown = rate_limit_headers([Verdict("reads", 10, 1, True, None)])
    assert unknown == {"RateLimit-Policy": '"reads";q=10;w=1'}


def test_each_route_spends_its_budget_and_the_exempt_ones_none() -> None:
    assert classify("GET", "/v1/jobs") == ("reads",)
    assert classify("HEAD", "/v1/jobs/abc/images/0/result") == ("reads",)
    assert classify("GET", "/v1/jobs/abc/events") == ("reads", "streams")
    assert classify("POST", "/v1/jobs") == ("submissions",)
    for verb in ("adjust", "clean", "retry"):
        assert classify("POST", f"/v1/jobs/abc/images/3/{verb}") == ("submissions",)
    for method, path in [
        ("POST", "/v1/billing/webhook"),
        ("GET", "/v1/styles/amazon-white/preview"),
        ("GET", "/v1/files/results/t/k.png"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/"),
        ("GET", "/assets/index-abc.js"),
        ("GET", "/openapi.json"),
        ("OPTIONS", "/v1/jobs"),
    ]:
        assert classify(method, path) == (), (method, path)
    for method, path in [
        ("POST", "/v1/auth/token"),
        ("POST", "/v1/auth/signup"),
        ("POST", "/v1/auth/password-reset"),
        ("POST", "/v1/webhooks"),
        ("POST", "/v1/jobs/abc/cancel"),
        ("DELETE", "/v1/jobs/abc"),
        ("PATCH", "/v1/teams/members/u1"),
    ]:
        assert classify(method, path) == ("writes",), (method, path)


def _stores(kind: str, redis_url: str, clock: FakeClock) -> Store:
    return RedisStore(redis_url) if kind == "redis" else InProcessStore(clock)


@pytest.mark.parametrize("kind", ["in_process", "redis"])
def test_both_stores_count_the_same(kind: str, redis_url: str) -> None:
    """The Lua script and ``take_token`` agree, step by step, on the same (fake) times."""
    clock = FakeClock()
    limiter = RateLimiter(
        {"default": {"reads": 3, "submissions": 1, "streams": 1}},
        1,
        _stores(kind, redis_url, clock),
        prefix=_prefix(),
        clock=clock,
    )
    bucket = Bucket(3, 3.0)
    tokens: float | None = None
    stamp = clock.now

    async def run() -> None:
        nonlocal tokens, stamp
        for step in [0, 0, 0, 0, 0.2, 0.2, 0.34, 5.0, 5.0, 5.01]:
            clock.now = 1_000_000.0 + step
            ok, tokens, stamp = take_token(tokens, stamp, clock.now, bucket)
            verdict = await limiter.take("reads", "user:u1", "default")
            assert verdict == bucket_verdict("reads", bucket, 1, ok, tokens), step
        other = await limiter.take("reads", "user:u2", "default")
        assert other.allowed and other.remaining == 2  # another credential: its own bucket
        await limiter.close()

    asyncio.run(run())


@pytest.mark.parametrize("kind", ["in_process", "redis"])
def test_stream_leases_cap_expire_and_refresh(kind: str, redis_url: str) -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"default": {"reads": 9, "submissions": 9, "streams": 2}},
        1,
        _stores(kind, redis_url, clock),
        prefix=_prefix(),
        lease_seconds=30,
        clock=clock,
    )

    async def run() -> None:
        first, a = await limiter.open_stream("key:k", "default")
        second, b = await limiter.open_stream("key:k", "default")
        third, none = await limiter.open_stream("key:k", "default")
        assert (first.allowed, first.remaining, second.remaining) == (True, 1, 0)
        assert not third.allowed and none is None and third.retry_after == 5
        assert (await limiter.open_stream("key:other", "default"))[0].allowed
        assert a is not None and b is not None
        await limiter.close_stream(a)  # closed: its place is free at once
        again, c = await limiter.open_stream("key:k", "default")
        assert again.allowed and c is not None
        # a gateway that died leaves its leases: they expire, the count is not stuck
        clock.now += 20
        await limiter.store.refresh_leases([(b.key, b.lease_id)], 30, clock.now)  # b lives
        clock.now += 15  # c (opened at +0) expired at +30; b refreshed at +20 lives to +50
        revived, _ = await limiter.open_stream("key:k", "default")
        assert revived.allowed and revived.remaining == 0
        assert not (await limiter.open_stream("key:k", "default"))[0].allowed
        await limiter.close()

    asyncio.run(run())


def _failures() -> float:
    return REGISTRY.get_sample_value("globalpic_rate_limit_failures_total") or 0.0


def test_an_unreachable_redis_lets_requests_through_logs_once_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = free_port()  # nothing listens there
    limiter = RateLimiter(
        {"default": {"reads": 1, "submissions": 1, "streams": 1}},
        1,
        RedisStore(f"redis://127.0.0.1:{closed}/0"),
        prefix=_prefix(),
    )
    before = _failures()

    async def run() -> list[Verdict]:
        verdicts = [await limiter.take("reads", "user:u", "default") for _ in range(20)]
        stream, lease = await limiter.open_stream("user:u", "default")
        assert stream.allowed and lease is None
        await limiter.close()
        return verdicts

    with caplog.at_level(logging.WARNING, logger="globalpic.gateway.ratelimit"):
        verdicts = asyncio.run(run())
    assert all(v.allowed and v.remaining is None for v in verdicts)
    assert _failures() - before == 21
    warnings = [r for r in caplog.records if r.name == "globalpic.gateway.ratelimit"]
    assert len(warnings) == 1 and "let through" in warnings[0].getMessage()


# -- the served gateway ---------------------------------------------------------------------

PLANS = {
    "anonymous": {"reads": 2, "submissions": 1, "streams": 1, "writes": 2},
    "default": {"reads": 5, "submissions": 1, "streams": 2},
    "enterprise": {"reads": 8, "submissions": 3, "streams": 4},
}


@asynccontextmanager
async def serving(
    tmp_path: Path,
    nats_url: str,
    limiter: RateLimiter | None,
    **overrides: Any,
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """The gateway as the console script serves it (``server_config``), on a free port:
    (base URL, API key per tenant)."""
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gateway.db'}", nats_url, **overrides)
    storage = storage_at(tmp_path / "storage")
    async with running_gateway(settings, keys, storage, rate_limiter=limiter) as gw:
        yield gw.base_url, keys


def _limiter(kind: str, redis_url: str, settings_plans: dict[str, dict[str, int]]) -> RateLimiter:
    store: Store = RedisStore(redis_url) if kind == "redis" else InProcessStore()
    return RateLimiter(settings_plans, HOUR, store, prefix=_prefix())


def _client(base: str, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=30)


@pytest.mark.parametrize("kind", ["redis", "in_process"])
def test_a_burst_is_refused_with_retry_after_and_other_credentials_go_on(
    kind: str, redis_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario() -> None:
        limiter = _limiter(kind, redis_url, PLANS)
        async with (
            serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
            _client(base, keys["tenant-a"]) as a,
            _client(base, keys["tenant-b"]) as b,
            _client(base, keys["tenant-ent"]) as ent,
        ):
            for n in range(5):
                ok = await a.get("/v1/jobs")
                assert ok.status_code == 200, ok.text
                assert ok.headers["RateLimit-Policy"] == '"reads";q=5;w=3600'
                assert ok.headers["RateLimit"] == f'"reads";r={4 - n};t={(n + 1) * 720}'
            refused = await a.get("/v1/jobs")
            body = assert_problem(refused, 429, "rate_limited")
            assert refused.headers["Retry-After"] == "720"
            assert refused.headers["RateLimit"] == '"reads";r=0;t=720'
            assert refused.headers["RateLimit-Policy"] == '"reads";q=5;w=3600'
            assert body["policy"] == "reads" and body["retry_after"] == 720
            assert body["instance"] == "/v1/jobs" and "request_id" in body
            # every limited route of that credential is refused now, a 404 one included
            assert_problem(await a.get("/v1/jobs/nope"), 429, "rate_limited")
            # meanwhile another credential, and another plan, are untouched
            other = await b.get("/v1/jobs")
            assert other.status_code == 200 and other.headers["RateLimit"].startswith(
                '"reads";r=4;'
            )
            bigger = await ent.get("/v1/jobs")
            assert bigger.headers["RateLimit-Policy"] == '"reads";q=8;w=3600'
            # not limited: probes, docs
            for _ in range(10):
                assert (await a.get("/healthz")).status_code == 200
            assert "RateLimit" not in (await a.get("/healthz")).headers

    asyncio.run(scenario())


def test_writes_without_a_credential_are_counted_by_client_address(
    redis_url: str, tmp_path: Path, nats_url: str
) -> None:
    """Sign-in (and sign-up, password resets) spend the anonymous plan's writes, by client
    address; a plan without writes spends its submissions' number on them."""

    async def scenario() -> None:
        limiter = _limiter("redis", redis_url, PLANS)
        async with (
            serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
            _client(base, None) as anonymous,
            _client(base, keys["tenant-a"]) as a,
        ):
            form = {"username": "who@example.com", "password": "not it at all"}
            for left in (1, 0):
                answer = await anonymous.post("/v1/auth/token", data=form)
                assert answer.headers["RateLimit"].startswith(f'"writes";r={left};')
                assert answer.headers["RateLimit-Policy"] == '"writes";q=2;w=3600'
            refused = await anonymous.post("/v1/auth/token", data=form)
            assert_problem(refused, 429, "rate_limited")
            assert refused.json()["policy"] == "writes"
            cancel = await a.post("/v1/jobs/nope/cancel")  # the default plan: no writes given
            assert cancel.headers["RateLimit-Policy"] == '"writes";q=1;w=3600'
            assert_problem(await a.delete("/v1/jobs/nope"), 429, "rate_limited")

    asyncio.run(scenario())


def test_submissions_have_a_budget_of_their_own(
    redis_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario() -> None:
        limiter = _limiter("redis", redis_url, PLANS)
        async with (
            serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
            _client(base, keys["tenant-a"]) as a,
        ):
            files = [("images", ("p.jpg", photo_bytes(512), "image/jpeg"))]
            first = await a.post("/v1/jobs", files=files)
            assert first.status_code == 202, first.text
            assert first.headers["RateLimit-Policy"] == '"submissions";q=1;w=3600'
            assert first.headers["RateLimit"] == '"submissions";r=0;t=3600'
            job = first.json()["id"]
            second = await a.post("/v1/jobs", files=files)
            assert_problem(second, 429, "rate_limited")
            assert second.headers["Retry-After"] == "3600"
            # the re-runs spend the same budget
            rerun = await a.post(f"/v1/jobs/{job}/images/0/retry")
            assert_problem(rerun, 429, "rate_limited")
            # reads are another budget
            assert (await a.get(f"/v1/jobs/{job}")).status_code == 200

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["redis", "in_process"])
def test_event_streams_are_capped_while_open(
    kind: str, redis_url: str, tmp_path: Path, nats_url: str
) -> None:
    plans = {**PLANS, "default": {"reads": 50, "submissions": 5, "streams": 2}}

    async def scenario() -> None:
        limiter = _limiter(kind, redis_url, plans)
        async with (
            serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
            _client(base, keys["tenant-a"]) as a,
            _client(base, keys["tenant-b"]) as b,
        ):
            files = [("images", ("p.jpg", photo_bytes(512), "image/jpeg"))]
            submitted = await a.post("/v1/jobs", files=files)
            assert submitted.status_code == 202, submitted.text
            events = f"/v1/jobs/{submitted.json()['id']}/events"
            async with AsyncExitStack() as streams:
                opened = []
                for _ in range(2):  # no runner: the job stays queued, the streams open
                    stream = await streams.enter_async_context(a.stream("GET", events))
                    assert stream.status_code == 200
                    opened.append(stream)
                assert opened[0].headers["RateLimit-Policy"] == (
                    '"reads";q=50;w=3600, "streams";q=2;qu="concurrent-requests"'
                )
                assert opened[1].headers["RateLimit"].endswith('"streams";r=0')
                async with a.stream("GET", events) as third:
                    await third.aread()
                    assert_problem(third, 429, "rate_limited")
                    assert third.headers["Retry-After"] == "5"
                    assert third.json()["policy"] == "streams"
                # another credential's streams are its own (tenant-b cannot see the job: 404)
                assert_problem(await b.get(events), 404, "job_not_found")
                await streams.aclose()  # both closed: their leases go with them
            # the leases go as the gateway sees the streams close: look until it has (a
            # busy machine takes longer, never gives another answer)
            for _ in range(1200):
                async with a.stream("GET", events) as again:
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.05)
            assert again.status_code == 200

    asyncio.run(scenario())


def test_requests_without_a_valid_credential_are_limited_by_address(
    redis_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario() -> None:
        limiter = _limiter("redis", redis_url, PLANS)
        async with (
            serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
            _client(base, None) as anonymous,
            _client(base, "gp_not-a-key") as forged,
            _client(base, keys["tenant-a"]) as a,
        ):
            first = await anonymous.get("/v1/styles")
            assert first.status_code == 401  # refused by the route, counted by the limiter
            assert first.headers["RateLimit-Policy"] == '"reads";q=2;w=3600'
            assert_problem(await forged.get("/v1/jobs"), 401, "unauthorized")
            # the same address, whatever it sends: its 2 reads are spent
            assert_problem(await anonymous.get("/v1/billing/plans"), 429, "rate_limited")
            assert_problem(await forged.get("/v1/jobs"), 429, "rate_limited")
            # a valid key from the same address has its own budget
            assert (await a.get("/v1/jobs")).status_code == 200
            # exempt whoever asks: Stripe's webhook, style previews, probes
            for _ in range(4):
                hook = await anonymous.post("/v1/billing/webhook", content=b"{}")
                assert hook.status_code != 429 and "RateLimit" not in hook.headers
                preview = await anonymous.get("/v1/styles/amazon-white/preview")
                assert preview.status_code == 200 and "RateLimit" not in preview.headers
                assert (await anonymous.get("/readyz")).status_code == 200

    asyncio.run(scenario())


def test_redis_going_down_mid_run_lets_requests_through(
    tmp_path: Path, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        with RedisServer(tmp_path / "redis") as redis:
            limiter = _limiter("redis", redis.url, PLANS)
            async with (
                serving(tmp_path, nats_url, limiter, rate_limits=True) as (base, keys),
                _client(base, keys["tenant-a"]) as a,
            ):
                counted = await a.get("/v1/jobs")
                assert counted.headers["RateLimit"].startswith('"reads";r=4;')
                redis.stop()
                before = _failures()
                answers = [await a.get("/v1/jobs") for _ in range(20)]
                assert [r.status_code for r in answers] == [200] * 20  # past the 5 reads
                assert all("RateLimit" not in r.headers for r in answers)
                assert all(r.headers["RateLimit-Policy"] for r in answers)
                assert _failures() - before == 20

    with caplog.at_level(logging.INFO, logger="globalpic.gateway.ratelimit"):
        asyncio.run(scenario())
    said = [r.getMessage() for r in caplog.records if r.name == "globalpic.gateway.ratelimit"]
    assert len([m for m in said if "let through" in m]) == 1, said


def test_rate_limits_are_on_outside_development_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings, _ = harness_settings(f"sqlite:///{tmp_path / 'g.db'}", "nats://127.0.0.1:1")
    assert not ratelimit.rate_limits_enabled(settings)
    assert ratelimit.rate_limits_enabled(settings.model_copy(update={"rate_limits": True}))
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    assert ratelimit.rate_limits_enabled(settings)
    with pytest.raises(ValueError, match="RATE_LIMIT_PLANS"):
        GatewaySettings(api_keys=settings.api_keys, rate_limit_plans={"default": {"reads": 1}})

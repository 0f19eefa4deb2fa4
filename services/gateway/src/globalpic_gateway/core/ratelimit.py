"""Rate limits per credential and plan: token buckets for reads, submissions and other writes,
a cap on SSE streams open at once.

Who is counted (the *partition*): a signed-in user (``user:<id>``) for web-app access tokens,
the API key (``key:<id>``) for a team's keys, the tenant (``tenant:<id>``) for settings keys,
and the client address (``ip:<addr>``) for a request without a valid credential. Their plan
(billing's, cached ``plan_cache_seconds``; a settings key's own; ``default`` when billing is
off or does not answer) picks the budgets in ``rate_limit_plans``.

What is counted (the *budget*) is decided by method and path (``classify``):

* ``submissions``: ``POST /v1/jobs`` and the re-runs ``POST /v1/jobs/{id}/images/{n}/<verb>``;
* ``reads``: every other ``GET`` / ``HEAD`` under ``/v1/``;
* ``streams``: ``GET /v1/jobs/{id}/events`` holds one of the partition's concurrent streams
  while it is open (and takes a read, as any GET);
* ``writes``: every other ``POST`` / ``PUT`` / ``PATCH`` / ``DELETE`` under ``/v1/``: sign-up,
  sign-in, password resets (by client address: no credential), API keys, team, webhooks,
  cancel and delete (a plan without ``writes`` gets its ``submissions``);
* nothing: probes, ``/metrics``, the web app's files, docs, Stripe's webhook, style previews,
  signed file downloads (``/v1/files/``).

Reads, submissions and writes are token buckets: ``q`` per ``w = rate_limit_window_seconds`` of
capacity, refilled at ``q / w`` per second. Streams are leases: a sorted set per partition,
one member per open stream scored by its expiry, refreshed while the stream lives (a gateway
that dies leaves leases that expire within ``LEASE_SECONDS``, never a stuck count).

The buckets and leases live in Redis (``redis_url``: atomic Lua scripts, every replica sees one
count, Redis' clock) or in this process (no ``redis_url``; a replica counts alone). When Redis
fails the limiter fails open: the request is served, the failure is logged once (and once when
it is back) and counted in ``globalpic_rate_limit_failures_total``; Redis is not tried again
for ``RETRY_SECONDS``, so an outage costs no request a timeout each. A limiter bug is treated
the same way: never a 5xx because of the limiter.

Every response of a limited route carries ``RateLimit-Policy`` and ``RateLimit``
(draft-ietf-httpapi-ratelimit-headers-11: ``"reads";q=10;w=1`` and ``"reads";r=7;t=1``, where
``t`` is the seconds until the bucket is full again, or on a 429 until the next request is
allowed). A refusal is ``429 rate_limited`` (problem+json) with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from cachetools import LRUCache
from prometheus_client import Counter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from globalpic_common.errors import RateLimitedError
from globalpic_gateway.core.problems import problem_response

if TYPE_CHECKING:
    from globalpic_gateway.core.auth import Tenant
    from globalpic_gateway.core.config import GatewaySettings
    from globalpic_gateway.core.state import AppState

log = logging.getLogger("globalpic.gateway.ratelimit")

Budget = Literal["reads", "submissions", "streams", "writes"]
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
RATE_LIMITED = RateLimitedError.code  # "rate_limited", the code sign-in lockout shares

LEASE_SECONDS = 60.0  # an open stream's lease; refreshed every third of it
STREAM_RETRY_AFTER = 5  # a refused stream: nothing says when another closes
RETRY_SECONDS = 1.0  # after a Redis failure, requests are let through without asking it
REDIS_TIMEOUT_SECONDS = 0.25  # connect / reply; past it the request is let through
REDIS_POOL_SIZE = 64
BUCKETS_IN_PROCESS = 100_000  # LRU: a bucket dropped was (nearly) full anyway

REFUSED = Counter(
    "globalpic_rate_limited",
    "Requests the gateway's rate limiter refused (429), by budget",
    ("budget",),
)
FAILURES = Counter(
    "globalpic_rate_limit_failures",
    "Rate-limit checks that failed (Redis unreachable, a bug): the request was let through",
)

# -- which budget a request spends -------------------------------------------------------------

_EVENTS = re.compile(r"/v1/jobs/[^/]+/events")
_RERUN = re.compile(r"/v1/jobs/[^/]+/images/[^/]+/[^/]+")
_PREVIEW = re.compile(r"/v1/styles/[^/]+/preview")
_EXEMPT = ("/v1/billing/webhook", "/v1/files/")


def classify(method: str, path: str) -> tuple[Budget, ...]:
    """The budgets a request spends, in the order they are checked; () when not limited."""
    if not path.startswith("/v1/") or path.startswith(_EXEMPT) or _PREVIEW.fullmatch(path):
        return ()
    if method == "POST" and (path == "/v1/jobs" or _RERUN.fullmatch(path)):
        return ("submissions",)
    if method in _WRITES:
        return ("writes",)
    if method in ("GET", "HEAD"):
        return ("reads", "streams") if _EVENTS.fullmatch(path) else ("reads",)
    return ()


def partition_of(tenant: Tenant) -> str:
    """Whose budget: the user, the API key, or the settings key's tenant."""
    if tenant.kind == "access_token":
        return f"user:{tenant.user_id or tenant.id}"
    if tenant.kind == "api_key":
        return f"key:{tenant.session_id or tenant.id}"
    return f"tenant:{tenant.id}"


# -- the token bucket ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    capacity: int  # q: requests at once
    rate: float  # refill, requests per second (q / w)

    @property
    def ttl_ms(self) -> int:
        """How long an untouched bucket must be kept: after this it is full, as a new one."""
        return math.ceil(self.capacity / self.rate * 1000) + 1000 if self.rate > 0 else 3_600_000


def take_token(
    tokens: float | None, stamp: float, now: float, bucket: Bucket
) -> tuple[bool, float, float]:
    """One request against a bucket holding ``tokens`` at ``stamp`` (``None``: never used, so
    full). Returns (allowed, tokens left, new stamp). A clock that went back refills nothing.
    ``TOKEN_BUCKET_LUA`` is this function in Redis."""
    if tokens is None:
        tokens, stamp = float(bucket.capacity), now
    elif now > stamp:
        tokens = min(float(bucket.capacity), tokens + (now - stamp) * bucket.rate)
        stamp = now
    if tokens >= 1.0:
        return True, tokens - 1.0, stamp
    return False, tokens, stamp


TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = capacity
  stamp = now
elseif now > stamp then
  tokens = math.min(capacity, tokens + (now - stamp) * rate)
  stamp = now
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'stamp', string.format('%.17g', stamp))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, string.format('%.17g', tokens)}
"""

# Streams: a sorted set per partition, member = lease id, score = its expiry.
OPEN_LEASE_LUA = """
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.17g', now))
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[1]) then
  return {0, count}
end
redis.call('ZADD', KEYS[1], string.format('%.17g', now + tonumber(ARGV[2])), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return {1, count + 1}
"""

REFRESH_LEASE_LUA = """
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.17g', now + tonumber(ARGV[1])), ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 1
"""


# -- where the counts live ----------------------------------------------------------------------


class Store(Protocol):
    """Buckets and stream leases. ``now`` is for tests (a fake clock); ``None``: the store's
    own clock (Redis: its server time, one clock for every replica)."""

    async def take(self, key: str, bucket: Bucket, now: float | None = None) -> tuple[bool, float]:
        """(allowed, tokens left)."""
        ...

    async def open_lease(
        self, key: str, limit: int, lease_id: str, lease_s: float, now: float | None = None
    ) -> tuple[bool, int]:
        """(opened, leases open now, this one included when opened)."""
        ...

    async def refresh_leases(
        self, leases: list[tuple[str, str]], lease_s: float, now: float | None = None
    ) -> None: ...

    async def close_lease(self, key: str, lease_id: str) -> None: ...

    async def close(self) -> None: ...


class InProcessStore:
    """One process' counts (no ``redis_url``): a replica limits alone."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(BUCKETS_IN_PROCESS)
        self._leases: dict[str, dict[str, float]] = {}

    async def take(self, key: str, bucket: Bucket, now: float | None = None) -> tuple[bool, float]:
        now = self.clock() if now is None else now
        tokens, stamp = self._buckets.get(key, (None, now))
        allowed, tokens, stamp = take_token(tokens, stamp, now, bucket)
        self._buckets[key] = (tokens, stamp)
        return allowed, tokens

    async def open_lease(
        self, key: str, limit: int, lease_id: str, lease_s: float, now: float | None = None
    ) -> tuple[bool, int]:
        now = self.clock() if now is None else now
        leases = self._leases.setdefault(key, {})
        for expired in [lease for lease, expiry in leases.items() if expiry <= now]:
            del leases[expired]
        if len(leases) >= limit:
            return False, len(leases)
        leases[lease_id] = now + lease_s
        return True, len(leases)

    async def refresh_leases(
        self, leases: list[tuple[str, str]], lease_s: float, now: float | None = None
    ) -> None:
        now = self.clock() if now is None else now
        for key, lease_id in leases:
            held = self._leases.get(key)
            if held is not None and lease_id in held:
                held[lease_id] = now + lease_s

    async def close_lease(self, key: str, lease_id: str) -> None:
        held = self._leases.get(key)
        if held is not None:
            held.pop(lease_id, None)
            if not held:
                del self._leases[key]

    async def close(self) -> None:
        return None


class RedisStore:
    """Counts in Redis, shared by every replica: each check is one atomic script (EVALSHA)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries and short timeouts: a request waits for the limiter at most
        # REDIS_TIMEOUT_SECONDS, then goes through (fail open).
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_POOL_SIZE,
            timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self.client = Redis(connection_pool=pool)
        self._take = self.client.register_script(TOKEN_BUCKET_LUA)
        self._open = self.client.register_script(OPEN_LEASE_LUA)
        self._refresh = self.client.register_script(REFRESH_LEASE_LUA)

    async def take(self, key: str, bucket: Bucket, now: float | None = None) -> tuple[bool, float]:
        args: list[str | int] = [bucket.capacity, repr(bucket.rate), _now_arg(now), bucket.ttl_ms]
        allowed, tokens = await self._take(keys=[key], args=args)
        return int(allowed) == 1, float(tokens)

    async def open_lease(
        self, key: str, limit: int, lease_id: str, lease_s: float, now: float | None = None
    ) -> tuple[bool, int]:
        opened, count = await self._open(
            keys=[key], args=[limit, repr(lease_s), lease_id, _now_arg(now)]
        )
        return int(opened) == 1, int(count)

    async def refresh_leases(
        self, leases: list[tuple[str, str]], lease_s: float, now: float | None = None
    ) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for key, lease_id in leases:
                await self._refresh(
                    keys=[key], args=[repr(lease_s), lease_id, _now_arg(now)], client=pipe
                )
            await pipe.execute()

    async def close_lease(self, key: str, lease_id: str) -> None:
        await self.client.zrem(key, lease_id)

    async def close(self) -> None:
        await self.client.aclose()


def _now_arg(now: float | None) -> str:
    return "" if now is None else repr(now)


# -- the limiter --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One budget's answer to one request, and how it reads in the response headers."""

    budget: Budget
    quota: int  # q
    window: int | None  # w; None: a concurrency cap (streams)
    allowed: bool
    remaining: int | None  # r; None: unknown (the limiter failed open)
    reset: int | None = None  # t
    retry_after: int | None = None  # on a refusal

    def policy_item(self) -> str:
        if self.window is None:
            return f'"{self.budget}";q={self.quota};qu="concurrent-requests"'
        return f'"{self.budget}";q={self.quota};w={self.window}'

    def limit_item(self) -> str | None:
        if self.remaining is None:
            return None
        item = f'"{self.budget}";r={self.remaining}'
        return item if self.reset is None else f"{item};t={self.reset}"


def bucket_verdict(
    budget: Budget, bucket: Bucket, window: int, allowed: bool, tokens: float
) -> Verdict:
    """The headers' numbers for a bucket left holding ``tokens``."""
    if allowed:
        missing = bucket.capacity - tokens
        reset = math.ceil(missing / bucket.rate - 1e-9) if bucket.rate > 0 else window
        return Verdict(budget, bucket.capacity, window, True, math.floor(tokens), max(reset, 0))
    wait = max(1, math.ceil((1.0 - tokens) / bucket.rate - 1e-9)) if bucket.rate > 0 else window
    return Verdict(budget, bucket.capacity, window, False, 0, wait, wait)


@dataclass(frozen=True)
class Lease:
    key: str
    lease_id: str


T = TypeVar("T")


class RateLimiter:
    def __init__(
        self,
        plans: Mapping[str, Mapping[str, int]],
        window_seconds: int,
        store: Store,
        *,
        prefix: str = "globalpic:rl:",
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock``: a fake clock for tests, passed to the store as ``now``."""
        self.plans = {name: dict(budgets) for name, budgets in plans.items()}
        self.window = window_seconds
        self.store = store
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._leases: dict[str, Lease] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._skip_until = 0.0  # monotonic: the store failed, let requests through until then
        self._failing = False

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, *, prefix: str = "globalpic:rl:"
    ) -> RateLimiter:
        """Redis when ``redis_url`` is set, else this process' counts."""
        store: Store = RedisStore(settings.redis_url) if settings.redis_url else InProcessStore()
        return cls(
            settings.rate_limit_plans, settings.rate_limit_window_seconds, store, prefix=prefix
        )

    def budgets(self, plan: str) -> dict[str, int]:
        return self.plans.get(plan) or self.plans["default"]

    def bucket(self, budget: Budget, plan: str) -> Bucket:
        budgets = self.budgets(plan)
        quota = budgets.get(budget, budgets["submissions"])  # writes: optional in a plan
        return Bucket(quota, quota / self.window)

    def _now(self) -> float | None:
        return None if self.clock is None else self.clock()

    async def take(self, budget: Budget, partition: str, plan: str) -> Verdict:
        """Spend one request of ``budget`` (reads, submissions or writes)."""
        bucket = self.bucket(budget, plan)
        key = f"{self.prefix}{budget}:{partition}"
        answer = await self._guarded(lambda: self.store.take(key, bucket, self._now()))
        if answer is None:  # failed open
            return Verdict(budget, bucket.capacity, self.window, True, None)
        allowed, tokens = answer
        return bucket_verdict(budget, bucket, self.window, allowed, tokens)

    async def open_stream(self, partition: str, plan: str) -> tuple[Verdict, Lease | None]:
        """Hold one of the partition's streams; ``close_stream`` the lease when it ends."""
        limit = self.budgets(plan)["streams"]
        lease = Lease(f"{self.prefix}streams:{partition}", uuid.uuid4().hex)
        answer = await self._guarded(
            lambda: self.store.open_lease(
                lease.key, limit, lease.lease_id, self.lease_seconds, self._now()
            )
        )
        if answer is None:
            return Verdict("streams", limit, None, True, None), None
        opened, count = answer
        if not opened:
            return Verdict("streams", limit, None, False, 0, None, STREAM_RETRY_AFTER), None
        self._leases[lease.lease_id] = lease
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_leases(), name="stream-leases")
        return Verdict("streams", limit, None, True, max(limit - count, 0)), lease

    async def close_stream(self, lease: Lease) -> None:
        self._leases.pop(lease.lease_id, None)
        await self._guarded(lambda: self.store.close_lease(lease.key, lease.lease_id))

    async def _refresh_leases(self) -> None:
        while self._leases:
            await asyncio.sleep(self.lease_seconds / 3)
            held = [(lease.key, lease.lease_id) for lease in self._leases.values()]
            if held:
                await self._guarded(
                    partial(self.store.refresh_leases, held, self.lease_seconds, self._now())
                )

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """The store's answer, or ``None`` when it failed (fail open: logged once, counted;
        the store is then left alone for ``RETRY_SECONDS``)."""
        if time.monotonic() < self._skip_until:
            FAILURES.inc()
            return None
        try:
            answer = await call()
        except Exception as exc:
            FAILURES.inc()
            self._skip_until = time.monotonic() + RETRY_SECONDS
            if not self._failing:
                self._failing = True
                log.warning("rate limits not checked (requests let through): %r", exc)
            return None
        if self._failing:
            self._failing = False
            log.info("rate limits checked again")
        return answer

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        self._leases.clear()
        await self.store.close()


# -- the middleware -----------------------------------------------------------------------------


class RateLimitMiddleware:
    """Checks a request's budgets before the route runs, adds the RateLimit headers to its
    response, and answers 429 itself. It resolves the credential through the app's
    ``Authenticator`` (a cached lookup: the route's own dependency does it again, from cache);
    an invalid credential is counted by client address, and the route refuses it."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter
        self._broken = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budgets = classify(scope["method"], scope["path"])
        if not budgets:
            await self.app(scope, receive, send)
            return
        lease: Lease | None = None
        try:
            partition, plan = await self._caller(scope)
            verdicts: list[Verdict] = []
            for budget in budgets:
                if budget == "streams":
                    verdict, lease = await self.limiter.open_stream(partition, plan)
                else:
                    verdict = await self.limiter.take(budget, partition, plan)
                verdicts.append(verdict)
                if not verdict.allowed:
                    break
        except Exception:  # a limiter bug must not cost the request
            FAILURES.inc()
            if not self._broken:
                self._broken = True
                log.exception("rate limit check failed; request let through")
            await self.app(scope, receive, send)
            return
        headers = rate_limit_headers(verdicts)
        refused = next((v for v in verdicts if not v.allowed), None)
        if refused is not None:
            REFUSED.labels(refused.budget).inc()
            await self._refuse(scope, refused, plan, headers)(scope, receive, send)
            return

        encoded = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *encoded]}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            if lease is not None:
                await self.limiter.close_stream(lease)

    async def _caller(self, scope: Scope) -> tuple[str, str]:
        """(partition, plan) of the request's credential, or of its client address."""
        app = scope.get("app")
        state: AppState | None = getattr(getattr(app, "state", None), "globalpic", None)
        credential = _bearer(scope)
        if credential is not None and state is not None:
            try:
                tenant = await state.authenticator.authenticate(credential)
            except Exception:  # refused (the route says why) or the auth service is down
                tenant = None
            if tenant is not None:
                return partition_of(tenant), await _plan(state, tenant)
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}", "anonymous"

    @staticmethod
    def _refuse(scope: Scope, refused: Verdict, plan: str, headers: dict[str, str]) -> ASGIApp:
        assert refused.retry_after is not None
        if refused.window is None:
            detail = (
                f"{refused.quota} event streams open at once is this credential's most on the "
                f"{plan} plan; close one, or retry in {refused.retry_after} s"
            )
        else:
            detail = (
                f"too many {refused.budget} for this credential: {refused.quota} per "
                f"{refused.window} s on the {plan} plan; retry in {refused.retry_after} s"
            )
        return problem_response(
            Request(scope),
            429,
            RATE_LIMITED,
            detail,
            {**headers, "Retry-After": str(refused.retry_after)},
            policy=refused.budget,
            retry_after=refused.retry_after,
        )


def rate_limit_headers(verdicts: list[Verdict]) -> dict[str, str]:
    headers = {"RateLimit-Policy": ", ".join(v.policy_item() for v in verdicts)}
    items = [item for v in verdicts if (item := v.limit_item()) is not None]
    if items:
        headers["RateLimit"] = ", ".join(items)
    return headers


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            return None
    return None


async def _plan(state: AppState, tenant: Tenant) -> str:
    """The tenant's plan: billing's (cached), a settings key's own, else ``default``."""
    try:
        plan = (await state.billing.limits(tenant)).plan
    except Exception:  # billing down: the default plan's budgets, never a refusal for it
        plan = tenant.plan
    return plan or "default"


def rate_limits_enabled(settings: GatewaySettings) -> bool:
    if settings.rate_limits is not None:
        return settings.rate_limits
    from globalpic_common.settings import current_environment

    return current_environment() != "development"

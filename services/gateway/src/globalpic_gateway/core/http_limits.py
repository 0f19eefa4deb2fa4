"""The HTTP server's own limits (uvicorn), and where ``/metrics`` is served.

uvicorn's httptools protocol (the one the gateway runs: ``httptools`` is a dependency) has no
bound on a request head, no timeout for a head or a body that never finishes (its keep-alive
timer only runs between requests), and answers ``limit_concurrency`` with a text/plain 503.
``LimitedHttpToolsProtocol`` adds, per connection:

* ``max_header_bytes``: a head (request line + headers) past it is answered
  ``431 request_header_fields_too_large`` (problem+json) and the connection closed: a 32 MB
  header costs at most one read buffer, never 32 MB;
* ``header_timeout_seconds``: a head not complete this long after its first byte is
  ``408 request_timeout`` and the connection closed (slowloris); a connection that sent
  nothing at all this long after it opened is closed without a word;
* ``body_timeout_seconds``: a body that gets no byte for this long while the app waits for it
  is dropped: the connection is closed, and the app's ``receive`` says ``http.disconnect``;
* ``max_connections``: past it a request is ``503 service_unavailable`` (problem+json,
  ``Retry-After: 1``), decided as uvicorn's ``limit_concurrency`` (open connections, SSE
  streams included, and requests in flight);

and ``keep_alive_timeout_seconds`` is uvicorn's ``timeout_keep_alive``. Without httptools the
server falls back to h11 with ``h11_max_incomplete_event_size`` (an oversized head is then a
plain 400).

``server_config`` builds the uvicorn ``Config`` the console script serves (and the tests and
the bench run); ``MetricsGuard`` decides whether the API's port answers ``/metrics``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from http import HTTPStatus
from typing import Any, ClassVar, Literal

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from globalpic_common.settings import current_environment
from globalpic_gateway.core import problems
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.core.problems import BEARER_CHALLENGE, PROBLEM_JSON, problem_response
from globalpic_gateway.core.request_id import new_request_id, request_id_of

log = logging.getLogger("globalpic.gateway.http")

HEADERS_TOO_LARGE = "request_header_fields_too_large"
REQUEST_TIMEOUT = "request_timeout"
LINGER_SECONDS = 1.0  # after a refusal, how long the client has to read it before the close


def problem_bytes(status: int, code: str, detail: str, request_id: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem, for refusals made before any ASGI app
    runs (the head never completed). It closes the connection."""
    body = json.dumps(
        {
            "type": problems.PROBLEM_TYPE_PREFIX + code,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "code": code,
            "request_id": request_id,
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def problem_app(
    status: int, code: str, detail: str, extra_headers: dict[str, str] | None = None
) -> ASGIApp:
    """An ASGI app answering every request with one problem (and closing the connection)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        body = json.dumps(
            {
                "type": problems.PROBLEM_TYPE_PREFIX + code,
                "title": HTTPStatus(status).phrase,
                "status": status,
                "detail": detail,
                "code": code,
                "instance": scope.get("path"),
                "request_id": request_id,
            },
            separators=(",", ":"),
        ).encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]
        headers += [(k.encode(), v.encode()) for k, v in (extra_headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


_OVERLOADED = problem_app(
    503,
    problems.SERVICE_UNAVAILABLE,
    "this server is at its connection limit; retry shortly",
    {"Retry-After": "1"},
)

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

Phase = Literal["head", "body", "idle"]

if HttpToolsProtocol is not None:

    class LimitedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with the limits above (``limited_protocol`` makes a
        subclass holding the numbers: uvicorn builds protocols from a class)."""

        max_head_bytes: ClassVar[int]
        header_timeout: ClassVar[float]
        body_timeout: ClassVar[float]
        max_connections: ClassVar[int | None]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._served_app = self.app
            # head: waiting for (the rest of) a request head; body: the head is parsed, the
            # body is not all here; idle: between requests (uvicorn's keep-alive timer runs).
            self._phase: Phase = "head"
            self._head_bytes = 0
            self._head_started = 0.0
            self._last_byte = 0.0
            self._watchdog: asyncio.TimerHandle | None = None
            self._refused = False

        # -- connection -------------------------------------------------------------------

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            # A connection that sends nothing at all is a head that never completes.
            self._head_started = self.loop.time()
            self._arm(self.header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            now = self.loop.time()
            self._last_byte = now
            if self._phase == "idle":  # the first bytes of the next request
                self._phase, self._head_bytes, self._head_started = "head", 0, now
                self._arm(self.header_timeout)
            if self._phase == "head":
                if self._head_bytes == 0:  # the head's first byte: its time starts now
                    self._head_started = now
                self._head_bytes += len(data)
            super().data_received(data)
            if self._phase == "head" and self._head_bytes > self.max_head_bytes:
                # still no end of head past the limit: answer without reading any further
                self._refuse(431, HEADERS_TOO_LARGE, self._too_large_detail())
            elif self._phase == "body" and self._watchdog is None:
                self._arm(self.body_timeout)

        # -- parser callbacks ---------------------------------------------------------------

        def on_headers_complete(self) -> None:
            self._phase = "body"
            self._disarm()
            # The exact size, for a head that came in one read with more than the limit.
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            limit = self.max_connections
            if size > self.max_head_bytes:
                self.app = problem_app(431, HEADERS_TOO_LARGE, self._too_large_detail())
            elif limit is not None and (len(self.connections) > limit or len(self.tasks) >= limit):
                log.warning("connection limit (%d) reached: 503", limit)
                self.app = _OVERLOADED
            try:
                super().on_headers_complete()
            finally:
                self.app = self._served_app

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._phase = "idle"
            self._disarm()

        # -- timers -------------------------------------------------------------------------

        def _arm(self, delay: float) -> None:
            self._disarm()
            self._watchdog = self.loop.call_later(delay, self._check)

        def _disarm(self) -> None:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None

        def _check(self) -> None:
            self._watchdog = None
            if self.transport is None or self.transport.is_closing() or self._refused:
                return
            now = self.loop.time()
            if self._phase == "head":
                left = self._head_started + self.header_timeout - now
                if left > 0:
                    self._arm(left)
                    return
                if self._head_bytes == 0:  # nothing sent at all (a browser's preconnect)
                    self._refused = True
                    self.transport.close()
                    return
                detail = f"the request head was not complete within {self.header_timeout:g} s"
                self._refuse(408, REQUEST_TIMEOUT, detail)
            elif self._phase == "body":
                cycle = self.cycle
                waiting_for_app = cycle is not None and (
                    self.flow.read_paused or getattr(cycle, "waiting_for_100_continue", False)
                )
                left = self._last_byte + self.body_timeout - now
                if waiting_for_app:  # the app is not reading: the client is not late
                    self._last_byte = now
                    self._arm(self.body_timeout)
                elif left > 0:
                    self._arm(left)
                else:
                    log.info("request body idle for %g s: connection dropped", self.body_timeout)
                    self._refused = True
                    self.transport.close()

        def _refuse(self, status: int, code: str, detail: str) -> None:
            """Answer before any app ran (when no response is under way), then close."""
            self._refused = True
            self._disarm()
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(problem_bytes(status, code, detail, new_request_id()))
            # Read no more; give the client a moment to read the answer before the close
            # (closing with unread input sends a reset, which may destroy the answer).
            self.transport.pause_reading()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)

        def _too_large_detail(self) -> str:
            return f"the request head is larger than {self.max_head_bytes} bytes"

else:  # pragma: no cover
    LimitedHttpToolsProtocol = None  # type: ignore[assignment,misc]


def limited_protocol(settings: GatewaySettings) -> type[asyncio.Protocol] | None:
    """A ``LimitedHttpToolsProtocol`` subclass holding ``settings``' limits (None without
    httptools)."""
    if LimitedHttpToolsProtocol is None:  # pragma: no cover
        return None
    return type(
        "GatewayHttpProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "max_head_bytes": settings.max_header_bytes,
            "header_timeout": settings.header_timeout_seconds,
            "body_timeout": settings.body_timeout_seconds,
            "max_connections": settings.max_connections,
        },
    )


def server_config(app: Any, settings: GatewaySettings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration the gateway is served with (host, port, limits); uvloop when
    installed. ``overrides``: any other ``uvicorn.Config`` argument (tests: ``port``)."""
    protocol = limited_protocol(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": protocol if protocol is not None else "h11",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        "log_config": None,
        "access_log": False,
        # Client addresses (the rate limits of anonymous requests) from X-Forwarded-For when
        # the peer is trusted: uvicorn reads FORWARDED_ALLOW_IPS (default 127.0.0.1).
        "proxy_headers": True,
    }
    if protocol is None:  # h11 has no other bound: let uvicorn's own 503 apply
        options["limit_concurrency"] = settings.max_connections
    options.update(overrides)
    return uvicorn.Config(app, **options)


# -- /metrics on the API's port -----------------------------------------------------------------


def metrics_on_api_port(settings: GatewaySettings) -> bool:
    """Whether the public port answers ``/metrics``: when a token guards it, when
    ``metrics_public`` says so, and by default only in development."""
    if settings.metrics_token is not None:
        return True
    if settings.metrics_public is not None:
        return settings.metrics_public
    return current_environment() == "development"


class MetricsGuard:
    """``/metrics`` on the API's port: 404 (as any unknown path) unless it should be answered
    there, 401 without the ``metrics_token`` when one is set. (A middleware, not a route
    change: the health router is shared by every app this process builds.)"""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.served = metrics_on_api_port(settings)
        self.token = None if settings.metrics_token is None else settings.metrics_token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/metrics":
            refusal = self._refusal(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        if not self.served:
            return problem_response(request, 404, problems.NOT_FOUND, "Not Found")
        if self.token is None:
            return None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("latin-1"), self.token
        ):
            return None
        return problem_response(
            request,
            401,
            problems.UNAUTHORIZED,
            "/metrics needs 'Authorization: Bearer <metrics token>'",
            BEARER_CHALLENGE,
        )

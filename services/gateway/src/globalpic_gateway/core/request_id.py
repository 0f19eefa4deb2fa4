"""``X-Request-ID``: one id per request, in the response, the logs, the trace and problem bodies.

A client's ``X-Request-ID`` is kept when it is a sane token (1–128 characters of
``[A-Za-z0-9._-]``: what a proxy or an integrator's own tracing sends); anything else (too long,
spaces, quotes, control characters) is replaced by a fresh ``uuid4().hex``, never echoed. The
id is then

* echoed as ``X-Request-ID`` on every response the app answers (errors included);
* ``request_id`` on every log record written while the request is handled (a log-record factory
  reads it from a context variable, so ``JsonFormatter`` puts it beside ``trace_id``);
* the attribute ``globalpic.request_id`` of the request's server span (FastAPI's own
  OpenTelemetry span, current inside the middleware stack);
* the ``request_id`` member of every ``application/problem+json`` body (``instance`` stays the
  path): a support ticket quoting a problem body finds the log lines and the trace.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
SPAN_ATTRIBUTE = "globalpic.request_id"
_HEADER_KEY = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_PROBLEM_JSON = b"application/problem+json"

_current: ContextVar[str | None] = ContextVar("globalpic_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context (``None`` outside one)."""
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: bytes | None) -> str:
    """The client's id when it is a sane token, else a new one."""
    if value is not None and _SANE.fullmatch(value):
        return value.decode("ascii")
    return new_request_id()


def request_id_of(scope: Scope) -> str:
    """The id the middleware gave this request (``scope["state"]``), or one from its header
    for code that runs outside the middleware (the server's own refusals)."""
    state = scope.get("state") or {}
    known = state.get("request_id")
    if isinstance(known, str):
        return known
    return accept_request_id(_header(scope, _HEADER_KEY))


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


_installed = False


def install_log_field() -> None:
    """Give every log record written inside a request its ``request_id`` (once per process;
    the previous record factory is kept and called first)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        request_id = _current.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RequestIdMiddleware:
    """The outermost middleware: every response below it, the rate limiter's 429s, the CORS
    preflights and the unexpected-error 500s included, carries the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(_header(scope, _HEADER_KEY))
        scope.setdefault("state", {})["request_id"] = request_id
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute(SPAN_ATTRIBUTE, request_id)
        token = _current.set(request_id)
        try:
            await self.app(scope, receive, _Stamping(send, request_id))
        finally:
            _current.reset(token)


class _Stamping:
    """``send`` with the id added: a header on the response start, a member of a problem body
    (which is small: buffered until complete, then sent with its new length)."""

    def __init__(self, send: Send, request_id: str) -> None:
        self.send = send
        self.request_id = request_id
        self.start: Message | None = None  # a problem's start, held until its body is complete
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_KEY]
            headers.append((_HEADER_KEY, self.request_id.encode("ascii")))
            message = {**message, "headers": headers}
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if content_type.split(b";")[0].strip().lower() == _PROBLEM_JSON:
                self.start = message
                return
            await self.send(message)
            return
        if kind == "http.response.body" and self.start is not None:
            self.body += message.get("body", b"")
            if message.get("more_body", False):
                return
            start, body = self.start, bytes(self.body)
            self.start = None
            if not body:  # HEAD: no body to stamp, and its length is the GET's
                await self.send(start)
                await self.send(message)
                return
            body = self._with_id(body)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode("ascii")))
            await self.send({**start, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})
            return
        await self.send(message)

    def _with_id(self, body: bytes) -> bytes:
        try:
            problem = json.loads(body)
        except ValueError:
            return body
        if not isinstance(problem, dict) or "request_id" in problem:
            return body
        problem["request_id"] = self.request_id
        return json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

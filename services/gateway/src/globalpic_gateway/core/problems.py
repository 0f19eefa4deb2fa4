"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code`` on every failure.

A route raises ``ApiError(status, code, detail)``; validation errors, unknown routes and any
unexpected exception are turned into the same shape by the handlers installed here, so a client
only ever parses one error format.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    ConflictError,
    GlobalPicError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnauthenticatedError,
)

log = logging.getLogger("globalpic.gateway")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:globalpic:problem:"

# Gateway codes (the image codes of globalpic_common.errors are reused as they are).
UNAUTHORIZED = "unauthorized"
JOB_NOT_FOUND = "job_not_found"
IMAGE_NOT_FOUND = "image_not_found"
RESULT_NOT_READY = "result_not_ready"
RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
BAD_CURSOR = "bad_cursor"
JOB_FINISHED = "job_finished"
UNKNOWN_PARAMETER = "unknown_parameter"
IMAGE_FAILED = "image_failed"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
VALIDATION_ERROR = "validation_error"
NO_IMAGES = "no_images"
TOO_MANY_IMAGES = "too_many_images"
REQUEST_TOO_LARGE = "request_too_large"
BAD_MULTIPART = "bad_multipart"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
BAD_LAST_EVENT_ID = "bad_last_event_id"
SERVICE_UNAVAILABLE = errors.SERVICE_UNAVAILABLE
INTERNAL_ERROR = "internal_error"
MALFORMED_BODY = "malformed_body"  # a body FastAPI could not parse (bytes that are not UTF-8)
# Accounts and billing
QUOTA_EXCEEDED = "quota_exceeded"
PAYMENT_REQUIRED = "payment_required"  # the subscription's last payment failed
THROTTLED = "throttled"  # fair use: over the month's images, one image a minute
PLAN_LIMIT = "plan_limit"  # the plan does not allow this (a feature, an output size)
INSUFFICIENT_SCOPE = "insufficient_scope"
ACCOUNTS_DISABLED = "accounts_disabled"
FORBIDDEN = errors.FORBIDDEN

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="globalpic"'}

# The account errors the auth and billing services raise, as HTTP statuses.
_ACCOUNT_STATUS: tuple[tuple[type[GlobalPicError], int], ...] = (
    (UnauthenticatedError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (RateLimitedError, 429),
)

# Which HTTP status a BadInputError code maps to; every other bad input is 422.
_BAD_INPUT_STATUS = {
    errors.FILE_TOO_LARGE: 413,
    errors.UNSUPPORTED_FORMAT: 415,
}


class Problem(BaseModel):
    """RFC 9457 problem details, plus the stable ``code`` (and ``errors`` for validation)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:globalpic:problem:unsupported_format",
                    "title": "Unsupported Media Type",
                    "status": 415,
                    "detail": "images[1] notes.txt: not an image Pillow can read",
                    "code": "unsupported_format",
                    "instance": "/v1/jobs",
                }
            ]
        },
    )

    type: str = Field(description="URI naming the problem: urn:globalpic:problem:<code>")
    title: str = Field(description="The HTTP status phrase")
    status: int
    detail: str = Field(description="What went wrong with this request, in words")
    code: str = Field(description="Stable machine-readable code; never renamed once published")
    instance: str | None = Field(None, description="The request path")


class ApiError(Exception):
    """Raised by routes and dependencies; rendered as problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra

    @classmethod
    def from_account_error(cls, exc: GlobalPicError) -> ApiError:
        """401 / 403 / 404 / 409 / 429 for the account error classes (their code kept)."""
        status = next(code for kind, code in _ACCOUNT_STATUS if isinstance(exc, kind))
        headers = None
        if isinstance(exc, UnauthenticatedError):
            headers = BEARER_CHALLENGE
        elif isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return cls(status, exc.code, exc.message, headers=headers)

    @classmethod
    def from_bad_input(cls, exc: BadInputError, prefix: str = "") -> ApiError:
        detail = f"{prefix}{exc.message}" if prefix else exc.message
        return cls(_BAD_INPUT_STATUS.get(exc.code, 422), exc.code, detail)


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


PROBLEM_REF = "#/components/schemas/Problem"


def document_problems(spec: dict[str, Any]) -> None:
    """Make the OpenAPI document say what the API does: every 4xx / 5xx body is a ``Problem``
    as ``application/problem+json``. FastAPI adds its own 422 (``HTTPValidationError`` as
    ``application/json``) to every route with parameters; the handlers here answer those too."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:  # FastAPI's answer to a body it cannot parse
                operation["responses"].setdefault(
                    "400", {"description": "Bad Request (`malformed_body`)"}
                )
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json for ``statuses``."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


# What every account route answers on a gateway without accounts (``AppState.auth``).
ACCOUNTS_OFF: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Not Found (`accounts_disabled`: this gateway has no accounts)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
}


_UNAVAILABLE_CODES = {
    errors.SERVICE_UNAVAILABLE,
    errors.SERVICE_TIMEOUT,
    errors.STORAGE_UNAVAILABLE,
}
_HTTP_CODES = {400: MALFORMED_BODY, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 401: UNAUTHORIZED}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers. Starlette's 405 names only the methods of
    the first route whose path matched (``GET /v1/jobs`` and ``POST /v1/jobs`` are two routes).
    Each method is tried against the router as a request would be, so nested routers count."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return problem_response(request, exc.status, exc.code, exc.detail, exc.headers, **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in details)
        return problem_response(request, 422, VALIDATION_ERROR, summary, errors=details)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = dict(getattr(exc, "headers", None) or {})
        detail = str(exc.detail)
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
        return problem_response(request, exc.status_code, code, detail, headers or None)

    async def on_bad_input(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BadInputError)
        api = ApiError.from_bad_input(exc)
        return problem_response(request, api.status, api.code, api.detail)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(BadInputError, on_bad_input)

    async def on_account_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GlobalPicError)
        api = ApiError.from_account_error(exc)
        return problem_response(request, api.status, api.code, api.detail, api.headers)

    for kind, _status in _ACCOUNT_STATUS:
        app.add_exception_handler(kind, on_account_error)
    # Not ``add_exception_handler(Exception, ...)``: Starlette runs that handler and then
    # re-raises, so the server logged every 500 a second time.
    app.add_middleware(UnexpectedErrorMiddleware)


def unexpected_problem(request: Request, exc: Exception) -> JSONResponse:
    """Log an unexpected exception once; answer 503 for a peer that is down, else 500."""
    # The detail stays generic: internals (paths, SQL) are for the log, not the client.
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    code = exc.code if isinstance(exc, GlobalPicError) else INTERNAL_ERROR
    if code in _UNAVAILABLE_CODES:  # a peer (storage, a service) is down: retryable
        return problem_response(
            request,
            503,
            code,
            "a backing service is unavailable; retry shortly",
            {"Retry-After": "5"},
        )
    return problem_response(request, 500, code, "internal error; it has been logged")


class UnexpectedErrorMiddleware:
    """Turns an exception no handler took into problem+json, logged exactly once.

    Once the response has started (a stream failing midway) nothing can be said to the client:
    the exception goes on to the server, which logs it and drops the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            await unexpected_problem(Request(scope), exc)(scope, receive, send)

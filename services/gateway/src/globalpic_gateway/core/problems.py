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

from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError

log = logging.getLogger("globalpic.gateway")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:globalpic:problem:"

# Gateway codes (the image codes of globalpic_common.errors are reused as they are).
UNAUTHORIZED = "unauthorized"
JOB_NOT_FOUND = "job_not_found"
IMAGE_NOT_FOUND = "image_not_found"
RESULT_NOT_READY = "result_not_ready"
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


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json for ``statuses``."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


_UNAVAILABLE_CODES = {
    errors.SERVICE_UNAVAILABLE,
    errors.SERVICE_TIMEOUT,
    errors.STORAGE_UNAVAILABLE,
}
_HTTP_CODES = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 401: UNAUTHORIZED}


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
        return problem_response(
            request, exc.status_code, code, str(exc.detail), getattr(exc, "headers", None)
        )

    async def on_bad_input(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BadInputError)
        api = ApiError.from_bad_input(exc)
        return problem_response(request, api.status, api.code, api.detail)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
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

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(BadInputError, on_bad_input)
    app.add_exception_handler(Exception, on_unexpected)

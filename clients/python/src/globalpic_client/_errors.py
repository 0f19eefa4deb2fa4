"""The API's errors as exceptions: ``application/problem+json`` (RFC 9457) with a stable
``code`` becomes ``GlobalPicError``."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


class GlobalPicError(Exception):
    """An error answer of the API.

    ``code`` is the API's stable machine-readable code (``job_not_found``,
    ``unsupported_format``, ``throttled``, ...); an answer that is not problem+json (a proxy's
    error page) gets ``http_<status>``. ``retry_after`` is the ``Retry-After`` header in
    seconds, when the answer had one. ``problem`` holds the whole problem document, extra
    members included (``remaining`` and ``unlock`` of ``quota_exceeded``, ``errors`` of
    ``validation_error``...).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        retry_after: float | None = None,
        *,
        title: str = "",
        instance: str | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.title = title
        self.instance = instance
        self.problem: dict[str, Any] = problem or {}

    def __repr__(self) -> str:
        return (
            f"GlobalPicError(status={self.status}, code={self.code!r}, detail={self.detail!r}, "
            f"retry_after={self.retry_after!r})"
        )

    @classmethod
    def from_response(cls, response: httpx.Response) -> GlobalPicError:
        """The error a non-2xx ``response`` (already read) stands for."""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        body: Any = None
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type in (PROBLEM_JSON, "application/json"):
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            detail = body.get("detail")
            title = body.get("title")
            instance = body.get("instance")
            return cls(
                response.status_code,
                body["code"],
                detail if isinstance(detail, str) else str(detail or ""),
                retry_after,
                title=title if isinstance(title, str) else "",
                instance=instance if isinstance(instance, str) else None,
                problem=body,
            )
        text = response.content[:500].decode("utf-8", "replace").strip()
        return cls(
            response.status_code,
            f"http_{response.status_code}",
            text or response.reason_phrase,
            retry_after,
            title=response.reason_phrase,
        )


class WaitTimeoutError(TimeoutError):
    """``wait`` gave up before the job finished; ``job`` is its last state seen (or None)."""

    def __init__(self, job_id: str, timeout: float, job: Any = None) -> None:
        super().__init__(f"job {job_id} did not finish within {timeout:g} s")
        self.job_id = job_id
        self.job = job


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110); None if absent or
    unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))

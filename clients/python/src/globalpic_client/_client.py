"""``GlobalPic`` (sync) and ``AsyncGlobalPic``: the REST API over httpx.

Both share everything but the I/O (``_Core``): how a submission is encoded, which answers and
failures are retried and how long to wait, how a download is named. Retries: ``429`` and
``503`` answers (the server did nothing) after their ``Retry-After`` (bounded by
``max_retry_wait``: a longer one is raised at once), else with exponential backoff; connection
failures before the request went out always; other transport failures only for requests
that are safe to repeat (GETs, and submissions, which always carry an ``Idempotency-Key``:
the server answers a repeat with the job the first one created).
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import random
import re
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path, PurePath
from typing import IO, Any, Literal, TypeAlias, overload

import httpx

from globalpic_client._errors import GlobalPicError, WaitTimeoutError
from globalpic_client._models import Adjustment, Event, Job, JobPage, JobSummary
from globalpic_client._sse import SSEDecoder

__all__ = ["AsyncGlobalPic", "GlobalPic", "ImageInput"]

# A file to upload: a path, its bytes, (filename, bytes), or a binary file object.
ImageInput: TypeAlias = str | os.PathLike[str] | bytes | tuple[str, bytes] | IO[bytes]
PathLike: TypeAlias = str | os.PathLike[str]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 503})
# Server-sent pings come every 15 s: a read that waits longer than this has lost the server.
SSE_READ_TIMEOUT = 45.0
SSE_DEFAULT_RETRY_S = 1.0
SSE_MAX_RETRY_S = 30.0
USER_AGENT = "globalpic-python/0.1.0"

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)


def _sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes of an image."""
    for magic, content_type, ext in _MAGIC:
        if data.startswith(magic):
            return content_type, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _file_part(item: ImageInput, default_stem: str) -> tuple[str, bytes, str]:
    """(filename, bytes, content type) of an upload."""
    name: str | None = None
    if isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
    elif isinstance(item, tuple):
        name, data = item[0], bytes(item[1])
    elif isinstance(item, str | os.PathLike):
        path = Path(item)
        name, data = path.name, path.read_bytes()
    else:  # a binary file object
        data = item.read()
        raw_name = getattr(item, "name", None)
        name = PurePath(raw_name).name if isinstance(raw_name, str) else None
    sniffed = _sniff(data)
    if not name:
        name = default_stem + (sniffed[1] if sniffed else "")
    content_type = (
        sniffed[0] if sniffed else mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    return name, data, content_type


def _single(images: object) -> bool:
    """One upload rather than a sequence of them (a ``(name, bytes)`` pair is one)."""
    if isinstance(images, str | os.PathLike | bytes | bytearray | memoryview):
        return True
    if isinstance(images, tuple):
        return len(images) == 2 and isinstance(images[1], bytes | bytearray | memoryview)
    return hasattr(images, "read")


def _csv(value: str | Sequence[str] | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else ",".join(value)


_DISPOSITION_STAR = re.compile(r"filename\*\s*=\s*([^;]+)", re.IGNORECASE)
_DISPOSITION = re.compile(r'filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)', re.IGNORECASE)


def filename_from_disposition(header: str | None) -> str | None:
    """The file name a ``Content-Disposition`` gives (RFC 6266: ``filename*`` first), as a
    bare name that is safe to join to a directory; None when it gives none."""
    if not header:
        return None
    name: str | None = None
    star = _DISPOSITION_STAR.search(header)
    if star:
        charset, _, rest = star.group(1).strip().partition("'")
        _, _, encoded = rest.partition("'")
        try:
            name = urllib.parse.unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = None
    if name is None:
        plain = _DISPOSITION.search(header)
        if plain:
            name = plain.group(1).strip()
            if name.startswith('"'):
                name = re.sub(r"\\(.)", r"\1", name[1:-1])
    if name is None:
        return None
    name = PurePath(name.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "/\0")
    return None if name in ("", ".", "..") else name


class _Core:
    """Configuration and the I/O-free parts of both clients."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        token: str | None,
        timeout: float,
        retries: int,
        max_retry_wait: float,
    ) -> None:
        if api_key and token:
            raise ValueError("give api_key or token, not both")
        credential = api_key or token or os.environ.get("GLOBALPIC_API_KEY")
        self.base_url = (
            base_url or os.environ.get("GLOBALPIC_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.max_retry_wait = max_retry_wait
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if credential:
            self.headers["Authorization"] = f"Bearer {credential}"

    # -- retries ----------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Attempt ``attempt`` (0-based) failed without a Retry-After: 0.5 s, 1 s, 2 s, ...
        (at most 30 s), with jitter so that many clients do not come back together."""
        return min(30.0, 0.5 * 2.0**attempt) * random.uniform(0.5, 1.0)

    def delay_for(self, error: GlobalPicError, attempt: int) -> float | None:
        """How long to wait before retrying after ``error``; None: do not retry."""
        if error.status not in RETRY_STATUSES or attempt >= self.retries:
            return None
        if error.retry_after is None:
            return self.backoff(attempt)
        if error.retry_after > self.max_retry_wait:
            return None  # retrying sooner than told would only be refused again
        return error.retry_after

    def retry_transport(self, exc: httpx.TransportError, idempotent: bool, attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        # Not sent at all: safe whatever the request. Otherwise only when a repeat is harmless.
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or idempotent

    # -- requests -----------------------------------------------------------------------------

    def submit_request(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        ops: str | Sequence[str] | None,
        style: str | None,
        platform: str | None,
        candidates: int | None,
        keywords: str | Sequence[str] | None,
        facts: str | dict[str, str] | None,
        copy_platforms: str | Sequence[str] | None,
        background: ImageInput | None,
        masks: Sequence[ImageInput] | None,
        keep_masks: Sequence[ImageInput] | None,
        idempotency_key: str | None,
    ) -> tuple[list[tuple[str, tuple[str, bytes, str]]], dict[str, str], dict[str, str]]:
        """(files, form fields, headers) of ``POST /v1/jobs``: every file read once, so a
        retry sends the same bytes with the same ``Idempotency-Key``."""
        items: list[ImageInput] = (
            [images] if _single(images) else list(images)  # type: ignore[list-item,arg-type]
        )
        if not items:
            raise ValueError("submit needs at least one image")
        files = [("images", _file_part(item, f"image-{k}")) for k, item in enumerate(items)]
        for field, entries in (("masks", masks), ("keep_masks", keep_masks)):
            for k, item in enumerate(entries or []):
                files.append((field, _file_part(item, f"{field}-{k}")))
        if background is not None:
            files.append(("background", _file_part(background, "background")))
        if isinstance(facts, dict):
            facts = ", ".join(f"{key}={value}" for key, value in facts.items())
        data = {
            name: str(value)
            for name, value in (
                ("ops", _csv(ops)),
                ("style", style),
                ("platform", platform),
                ("candidates", candidates),
                ("keywords", _csv(keywords)),
                ("facts", facts),
                ("copy_platforms", _csv(copy_platforms)),
            )
            if value is not None
        }
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return files, data, headers

    def clean_request(
        self,
        mask: ImageInput | None,
        keep_mask: ImageInput | None,
        erase_texts: Sequence[int] | None,
    ) -> tuple[list[tuple[str, tuple[str | None, bytes, str | None]]], dict[str, str]]:
        files: list[tuple[str, tuple[str | None, bytes, str | None]]] = []
        if mask is not None:
            files.append(("mask", _file_part(mask, "mask")))
        if keep_mask is not None:
            files.append(("keep_mask", _file_part(keep_mask, "keep_mask")))
        data = {}
        if erase_texts is not None:
            data["erase_texts"] = ",".join(str(int(k)) for k in erase_texts)
        if not files:
            # the route takes multipart only: a form without files still goes as multipart
            files.append(("erase_texts", (None, data.pop("erase_texts", "").encode(), None)))
        return files, data

    @staticmethod
    def job_path(job_id: str) -> str:
        return f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}"

    def sse_timeout(self, deadline: float | None) -> httpx.Timeout:
        read = max(self.timeout, SSE_READ_TIMEOUT)
        if deadline is not None:
            read = max(0.05, min(read, deadline - time.monotonic() + 0.05))
        return httpx.Timeout(self.timeout, read=read)

    @staticmethod
    def sse_delay(decoder_retry_ms: int | None, failures: int) -> float:
        base = decoder_retry_ms / 1000 if decoder_retry_ms is not None else SSE_DEFAULT_RETRY_S
        return min(SSE_MAX_RETRY_S, base * 2.0 ** max(0, failures - 1))

    @staticmethod
    def target(to: PathLike, response: httpx.Response, fallback: str) -> Path:
        """Where a download goes: ``to``, or the name the server gave inside ``to`` when it
        is a directory (one that exists, or a string ending in a slash)."""
        path = Path(to)
        if path.is_dir() or (isinstance(to, str) and to.endswith(("/", os.sep))):
            name = filename_from_disposition(response.headers.get("content-disposition"))
            return path / (name or fallback)
        return path


def _finished(job: Job) -> bool:
    return job.status in ("completed", "failed")


class GlobalPic:
    """The GlobalPic API, synchronously.

    ``api_key`` (an API key, ``gp_...``) or ``token`` (a web-app access token): sent as
    ``Authorization: Bearer``; by default ``GLOBALPIC_API_KEY`` and ``GLOBALPIC_BASE_URL``
    from the environment. ``timeout`` is per request (seconds); ``retries`` how many times a
    ``429`` / ``503`` / connection failure is retried. ``transport`` replaces httpx's (tests,
    proxies).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = _Core(base_url, api_key, token, timeout, retries, max_retry_wait)
        self._http = httpx.Client(
            base_url=self._core.base_url,
            headers=self._core.headers,
            timeout=timeout,
            transport=transport,
        )
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GlobalPic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One API call with the retries; a non-2xx answer is raised as ``GlobalPicError``."""
        idempotent = method in ("GET", "HEAD") if idempotent is None else idempotent
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if not self._core.retry_transport(exc, idempotent, attempt):
                    raise
                self._sleep(self._core.backoff(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            error = GlobalPicError.from_response(response)
            delay = self._core.delay_for(error, attempt)
            if delay is None:
                raise error
            self._sleep(delay)
            attempt += 1

    def _download(self, path: str, to: PathLike | None, fallback: str) -> bytes | Path:
        """GET ``path`` into memory or a file (written aside, renamed when whole), with the
        retries of a GET."""
        attempt = 0
        while True:
            try:
                with self._http.stream("GET", path) as response:
                    if response.is_success:
                        if to is None:
                            return response.read()
                        target = self._core.target(to, response, fallback)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".globalpic-")
                        try:
                            with os.fdopen(fd, "wb") as out:
                                for chunk in response.iter_bytes():
                                    out.write(chunk)
                            os.replace(tmp, target)
                        except BaseException:
                            Path(tmp).unlink(missing_ok=True)
                            raise
                        return target
                    response.read()
                    error = GlobalPicError.from_response(response)
            except httpx.TransportError as exc:
                if not self._core.retry_transport(exc, True, attempt):
                    raise
                self._sleep(self._core.backoff(attempt))
                attempt += 1
                continue
            delay = self._core.delay_for(error, attempt)
            if delay is None:
                raise error
            self._sleep(delay)
            attempt += 1

    # -- jobs ---------------------------------------------------------------------------------

    def submit(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        ops: str | Sequence[str] | None = None,
        style: str | None = None,
        platform: str | None = None,
        candidates: int | None = None,
        keywords: str | Sequence[str] | None = None,
        facts: str | dict[str, str] | None = None,
        copy_platforms: str | Sequence[str] | None = None,
        background: ImageInput | None = None,
        masks: Sequence[ImageInput] | None = None,
        keep_masks: Sequence[ImageInput] | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """``POST /v1/jobs``: photos (paths, bytes, ``(name, bytes)`` or files) and options
        (the server's defaults for those left out). ``masks`` / ``keep_masks``: the k-th
        goes with the k-th image. An ``Idempotency-Key`` is generated unless given, so a
        retried submission never creates a second job."""
        files, data, headers = self._core.submit_request(
            images,
            ops=ops,
            style=style,
            platform=platform,
            candidates=candidates,
            keywords=keywords,
            facts=facts,
            copy_platforms=copy_platforms,
            background=background,
            masks=masks,
            keep_masks=keep_masks,
            idempotency_key=idempotency_key,
        )
        response = self._request(
            "POST", "/v1/jobs", idempotent=True, files=files, data=data, headers=headers
        )
        return Job.from_json(response.json())

    def get(self, job_id: str) -> Job:
        """``GET /v1/jobs/{id}``."""
        return Job.from_json(self._request("GET", self._core.job_path(job_id)).json())

    def list_page(
        self, *, limit: int | None = None, offset: int = 0, cursor: str | None = None
    ) -> JobPage:
        """One page of ``GET /v1/jobs`` (newest first)."""
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        elif offset:
            params["offset"] = offset
        return JobPage.from_json(self._request("GET", "/v1/jobs", params=params).json())

    def list_jobs(
        self, *, limit: int | None = None, page_size: int | None = None
    ) -> Iterator[JobSummary]:
        """Every job of the team, newest first (at most ``limit``), page after page: by the
        server's ``next_cursor`` when it gives one, else by offset."""
        seen = 0
        offset = 0
        cursor: str | None = None
        while limit is None or seen < limit:
            size = page_size if limit is None else min(page_size or 100, limit - seen)
            page = self.list_page(limit=size, offset=offset, cursor=cursor)
            for item in page.items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            if not page.items:
                return
            if page.next_cursor:
                cursor = page.next_cursor
            elif cursor is None and page.offset + len(page.items) < page.total:
                offset = page.offset + len(page.items)
            else:
                return

    # -- progress -----------------------------------------------------------------------------

    def events(
        self, job_id: str, *, last_event_id: str | None = None, timeout: float | None = None
    ) -> Iterator[Event]:
        """The job's Server-Sent Events (``progress`` ..., then ``completed``, which ends the
        iteration), from the start or after ``last_event_id``. A dropped connection is
        resumed with ``Last-Event-ID`` (the server's ``retry`` between tries, doubling on
        consecutive failures, at most ``retries`` failures in a row)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_id = last_event_id or ""
        retry_ms: int | None = None
        failures = 0
        path = self._core.job_path(job_id) + "/events"
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            decoder = SSEDecoder()
            decoder.last_event_id = last_id
            failure: BaseException | None = None
            try:
                with self._http.stream(
                    "GET", path, headers=headers, timeout=self._core.sse_timeout(deadline)
                ) as response:
                    if not response.is_success:
                        response.read()
                        error = GlobalPicError.from_response(response)
                        delay = self._core.delay_for(error, failures)
                        if delay is None:
                            raise error
                        failures += 1
                        self._sleep(delay)
                        continue
                    for chunk in response.iter_bytes():
                        events = decoder.feed(chunk)
                        last_id = decoder.last_event_id
                        if events or decoder.comments:
                            failures = 0
                        for event in events:
                            yield event
                            if event.event == "completed":
                                return
                        if deadline is not None and time.monotonic() >= deadline:
                            raise WaitTimeoutError(job_id, timeout or 0.0)
                failure = GlobalPicError(0, "stream_ended", "the event stream ended early")
            except httpx.TransportError as exc:
                failure = exc
            last_id = decoder.last_event_id
            retry_ms = decoder.retry if decoder.retry is not None else retry_ms
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(job_id, timeout or 0.0) from failure
            failures += 1
            if failures > self._core.retries:
                raise failure
            self._sleep(self._core.sse_delay(retry_ms, failures))

    def wait(
        self,
        job_id: str,
        *,
        via: Literal["sse", "poll"] = "sse",
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
        on_event: Callable[[Event], None] | None = None,
    ) -> Job:
        """The job once it is finished (``completed`` or ``failed``: a failed job is returned,
        not raised). ``via="sse"`` follows its event stream (resumed after a dropped
        connection), ``via="poll"`` polls ``GET /v1/jobs/{id}`` from ``poll_interval``,
        backing off to ``max_poll_interval``. ``WaitTimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        if via == "sse":
            for event in self.events(job_id, timeout=timeout):
                if on_event is not None:
                    on_event(event)
            job = self.get(job_id)
            # the stream ends on the completion; the rows say so too (read after it)
            if _finished(job):
                return job
        elif via != "poll":
            raise ValueError(f"via must be 'sse' or 'poll', not {via!r}")
        interval = poll_interval
        while True:
            job = self.get(job_id)
            if _finished(job):
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(job_id, timeout, job)
            self._sleep(min(interval, remaining))
            interval = min(max_poll_interval, interval * 1.5)

    # -- results ------------------------------------------------------------------------------

    @overload
    def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: None = None
    ) -> bytes: ...
    @overload
    def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: PathLike
    ) -> Path: ...
    def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: PathLike | None = None
    ) -> bytes | Path:
        """One result (image ``index`` 0-based, ``candidate`` 1-based): its bytes, or written
        to ``to`` (a file, or a directory: an existing one or ``"out/"``, with the server's
        file name inside it) and its path."""
        path = (
            f"{self._core.job_path(job_id)}/images/{int(index)}/result?candidate={int(candidate)}"
        )
        return self._download(path, to, f"{job_id}_{index:03d}_{candidate}")

    @overload
    def download_original(self, job_id: str, index: int = 0, *, to: None = None) -> bytes: ...
    @overload
    def download_original(self, job_id: str, index: int = 0, *, to: PathLike) -> Path: ...
    def download_original(
        self, job_id: str, index: int = 0, *, to: PathLike | None = None
    ) -> bytes | Path:
        """The upload of image ``index`` as it came."""
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/original"
        return self._download(path, to, f"{job_id}_{index:03d}_original")

    @overload
    def download_zip(self, job_id: str, *, to: None = None) -> bytes: ...
    @overload
    def download_zip(self, job_id: str, *, to: PathLike) -> Path: ...
    def download_zip(self, job_id: str, *, to: PathLike | None = None) -> bytes | Path:
        """Every result of a finished job and its ``report.json`` as one ZIP."""
        path = f"{self._core.job_path(job_id)}/results.zip"
        return self._download(path, to, f"globalpic-{job_id}.zip")

    # -- re-runs ------------------------------------------------------------------------------

    def adjust(
        self,
        job_id: str,
        index: int,
        *,
        candidate: int = 0,
        brightness: float = 0.0,
        saturation: float = 0.0,
        detail: float = 0.0,
        strength: float = 1.0,
    ) -> Job:
        """Fine-tune one result (``candidate`` 0-based): a re-run, a new job of one image."""
        values = Adjustment(
            candidate=candidate,
            brightness=brightness,
            saturation=saturation,
            detail=detail,
            strength=strength,
        )
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/adjust"
        return Job.from_json(self._request("POST", path, json=values.to_json()).json())

    def clean(
        self,
        job_id: str,
        index: int,
        *,
        mask: ImageInput | None = None,
        keep_mask: ImageInput | None = None,
        erase_texts: Sequence[int] | None = None,
    ) -> Job:
        """Clean one image again: erase what ``mask`` paints and the report's ``erase_texts``
        lines, never touching what ``keep_mask`` paints. A re-run."""
        files, data = self._core.clean_request(mask, keep_mask, erase_texts)
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/clean"
        return Job.from_json(self._request("POST", path, files=files, data=data).json())

    def retry(self, job_id: str, index: int) -> Job:
        """Run one image again as it was asked for. A re-run."""
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/retry"
        return Job.from_json(self._request("POST", path).json())


class AsyncGlobalPic:
    """The GlobalPic API with asyncio: ``GlobalPic``'s methods as coroutines
    (``list_jobs`` and ``events`` are async iterators)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = _Core(base_url, api_key, token, timeout, retries, max_retry_wait)
        self._http = httpx.AsyncClient(
            base_url=self._core.base_url,
            headers=self._core.headers,
            timeout=timeout,
            transport=transport,
        )
        self._sleep: Callable[[float], Any] = asyncio.sleep

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGlobalPic:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing -----------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        idempotent = method in ("GET", "HEAD") if idempotent is None else idempotent
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if not self._core.retry_transport(exc, idempotent, attempt):
                    raise
                await self._sleep(self._core.backoff(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            error = GlobalPicError.from_response(response)
            delay = self._core.delay_for(error, attempt)
            if delay is None:
                raise error
            await self._sleep(delay)
            attempt += 1

    async def _download(self, path: str, to: PathLike | None, fallback: str) -> bytes | Path:
        attempt = 0
        while True:
            try:
                async with self._http.stream("GET", path) as response:
                    if response.is_success:
                        if to is None:
                            return await response.aread()
                        target = self._core.target(to, response, fallback)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".globalpic-")
                        try:
                            with os.fdopen(fd, "wb") as out:
                                async for chunk in response.aiter_bytes():
                                    out.write(chunk)
                            os.replace(tmp, target)
                        except BaseException:
                            Path(tmp).unlink(missing_ok=True)
                            raise
                        return target
                    await response.aread()
                    error = GlobalPicError.from_response(response)
            except httpx.TransportError as exc:
                if not self._core.retry_transport(exc, True, attempt):
                    raise
                await self._sleep(self._core.backoff(attempt))
                attempt += 1
                continue
            delay = self._core.delay_for(error, attempt)
            if delay is None:
                raise error
            await self._sleep(delay)
            attempt += 1

    # -- jobs ---------------------------------------------------------------------------------

    async def submit(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        ops: str | Sequence[str] | None = None,
        style: str | None = None,
        platform: str | None = None,
        candidates: int | None = None,
        keywords: str | Sequence[str] | None = None,
        facts: str | dict[str, str] | None = None,
        copy_platforms: str | Sequence[str] | None = None,
        background: ImageInput | None = None,
        masks: Sequence[ImageInput] | None = None,
        keep_masks: Sequence[ImageInput] | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """``GlobalPic.submit``."""
        files, data, headers = self._core.submit_request(
            images,
            ops=ops,
            style=style,
            platform=platform,
            candidates=candidates,
            keywords=keywords,
            facts=facts,
            copy_platforms=copy_platforms,
            background=background,
            masks=masks,
            keep_masks=keep_masks,
            idempotency_key=idempotency_key,
        )
        response = await self._request(
            "POST", "/v1/jobs", idempotent=True, files=files, data=data, headers=headers
        )
        return Job.from_json(response.json())

    async def get(self, job_id: str) -> Job:
        response = await self._request("GET", self._core.job_path(job_id))
        return Job.from_json(response.json())

    async def list_page(
        self, *, limit: int | None = None, offset: int = 0, cursor: str | None = None
    ) -> JobPage:
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        elif offset:
            params["offset"] = offset
        response = await self._request("GET", "/v1/jobs", params=params)
        return JobPage.from_json(response.json())

    async def list_jobs(
        self, *, limit: int | None = None, page_size: int | None = None
    ) -> AsyncIterator[JobSummary]:
        seen = 0
        offset = 0
        cursor: str | None = None
        while limit is None or seen < limit:
            size = page_size if limit is None else min(page_size or 100, limit - seen)
            page = await self.list_page(limit=size, offset=offset, cursor=cursor)
            for item in page.items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            if not page.items:
                return
            if page.next_cursor:
                cursor = page.next_cursor
            elif cursor is None and page.offset + len(page.items) < page.total:
                offset = page.offset + len(page.items)
            else:
                return

    # -- progress -----------------------------------------------------------------------------

    async def events(
        self, job_id: str, *, last_event_id: str | None = None, timeout: float | None = None
    ) -> AsyncIterator[Event]:
        """``GlobalPic.events``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_id = last_event_id or ""
        retry_ms: int | None = None
        failures = 0
        path = self._core.job_path(job_id) + "/events"
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            decoder = SSEDecoder()
            decoder.last_event_id = last_id
            failure: BaseException | None = None
            try:
                async with self._http.stream(
                    "GET", path, headers=headers, timeout=self._core.sse_timeout(deadline)
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        error = GlobalPicError.from_response(response)
                        delay = self._core.delay_for(error, failures)
                        if delay is None:
                            raise error
                        failures += 1
                        await self._sleep(delay)
                        continue
                    async for chunk in response.aiter_bytes():
                        events = decoder.feed(chunk)
                        last_id = decoder.last_event_id
                        if events or decoder.comments:
                            failures = 0
                        for event in events:
                            yield event
                            if event.event == "completed":
                                return
                        if deadline is not None and time.monotonic() >= deadline:
                            raise WaitTimeoutError(job_id, timeout or 0.0)
                failure = GlobalPicError(0, "stream_ended", "the event stream ended early")
            except httpx.TransportError as exc:
                failure = exc
            last_id = decoder.last_event_id
            retry_ms = decoder.retry if decoder.retry is not None else retry_ms
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(job_id, timeout or 0.0) from failure
            failures += 1
            if failures > self._core.retries:
                raise failure
            await self._sleep(self._core.sse_delay(retry_ms, failures))

    async def wait(
        self,
        job_id: str,
        *,
        via: Literal["sse", "poll"] = "sse",
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
        on_event: Callable[[Event], Any] | None = None,
    ) -> Job:
        """``GlobalPic.wait``."""
        deadline = time.monotonic() + timeout
        if via == "sse":
            async for event in self.events(job_id, timeout=timeout):
                if on_event is not None:
                    outcome = on_event(event)
                    if asyncio.iscoroutine(outcome):
                        await outcome
            job = await self.get(job_id)
            if _finished(job):
                return job
        elif via != "poll":
            raise ValueError(f"via must be 'sse' or 'poll', not {via!r}")
        interval = poll_interval
        while True:
            job = await self.get(job_id)
            if _finished(job):
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(job_id, timeout, job)
            await self._sleep(min(interval, remaining))
            interval = min(max_poll_interval, interval * 1.5)

    # -- results ------------------------------------------------------------------------------

    @overload
    async def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: None = None
    ) -> bytes: ...
    @overload
    async def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: PathLike
    ) -> Path: ...
    async def download(
        self, job_id: str, index: int = 0, candidate: int = 1, *, to: PathLike | None = None
    ) -> bytes | Path:
        path = (
            f"{self._core.job_path(job_id)}/images/{int(index)}/result?candidate={int(candidate)}"
        )
        return await self._download(path, to, f"{job_id}_{index:03d}_{candidate}")

    @overload
    async def download_original(self, job_id: str, index: int = 0, *, to: None = None) -> bytes: ...
    @overload
    async def download_original(self, job_id: str, index: int = 0, *, to: PathLike) -> Path: ...
    async def download_original(
        self, job_id: str, index: int = 0, *, to: PathLike | None = None
    ) -> bytes | Path:
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/original"
        return await self._download(path, to, f"{job_id}_{index:03d}_original")

    @overload
    async def download_zip(self, job_id: str, *, to: None = None) -> bytes: ...
    @overload
    async def download_zip(self, job_id: str, *, to: PathLike) -> Path: ...
    async def download_zip(self, job_id: str, *, to: PathLike | None = None) -> bytes | Path:
        path = f"{self._core.job_path(job_id)}/results.zip"
        return await self._download(path, to, f"globalpic-{job_id}.zip")

    # -- re-runs ------------------------------------------------------------------------------

    async def adjust(
        self,
        job_id: str,
        index: int,
        *,
        candidate: int = 0,
        brightness: float = 0.0,
        saturation: float = 0.0,
        detail: float = 0.0,
        strength: float = 1.0,
    ) -> Job:
        values = Adjustment(
            candidate=candidate,
            brightness=brightness,
            saturation=saturation,
            detail=detail,
            strength=strength,
        )
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/adjust"
        response = await self._request("POST", path, json=values.to_json())
        return Job.from_json(response.json())

    async def clean(
        self,
        job_id: str,
        index: int,
        *,
        mask: ImageInput | None = None,
        keep_mask: ImageInput | None = None,
        erase_texts: Sequence[int] | None = None,
    ) -> Job:
        files, data = self._core.clean_request(mask, keep_mask, erase_texts)
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/clean"
        response = await self._request("POST", path, files=files, data=data)
        return Job.from_json(response.json())

    async def retry(self, job_id: str, index: int) -> Job:
        path = f"{self._core.job_path(job_id)}/images/{int(index)}/retry"
        return Job.from_json((await self._request("POST", path)).json())

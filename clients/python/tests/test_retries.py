"""Retries, SSE resume, polling and paging over a fake transport that speaks the gateway's
wire format (its JobOut / JobPage JSON, problem+json, sse-starlette's event framing)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from globalpic_client import AsyncGlobalPic, GlobalPic, GlobalPicError, Job, WaitTimeoutError
from globalpic_client._client import filename_from_disposition
from globalpic_client._errors import parse_retry_after
from globalpic_gateway.schemas import JobOut, JobPage, JobSummary

EXAMPLE: dict[str, Any] = cast(dict[str, Any], JobOut.model_config["json_schema_extra"])[
    "examples"
][0]
JOB_ID = EXAMPLE["id"]


def job_json(status: str = "running", **changes: Any) -> dict[str, Any]:
    """A job exactly as the gateway writes it (its own response model)."""
    data = json.loads(json.dumps(EXAMPLE))
    data.update(status=status, **changes)
    return JobOut.model_validate(data).model_dump(mode="json")


def problem(
    status: int, code: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    body = {
        "type": f"urn:globalpic:problem:{code}",
        "title": "Too Many Requests" if status == 429 else "Error",
        "status": status,
        "detail": f"{code} happened",
        "code": code,
        "instance": "/v1/jobs",
        **extra,
    }
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/problem+json", **(headers or {})},
    )


def sse_frame(event: str, data: dict[str, Any], event_id: int | None) -> bytes:
    """One event as sse-starlette writes it (CRLF line ends)."""
    lines = ([f"id: {event_id}"] if event_id is not None else []) + [
        f"event: {event}",
        f"data: {json.dumps(data)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def progress(seq: int, percent: int) -> bytes:
    payload = {"input": "mug.jpg", "stage": "extract", "percent": percent, "job_id": JOB_ID,
               "tenant_id": "acme", "image": 0, "state": "running", "eta_seconds": 1.0,
               "error": None}  # fmt: skip
    return sse_frame("progress", payload, seq)


COMPLETED = sse_frame(
    "completed",
    {"job_id": JOB_ID, "tenant_id": "acme", "status": "completed", "images": 1,
     "completed": 1, "failed": 0, "cached": 0, "finished_at": "2026-01-05T10:00:04Z"},
    19,
)  # fmt: skip


class Dropped(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends ``chunks`` and then loses the connection (or ends, ``drop=False``)."""

    def __init__(self, chunks: list[bytes], drop: bool = True) -> None:
        self.chunks, self.drop = chunks, drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


Handler = Callable[[httpx.Request], httpx.Response]


class Fake:
    """Records every request; answers them with ``handler``; records the client's sleeps."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def client(self, **kwargs: Any) -> GlobalPic:
        client = GlobalPic(
            "http://api.test", api_key="gp_test", transport=httpx.MockTransport(self), **kwargs
        )
        client._sleep = self.sleeps.append
        return client

    def async_client(self, **kwargs: Any) -> AsyncGlobalPic:
        client = AsyncGlobalPic(
            "http://api.test", api_key="gp_test", transport=httpx.MockTransport(self), **kwargs
        )

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._sleep = sleep
        return client


def answers(*responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> Handler:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        return item(request) if callable(item) else item

    return handler


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json=job_json("queued"), headers={"Location": f"/v1/jobs/{JOB_ID}"})


# --- retries ---------------------------------------------------------------------------------


def test_429_and_503_are_retried_with_the_same_idempotency_key() -> None:
    fake = Fake(
        answers(
            problem(429, "throttled", {"Retry-After": "2"}),
            problem(503, "service_unavailable"),
            accepted,
        )
    )
    with fake.client() as gp:
        job = gp.submit([b"\xff\xd8\xff\xe0 photo"], ops=["extract", "resize"], candidates=2)
    assert isinstance(job, Job) and job.id == JOB_ID and job.status == "queued"
    assert [r.method for r in fake.requests] == ["POST"] * 3
    keys = {r.headers["idempotency-key"] for r in fake.requests}
    assert len(keys) == 1 and len(keys.pop()) == 32
    # the very same form each time (but for httpx's random boundary)
    bodies = {
        r.content.replace(r.headers["content-type"].split("boundary=")[1].encode(), b"B")
        for r in fake.requests
    }
    assert len(bodies) == 1
    body = fake.requests[0].content
    assert b'name="ops"\r\n\r\nextract,resize' in body and b'name="candidates"\r\n\r\n2' in body
    assert b'filename="image-0.jpg"' in body and b"Content-Type: image/jpeg" in body
    assert fake.requests[0].headers["authorization"] == "Bearer gp_test"
    assert fake.sleeps[0] == 2.0 and 0.5 <= fake.sleeps[1] <= 1.0  # Retry-After, then backoff


def test_a_given_idempotency_key_is_sent_as_is() -> None:
    fake = Fake(answers(accepted))
    with fake.client() as gp:
        gp.submit(("mug.png", b"\x89PNG\r\n\x1a\n..."), idempotency_key="order-42")
    request = fake.requests[0]
    assert request.headers["idempotency-key"] == "order-42"
    assert b'filename="mug.png"' in request.content and b"image/png" in request.content


def test_retry_after_as_an_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake = Fake(
        answers(
            problem(
                503, "service_unavailable", {"Retry-After": format_datetime(when, usegmt=True)}
            ),
            accepted,
        )
    )
    with fake.client() as gp:
        gp.submit(b"x")
    assert 25 <= fake.sleeps[0] <= 30


def test_a_retry_after_beyond_the_bound_is_raised_at_once() -> None:
    fake = Fake(answers(problem(429, "throttled", {"Retry-After": "3600"})))
    with fake.client(max_retry_wait=60) as gp, pytest.raises(GlobalPicError) as info:
        gp.get(JOB_ID)
    assert (info.value.status, info.value.code, info.value.retry_after) == (429, "throttled", 3600)
    assert len(fake.requests) == 1 and fake.sleeps == []


def test_retries_are_bounded() -> None:
    fake = Fake(lambda request: problem(503, "service_unavailable", {"Retry-After": "1"}))
    with fake.client(retries=2) as gp, pytest.raises(GlobalPicError) as info:
        gp.get(JOB_ID)
    assert info.value.code == "service_unavailable" and info.value.retry_after == 1
    assert len(fake.requests) == 3 and fake.sleeps == [1.0, 1.0]


def test_other_errors_are_raised_with_the_problem() -> None:
    fake = Fake(answers(problem(402, "quota_exceeded", remaining=0, unlock="/pricing")))
    with fake.client() as gp, pytest.raises(GlobalPicError) as info:
        gp.submit(b"x")
    error = info.value
    assert (error.status, error.code, error.detail) == (
        402,
        "quota_exceeded",
        "quota_exceeded happened",
    )
    assert error.problem["remaining"] == 0 and error.problem["unlock"] == "/pricing"
    assert error.retry_after is None and len(fake.requests) == 1
    assert "402 quota_exceeded" in str(error)


def test_an_answer_that_is_not_a_problem() -> None:
    fake = Fake(
        answers(
            httpx.Response(
                502, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"}
            )
        )
    )
    with fake.client() as gp, pytest.raises(GlobalPicError) as info:
        gp.get(JOB_ID)
    assert (info.value.status, info.value.code) == (502, "http_502")
    assert "Bad Gateway" in info.value.detail


def test_transport_failures_are_retried_only_where_safe() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    rerun = httpx.Response(202, json=job_json("queued"))
    # not sent at all: even a re-run is retried
    fake = Fake(answers(refuse, rerun))
    with fake.client() as gp:
        assert gp.retry(JOB_ID, 0).id == JOB_ID
    # cut after sending: a re-run is not repeated (it could have been created) ...
    fake = Fake(answers(cut, rerun))
    with fake.client() as gp, pytest.raises(httpx.ReadError):
        gp.adjust(JOB_ID, 0, brightness=0.5)
    assert json.loads(fake.requests[0].content) == {
        "candidate": 0, "brightness": 0.5, "saturation": 0.0, "detail": 0.0, "strength": 1.0,
    }  # fmt: skip
    # ... a GET and a submission (Idempotency-Key) are
    fake = Fake(answers(cut, httpx.Response(200, json=job_json())))
    with fake.client() as gp:
        assert gp.get(JOB_ID).status == "running"
    fake = Fake(answers(cut, accepted))
    with fake.client() as gp:
        gp.submit(b"x")
    assert (
        fake.requests[0].headers["idempotency-key"] == fake.requests[1].headers["idempotency-key"]
    )


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-1") is None and parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# --- SSE -------------------------------------------------------------------------------------


def sse_response(stream: Dropped) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream; charset=utf-8"}, stream=stream
    )


def resumable_stream() -> Handler:
    """Events 3, 4 (then the connection drops), a clean end without `completed`, then 5 and
    the completion; GET answers the finished job."""
    streams = [
        Dropped(
            [
                b": ping - 2026-01-05 10:00:00\r\n\r\n",
                progress(3, 25) + progress(4, 50)[:20],
                progress(4, 50)[20:],
            ]
        ),
        Dropped([b"retry: 250\r\n\r\n"], drop=False),
        Dropped([progress(5, 75), COMPLETED], drop=False),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return sse_response(streams.pop(0))
        return httpx.Response(200, json=job_json("completed", finished_at="2026-01-05T10:00:04Z"))

    return handler


def test_events_resume_after_a_dropped_connection_with_last_event_id() -> None:
    fake = Fake(resumable_stream())
    with fake.client() as gp:
        seen: list[str] = []
        job = gp.wait(JOB_ID, on_event=lambda e: seen.append(f"{e.event}:{e.id}"))
    assert seen == ["progress:3", "progress:4", "progress:5", "completed:19"]
    streams = [r for r in fake.requests if r.url.path.endswith("/events")]
    assert [r.headers.get("last-event-id") for r in streams] == [None, "4", "4"]
    assert all(r.headers["accept"] == "text/event-stream" for r in streams)
    # 1 s by default; then the server's retry (250 ms), doubled: the connection that sent it
    # brought no event, a second failure in a row
    assert fake.sleeps == [1.0, 0.5]
    assert job.status == "completed" and job.finished_at is not None
    assert fake.requests[-1].url.path == f"/v1/jobs/{JOB_ID}"


def test_events_from_a_given_id_and_errors_on_connect() -> None:
    fake = Fake(answers(problem(422, "bad_last_event_id")))
    with fake.client() as gp, pytest.raises(GlobalPicError) as info:
        list(gp.events(JOB_ID, last_event_id="x"))
    assert info.value.code == "bad_last_event_id"
    assert fake.requests[0].headers["last-event-id"] == "x"


def test_events_give_up_after_consecutive_failures() -> None:
    fake = Fake(lambda request: sse_response(Dropped([b": ping\r\n\r\n"[:3]])))
    with fake.client(retries=2) as gp, pytest.raises(httpx.RemoteProtocolError):
        list(gp.events(JOB_ID))
    assert len(fake.requests) == 3 and fake.sleeps == [1.0, 2.0]


def test_async_events_resume_and_wait() -> None:
    fake = Fake(resumable_stream())
    seen: list[str | None] = []

    async def note(event: Any) -> None:
        seen.append(event.id)

    async def main() -> Job:
        async with fake.async_client() as gp:
            return await gp.wait(JOB_ID, on_event=note)

    job = asyncio.run(main())
    assert seen == ["3", "4", "5", "19"] and job.status == "completed"
    streams = [r for r in fake.requests if r.url.path.endswith("/events")]
    assert [r.headers.get("last-event-id") for r in streams] == [None, "4", "4"]


# --- polling ---------------------------------------------------------------------------------


def test_polling_backs_off_until_the_job_finished() -> None:
    fake = Fake(
        answers(
            *(
                httpx.Response(200, json=job_json(s))
                for s in ("queued", "running", "running", "failed")
            )
        )
    )
    with fake.client() as gp:
        job = gp.wait(JOB_ID, via="poll", poll_interval=0.5, max_poll_interval=1.0)
    assert job.status == "failed"  # returned, not raised
    assert fake.sleeps == [0.5, 0.75, 1.0]


def test_polling_times_out() -> None:
    fake = Fake(lambda request: httpx.Response(200, json=job_json("running")))
    with fake.client() as gp:
        gp._sleep = time.sleep
        with pytest.raises(WaitTimeoutError) as info:
            gp.wait(JOB_ID, via="poll", timeout=0.3, poll_interval=0.1)
    assert info.value.job is not None and info.value.job.status == "running"


def test_async_retry_of_429() -> None:
    fake = Fake(answers(problem(429, "rate_limited", {"Retry-After": "1"}), accepted))

    async def main() -> Job:
        async with fake.async_client() as gp:
            return await gp.submit(b"\x89PNG\r\n\x1a\n")

    job = asyncio.run(main())
    assert job.id == JOB_ID and fake.sleeps == [1.0]
    assert (
        fake.requests[0].headers["idempotency-key"] == fake.requests[1].headers["idempotency-key"]
    )


# --- paging and downloads -----------------------------------------------------------------------


def summary(n: int) -> dict[str, Any]:
    data = job_json("completed")
    data.pop("images")
    data["id"] = f"job{n:02d}"
    return JobSummary.model_validate(data).model_dump(mode="json")


def test_list_jobs_by_offset_and_by_cursor() -> None:
    def by_offset(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", 20))
        offset = int(request.url.params.get("offset", 0))
        items = [summary(n) for n in range(offset, min(offset + limit, 7))]
        page = {"items": items, "total": 7, "limit": limit, "offset": offset}
        return httpx.Response(200, json=page)

    fake = Fake(by_offset)
    with fake.client() as gp:
        assert [j.id for j in gp.list_jobs(page_size=3)] == [f"job{n:02d}" for n in range(7)]
        assert len(fake.requests) == 3
        assert [j.id for j in gp.list_jobs(limit=4, page_size=3)] == [
            f"job{n:02d}" for n in range(4)
        ]

    def by_cursor(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0"))
        assert "offset" not in request.url.params
        items = [summary(n) for n in range(start, min(start + 3, 7))]
        more = start + 3 < 7
        page = {
            "items": items,
            "total": 7,
            "limit": 3,
            "offset": 0,
            "next_cursor": str(start + 3) if more else None,
        }
        return httpx.Response(200, json=JobPage.model_validate(page).model_dump(mode="json"))

    fake = Fake(by_cursor)
    with fake.client() as gp:
        assert [j.id for j in gp.list_jobs(page_size=3)] == [f"job{n:02d}" for n in range(7)]
    assert [r.url.params.get("cursor") for r in fake.requests] == [None, "3", "6"]


def test_download_names_and_safety(tmp_path: Path) -> None:
    disposition = (
        "attachment; filename=\"evil.png\"; filename*=UTF-8''..%2F..%2F%E6%9D%AF%E5%AD%90.png"
    )
    fake = Fake(
        answers(
            problem(503, "service_unavailable", {"Retry-After": "1"}),
            httpx.Response(200, content=b"PNGDATA", headers={"content-disposition": disposition}),
            httpx.Response(200, content=b"ZIPDATA"),
            problem(409, "result_not_ready"),
        )
    )
    with fake.client() as gp:
        path = gp.download(JOB_ID, 0, 2, to=tmp_path)
        assert path == tmp_path / "杯子.png" and path.read_bytes() == b"PNGDATA"
        assert fake.requests[-1].url.params["candidate"] == "2"
        zipped = gp.download_zip(JOB_ID, to=tmp_path / "sub" / "all.zip")
        assert zipped == tmp_path / "sub" / "all.zip" and zipped.read_bytes() == b"ZIPDATA"
        with pytest.raises(GlobalPicError) as info:
            gp.download(JOB_ID, 0, to=tmp_path / "x.png")
    assert info.value.code == "result_not_ready" and not (tmp_path / "x.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "杯子.png"]  # no temp file left


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="a.png"', "a.png"),
        ("attachment; filename=plain.jpg", "plain.jpg"),
        ('attachment; filename="x\\"y.png"', 'x"y.png'),
        ("attachment; filename*=utf-8''%E2%82%AC.zip; filename=\"EUR.zip\"", "€.zip"),
        ('attachment; filename="/etc/passwd"', "passwd"),
        ('attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        ('attachment; filename=".."', None),
        ("attachment", None),
        (None, None),
    ],
)
def test_filename_from_disposition(header: str | None, name: str | None) -> None:
    assert filename_from_disposition(header) == name


def test_credentials() -> None:
    with pytest.raises(ValueError):
        GlobalPic(api_key="a", token="b")
    fake = Fake(lambda request: httpx.Response(200, json=job_json()))
    client = GlobalPic("http://api.test/", token="jwt", transport=httpx.MockTransport(fake))
    with client:
        client.get("a/b")
    assert fake.requests[0].headers["authorization"] == "Bearer jwt"
    assert fake.requests[0].url.raw_path == b"/v1/jobs/a%2Fb"  # an id is one path segment


def test_async_runs_in_a_plain_event_loop() -> None:
    fake = Fake(lambda request: httpx.Response(200, json=job_json("completed")))

    async def main() -> str:
        async with fake.async_client() as gp:
            return (await gp.wait(JOB_ID, via="poll")).status

    assert asyncio.run(main()) == "completed"


def test_a_download_cut_midway_is_fetched_again(tmp_path: Path) -> None:
    fake = Fake(
        answers(
            httpx.Response(200, stream=Dropped([b"PART"])),
            httpx.Response(200, stream=Dropped([b"WHOLE", b"FILE"], drop=False)),
        )
    )
    with fake.client() as gp:
        path = gp.download(JOB_ID, 0, to=tmp_path / "r.png")
    assert path.read_bytes() == b"WHOLEFILE" and len(fake.requests) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["r.png"]

"""Test helpers: a settable clock, a DNS table, a receiver behind httpx's MockTransport that
answers from a script, and job events as the orchestrator publishes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from globalpic_common.schemas import ProgressStage
from globalpic_jobs.events import ImageProgress, JobCompleted
from globalpic_jobs.models import ImageState, JobStatus

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.215.14"  # a public address (never contacted: the tests' DNS and transport)
PUBLIC_URL = "https://hooks.example.com/globalpic"


class ManualClock:
    """The store's and the outbox's clock, moved by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeDns:
    """``UrlPolicy``'s resolver: a table, no network."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = {"hooks.example.com": [PUBLIC_IP], **(table or {})}

    def __call__(self, host: str, port: int) -> list[str]:
        return list(self.table.get(host, []))


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedReceiver:
    """Answers each POST with the next status of ``script`` (then ``then``); a status of 0
    raises a connection error, -1 a timeout. Keeps every request."""

    script: list[int] = field(default_factory=list)
    then: int = 200
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.received.append(Received(str(request.url), dict(request.headers), request.content))
        status = self.script.pop(0) if self.script else self.then
        if status == 0:
            raise httpx.ConnectError("connection refused", request=request)
        if status == -1:
            raise httpx.ReadTimeout("timed out", request=request)
        headers = {"retry-after": self.retry_after} if self.retry_after else {}
        return httpx.Response(status, headers=headers, text="ok")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def image_done(
    job: str,
    image: int,
    *,
    tenant: str = "acme",
    state: ImageState = ImageState.COMPLETED,
    cached: bool = False,
    stage: ProgressStage = ProgressStage.DONE,
) -> ImageProgress:
    return ImageProgress(
        input=f"{image}.jpg",
        stage=stage,
        percent=100 if stage == ProgressStage.DONE else 50,
        job_id=job,
        tenant_id=tenant,
        image=image,
        state=state,
        cached=cached,
    )


def job_done(
    job: str,
    *,
    tenant: str = "acme",
    status: JobStatus = JobStatus.COMPLETED,
    images: int = 1,
    finished_at: datetime | None = None,
) -> JobCompleted:
    completed = images if status == JobStatus.COMPLETED else 0
    return JobCompleted(
        job_id=job,
        tenant_id=tenant,
        status=status,
        images=images,
        completed=completed,
        failed=images - completed,
        cached=0,
        finished_at=finished_at or START + timedelta(minutes=5),
    )


def statuses(rows: Iterable[object]) -> list[str]:
    return [str(getattr(row, "status", "")) for row in rows]

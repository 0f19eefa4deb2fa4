"""The benchmark's API client: the Python client (``globalpic_client``), as an integrator
calls the API: submit a batch, follow it over SSE, read the finished job. No retries inside a
timed call (a failure is a figure, not something to hide); ``submit_retrying`` and
``wait_finished`` ride out the fault run's restarts on purpose."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from globalpic_client import AsyncGlobalPic, GlobalPicError, Job

# A job waits this long for its completion before the bench gives up on it.
JOB_TIMEOUT = 1800.0


@dataclass(frozen=True)
class JobOptions:
    ops: str
    style: str
    platform: str

    def submit_options(self) -> dict[str, str | None]:
        """Style only with remix, platform only with resize (the API refuses them otherwise)."""
        ops = {op.strip() for op in self.ops.split(",")}
        return {
            "ops": self.ops,
            "style": self.style if "remix" in ops else None,
            "platform": self.platform if "resize" in ops else None,
        }


@dataclass
class BatchResult:
    job_id: str
    images: int
    wall_s: float  # POST sent -> SSE `completed` received
    upload_s: float  # POST sent -> 202 received
    status: str
    completed: int
    failed: int
    attempts: int  # image starts over all images (== images when nothing was retried)
    stage_s: dict[str, float]  # mean seconds per stage of the images' reports (nested stages
    # overlap: extract.refine holds extract.key, ...; do not sum them)


Photos = list[tuple[str, bytes]]


async def sse_events(api: AsyncGlobalPic, job_id: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) of the job's stream, as they arrive, until ``completed``."""
    async for event in api.events(job_id):
        yield event.event, event.json()


async def submit(api: AsyncGlobalPic, photos: Photos, options: JobOptions) -> Job:
    choice = options.submit_options()
    return await api.submit(
        photos, ops=choice["ops"], style=choice["style"], platform=choice["platform"]
    )


async def submit_retrying(
    api: AsyncGlobalPic, photos: Photos, options: JobOptions, timeout: float = 300.0
) -> Job:
    """Submit with an ``Idempotency-Key``, retrying through a gateway or NATS restart."""
    choice = options.submit_options()
    key = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await api.submit(
                photos,
                ops=choice["ops"],
                style=choice["style"],
                platform=choice["platform"],
                idempotency_key=key,
            )
        except (GlobalPicError, httpx.HTTPError) as exc:
            error = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not submit a job in {timeout:.0f} s: {error}")
        await asyncio.sleep(1.0)


async def run_batch(api: AsyncGlobalPic, photos: Photos, options: JobOptions) -> BatchResult:
    """One timed batch: POST, then the job's SSE stream until ``completed``."""
    started = time.perf_counter()
    job = await submit(api, photos, options)
    uploaded = time.perf_counter()

    async def until_completed() -> dict[str, Any]:
        async for event, data in sse_events(api, job.id):
            if event == "completed":
                return data
        raise RuntimeError(f"job {job.id}: the event stream ended without `completed`")

    done = await asyncio.wait_for(until_completed(), JOB_TIMEOUT)
    finished = time.perf_counter()
    final = await api.get(job.id)
    stages: dict[str, list[float]] = {}
    for image in final.images:
        for stage, seconds in ((image.report or {}).get("seconds") or {}).items():
            stages.setdefault(stage, []).append(float(seconds))
    return BatchResult(
        job_id=job.id,
        images=len(photos),
        wall_s=finished - started,
        upload_s=uploaded - started,
        status=str(done["status"]),
        completed=int(done["completed"]),
        failed=int(done["failed"]),
        attempts=sum(image.attempts for image in final.images),
        stage_s={stage: sum(v) / len(v) for stage, v in sorted(stages.items())},
    )


async def finished(api: AsyncGlobalPic, job_id: str) -> bool:
    """Whether the job completed or failed; False while the gateway does not answer."""
    try:
        return (await api.get(job_id)).status in ("completed", "failed")
    except (GlobalPicError, httpx.HTTPError):
        return False


async def wait_finished(api: AsyncGlobalPic, job_id: str, timeout: float = JOB_TIMEOUT) -> Job:
    """Poll the job until it is completed or failed, riding out gateway restarts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            job = await api.get(job_id)
            if job.status in ("completed", "failed"):
                return job
        except (GlobalPicError, httpx.HTTPError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not finished after {timeout:.0f} s")
        await asyncio.sleep(0.5)


def api_client(base_url: str, headers: dict[str, str]) -> AsyncGlobalPic:
    """The Python client with the credential of ``headers`` (``Authorization: Bearer …``)."""
    key = headers["Authorization"].removeprefix("Bearer ")
    return AsyncGlobalPic(base_url, api_key=key, timeout=120.0, retries=0)

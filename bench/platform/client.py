"""The benchmark's API client: submit a batch, follow it over SSE, read the finished job."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

# A job waits this long for its completion before the bench gives up on it.
JOB_TIMEOUT = 1800.0


@dataclass(frozen=True)
class JobOptions:
    ops: str
    style: str
    platform: str

    def form(self) -> dict[str, str]:
        """The multipart fields; style only with remix, platform only with resize (the API
        refuses them otherwise)."""
        ops = {op.strip() for op in self.ops.split(",")}
        fields = {"ops": self.ops}
        if "remix" in ops:
            fields["style"] = self.style
        if "resize" in ops:
            fields["platform"] = self.platform
        return fields


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


def files(photos: list[tuple[str, bytes]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (name, data, "image/jpeg")) for name, data in photos]


async def sse_events(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) of the job's stream, as they arrive, until ``completed``."""
    current: dict[str, str] = {}
    async with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"SSE {response.status_code}: {(await response.aread())[:300]!r}")
        async for line in response.aiter_lines():
            if not line:
                if "event" in current:
                    event = current["event"]
                    yield event, json.loads(current.get("data", "null"))
                    if event == "completed":
                        return
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                current[name] = value.removeprefix(" ")


async def submit(
    client: httpx.AsyncClient, photos: list[tuple[str, bytes]], options: JobOptions
) -> dict[str, Any]:
    response = await client.post("/v1/jobs", files=files(photos), data=options.form())
    if response.status_code != 202:
        raise RuntimeError(f"POST /v1/jobs: {response.status_code} {response.text[:300]}")
    job: dict[str, Any] = response.json()
    return job


async def submit_retrying(
    client: httpx.AsyncClient,
    photos: list[tuple[str, bytes]],
    options: JobOptions,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Submit with an ``Idempotency-Key``, retrying through a gateway or NATS restart."""
    key = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = await client.post(
                "/v1/jobs",
                files=files(photos),
                data=options.form(),
                headers={"Idempotency-Key": key},
            )
            if response.status_code == 202:
                job: dict[str, Any] = response.json()
                return job
            error = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not submit a job in {timeout:.0f} s: {error}")
        await asyncio.sleep(1.0)


async def get_job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}")
    response.raise_for_status()
    job: dict[str, Any] = response.json()
    return job


async def run_batch(
    client: httpx.AsyncClient, photos: list[tuple[str, bytes]], options: JobOptions
) -> BatchResult:
    """One timed batch: POST, then the job's SSE stream until ``completed``."""
    started = time.perf_counter()
    job = await submit(client, photos, options)
    uploaded = time.perf_counter()

    async def until_completed() -> dict[str, Any]:
        async for event, data in sse_events(client, job["id"]):
            if event == "completed":
                return data
        raise RuntimeError(f"job {job['id']}: the event stream ended without `completed`")

    done = await asyncio.wait_for(until_completed(), JOB_TIMEOUT)
    finished = time.perf_counter()
    final = await get_job(client, job["id"])
    stages: dict[str, list[float]] = {}
    for image in final["images"]:
        for stage, seconds in ((image.get("report") or {}).get("seconds") or {}).items():
            stages.setdefault(stage, []).append(float(seconds))
    return BatchResult(
        job_id=job["id"],
        images=len(photos),
        wall_s=finished - started,
        upload_s=uploaded - started,
        status=str(done["status"]),
        completed=int(done["completed"]),
        failed=int(done["failed"]),
        attempts=sum(int(image["attempts"]) for image in final["images"]),
        stage_s={stage: sum(v) / len(v) for stage, v in sorted(stages.items())},
    )


async def wait_finished(
    client: httpx.AsyncClient, job_id: str, timeout: float = JOB_TIMEOUT
) -> dict[str, Any]:
    """Poll the job until it is completed or failed, riding out gateway restarts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            job = await get_job(client, job_id)
            if job["status"] in ("completed", "failed"):
                return job
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not finished after {timeout:.0f} s")
        await asyncio.sleep(0.5)


def api_client(base_url: str, headers: dict[str, str], **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120.0, **kwargs)

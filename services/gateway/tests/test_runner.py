"""The runner against a real JetStream: crash and redelivery (exactly one record, one
``completed``), heartbeats, per-image failure, dead-lettering, and SSE resume."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg
from sqlmodel import Session, select

from globalpic_common.errors import BadInputError
from globalpic_common.imageio import ImageLimits
from globalpic_gateway.models import JobImage, ResultCacheEntry
from globalpic_gateway.options import JobOptions
from globalpic_gateway.processing import LocalizerProcessor, ProcessedImage, ProgressFn
from globalpic_gateway.runner import Runner
from globalpic_gateway.testing import (
    Harness,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

FORM = {"ops": "extract"}


# --- test doubles wrapping the real processor (timing and failures on demand) --------------


class Gated:
    """Blocks inside process() until released: a runner caught mid-image."""

    def __init__(self, inner: LocalizerProcessor) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.started = threading.Event()
        self.release = threading.Event()

    def process(
        self, data: bytes, name: str, options: JobOptions, cb: ProgressFn
    ) -> ProcessedImage:
        self.started.set()
        self.release.wait(60)
        return self.inner.process(data, name, options, cb)


class Slow:
    def __init__(self, inner: LocalizerProcessor, seconds: float) -> None:
        self.inner, self.seconds, self.backend = inner, seconds, inner.backend

    def process(
        self, data: bytes, name: str, options: JobOptions, cb: ProgressFn
    ) -> ProcessedImage:
        time.sleep(self.seconds)
        return self.inner.process(data, name, options, cb)


class RejectsOne:
    def __init__(self, inner: LocalizerProcessor, filename: str) -> None:
        self.inner, self.filename, self.backend = inner, filename, inner.backend

    def process(
        self, data: bytes, name: str, options: JobOptions, cb: ProgressFn
    ) -> ProcessedImage:
        if name == self.filename:
            raise BadInputError(f"{name}: no product found", code="no_product")
        return self.inner.process(data, name, options, cb)


class Broken:
    backend = "broken"

    def process(
        self, data: bytes, name: str, options: JobOptions, cb: ProgressFn
    ) -> ProcessedImage:
        raise RuntimeError("the GPU fell off the bus")


class _Killed(BaseException):
    """Not an Exception: nothing in the runner catches it, like a kill -9 would not be."""


class DiesBeforeAck(Runner):
    """Records the image, then dies before acking (the worst moment)."""

    async def _ack(self, msg: Msg) -> None:
        raise _Killed("simulated crash between record and ack")


class DiesAfterRecord(Runner):
    """Records the image, then dies before publishing its events or acking."""

    def _record(self, *args: Any) -> bool:
        super()._record(*args)
        raise _Killed("simulated crash between record and events")


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def processor(tiny_models_env: Path) -> LocalizerProcessor:
    return LocalizerProcessor.from_settings(ImageLimits(), "png")


def _run(tmp_path: Path, nats_url: str, scenario: Any, **overrides: Any) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url, **overrides)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            await asyncio.wait_for(scenario(gw), 120)

    asyncio.run(main())


async def _submit(api: httpx.AsyncClient, n: int = 1, **form: str) -> str:
    files = [("images", (f"p{k}.jpg", photo_bytes(512, seed=k), "image/jpeg")) for k in range(n)]
    response = await api.post("/v1/jobs", files=files, data={**FORM, **form})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _finished(api: httpx.AsyncClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def _count(gw: Harness, stream: str, subject: str) -> int:
    info = await gw.state.jetstream().stream_info(stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def _wait_for_count(gw: Harness, stream: str, subject: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not await _count(gw, stream, subject) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _events(api: httpx.AsyncClient, job_id: str, **headers: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/jobs/{job_id}/events", headers=headers)
    assert response.status_code == 200
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.text.splitlines():
        if not line:
            if current:
                events.append(current)
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = json.loads(value) if key == "data" else value
    return events


# --- the tests -----------------------------------------------------------------------------


def test_a_runner_crash_mid_image_is_redelivered_and_recorded_once(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            gated = Gated(processor)
            doomed = await gw.start_runner(gated)
            await asyncio.to_thread(gated.started.wait, 30)
            await gw.crash_runner(doomed)  # no ack: JetStream redelivers after ack_wait
            gated.release.set()
            await gw.start_runner(processor)
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            assert job["images"][0]["attempts"] == 2
            completed = f"{gw.settings.events_subject_prefix}.{job_id}.completed"
            # the rows say completed before the event is published: wait for it, then once
            await _wait_for_count(gw, gw.settings.events_stream, completed)
            assert await _count(gw, gw.settings.events_stream, completed) == 1
            with Session(gw.state.engine) as session:
                assert len(session.exec(select(JobImage)).all()) == 1
                assert len(session.exec(select(ResultCacheEntry)).all()) == 1
            assert len(gw.storage.list("tenant-a", "results/").items) == 1
            # the work-queue stream empties: the message is acked (the ack follows the
            # completed event, so poll rather than race it)
            deadline = time.monotonic() + 20
            work = gw.settings.work_stream
            while (await gw.state.jetstream().stream_info(work)).state.messages:
                assert time.monotonic() < deadline, "redelivered message never acked"
                await asyncio.sleep(0.2)

    _run(tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_a_crash_between_record_and_ack_does_not_record_or_announce_twice(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            doomed = await gw.start_runner(processor, DiesBeforeAck)
            job = await _finished(api, job_id)  # recorded by the runner that then died
            assert job["status"] == "completed"
            await gw.crash_runner(doomed)
            await gw.start_runner(processor)
            deadline = time.monotonic() + 20
            work = gw.settings.work_stream
            while (await gw.state.jetstream().stream_info(work)).state.messages:
                assert time.monotonic() < deadline, "redelivered message never acked"
                await asyncio.sleep(0.2)
            again = (await api.get(f"/v1/jobs/{job_id}")).json()
            assert again["images"][0]["attempts"] == 1  # not processed a second time
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1
            events = await _events(api, job_id)
            assert [e["data"]["stage"] for e in events if e["event"] == "progress"].count(
                "done"
            ) == 1

    _run(tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_a_crash_between_record_and_events_still_announces_the_image_once(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    # The redelivery finds the image finished: it must publish the done event the dead runner
    # never sent (found by make bench-platform's fault run).
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            doomed = await gw.start_runner(processor, DiesAfterRecord)
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            await gw.crash_runner(doomed)
            await gw.start_runner(processor)
            deadline = time.monotonic() + 20
            work = gw.settings.work_stream
            while (await gw.state.jetstream().stream_info(work)).state.messages:
                assert time.monotonic() < deadline, "redelivered message never acked"
                await asyncio.sleep(0.2)
            again = (await api.get(f"/v1/jobs/{job_id}")).json()
            assert again["images"][0]["attempts"] == 1
            events = await _events(api, job_id)
            done = [e["data"] for e in events if e["event"] == "progress"]
            assert [(e["stage"], e["state"]) for e in done if e["stage"] == "done"] == [
                ("done", "completed")
            ]
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1

    _run(tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_heartbeats_keep_a_long_image_from_being_redelivered(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            await gw.start_runner(Slow(processor, seconds=4.0))  # 4 x ack_wait
            await gw.start_runner(processor)  # would steal a redelivery if there were one
            job = await _finished(api, job_id)
            assert job["status"] == "completed" and job["images"][0]["attempts"] == 1

    _run(tmp_path, nats_url, scenario, ack_wait_seconds=1.0)


def test_one_bad_image_fails_alone(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api, n=3)
            await gw.start_runner(RejectsOne(processor, "p1.jpg"))
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            states = [(i["state"], i["error"]) for i in job["images"]]
            assert states[0] == ("completed", None) and states[2] == ("completed", None)
            assert states[1] == (
                "failed",
                {"code": "no_product", "message": "p1.jpg: no product found"},
            )
            failed = await api.get(f"/v1/jobs/{job_id}/images/1/result")
            assert failed.status_code == 409 and failed.json()["code"] == "image_failed"
            assert (await api.get(f"/v1/jobs/{job_id}/images/2/result")).status_code == 200
            events = await _events(api, job_id)
            done = {
                e["data"]["image"]: e["data"] for e in events if e["data"].get("stage") == "done"
            }
            assert done[1]["state"] == "failed" and done[1]["error"]["code"] == "no_product"
            assert events[-1]["data"]["failed"] == 1 and events[-1]["data"]["completed"] == 2

    _run(tmp_path, nats_url, scenario)


def test_an_image_failing_every_delivery_is_dead_lettered(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            await gw.start_runner(Broken())
            job = await _finished(api, job_id, timeout=30)
            assert job["status"] == "failed"
            image = job["images"][0]
            assert image["state"] == "failed" and image["attempts"] == 2
            assert image["error"]["code"] == "processing_failed"
            assert "GPU fell off" in image["error"]["message"]
            js = gw.state.jetstream()
            dead = await js.get_last_msg(
                gw.settings.dead_stream, f"{gw.settings.dead_subject_prefix}.>"
            )
            assert dead.headers is not None
            assert dead.headers["GlobalPic-Error-Code"] == "processing_failed"
            assert dead.headers["GlobalPic-Deliveries"] == "2"
            assert json.loads(dead.data or b"{}")["job_id"] == job_id

    _run(tmp_path, nats_url, scenario, max_deliver=2)


def test_a_runner_dying_on_the_last_delivery_is_caught_by_the_advisory(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            gated = Gated(processor)
            doomed = await gw.start_runner(gated)
            await asyncio.to_thread(gated.started.wait, 30)  # the only delivery it will get
            await gw.start_runner(processor)  # healthy: it hears the max-deliveries advisory
            await gw.crash_runner(doomed)
            gated.release.set()
            job = await _finished(api, job_id, timeout=30)
            image = job["images"][0]
            assert job["status"] == "failed" and image["error"]["code"] == "processing_failed"
            assert "no runner finished it" in image["error"]["message"]

    _run(tmp_path, nats_url, scenario, max_deliver=1, ack_wait_seconds=1.5)


def test_sse_resumes_after_last_event_id(
    tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api, n=2)
            await gw.start_runner(processor)
            everything = await _events(api, job_id)
            assert everything[-1]["event"] == "completed"
            ids = [int(e["id"]) for e in everything]
            resumed = await _events(api, job_id, **{"Last-Event-ID": str(ids[2])})
            assert resumed == everything[3:]
            # resuming after the end still tells the client the job is finished
            tail = await _events(api, job_id, **{"Last-Event-ID": str(ids[-1])})
            assert [e["event"] for e in tail] == ["completed"] and "id" not in tail[0]

    _run(tmp_path, nats_url, scenario)

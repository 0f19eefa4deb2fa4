"""The runner against a real JetStream, on SQLite and on PostgreSQL: crash and redelivery
(exactly one record, one ``completed``), the test failpoint, heartbeats, two runners finishing
one job at once, concurrency, per-image failure, dead-lettering, and SSE resume.

No test here waits for a moment by sleeping: the processor doubles block on events the test
sets, the failpoint pauses a runner until the test has acted, and every wait for an outcome is
a poll with a generous deadline (a slow machine makes it slower, never wrong)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg
from pydantic import ValidationError
from sqlmodel import Session, select

from globalpic_common.errors import BadInputError
from globalpic_gateway.core.config import GatewaySettings
from globalpic_jobs.models import JobImage, ResultCacheEntry
from globalpic_jobs.options import JobOptions
from globalpic_jobs.queue import connect
from globalpic_orchestrator.processing import (
    ImageInputs,
    LocalizerProcessor,
    ProcessedImage,
    ProgressFn,
)
from globalpic_orchestrator.runner import FAILPOINT_TEXT, Runner
from globalpic_orchestrator.settings import Failpoint, OrchestratorSettings, failpoint_subject
from tests.support.gateway_harness import (
    Gated,
    Harness,
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    split_overrides,
    storage_at,
)

FORM = {"ops": "extract"}
RUNNER_SCRIPT = str(Path(sys.executable).parent / "globalpic-orchestrator")
# The same runner with the (tiny) models in its own process, as `make dev --in-process` runs it.
EMBEDDED_RUNNER = [sys.executable, "-m", "globalpic_dev.embedded_orchestrator"]


# --- test doubles wrapping the real processor (timing and failures on demand) --------------


class Together:
    """Each image waits inside process() for the others of a barrier: they were all in flight
    at once, and they all finish at the same moment."""

    def __init__(self, inner: LocalizerProcessor, barrier: threading.Barrier) -> None:
        self.inner, self.barrier, self.backend = inner, barrier, inner.backend

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        processed = self.inner.process(inputs, options, cb)
        self.barrier.wait(60)  # broken (an image alone) -> an error -> the test fails
        return processed


class RejectsOne:
    def __init__(self, inner: LocalizerProcessor, filename: str) -> None:
        self.inner, self.filename, self.backend = inner, filename, inner.backend

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        if inputs.filename == self.filename:
            raise BadInputError(f"{inputs.filename}: no product found", code="no_product")
        return self.inner.process(inputs, options, cb)


class Broken:
    backend = "broken"

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        raise RuntimeError("the GPU fell off the bus")


class _Killed(BaseException):
    """Not an Exception: nothing in the runner catches it, like a kill -9 would not be."""


class DiesBeforeAck(Runner):
    """Records the image, then dies before acking (the worst moment)."""

    async def _ack(self, msg: Msg) -> None:
        raise _Killed("simulated crash between record and ack")


# Generous deadlines: they bound a hang, never a speed. The first image a worker processes in a
# fresh checkout pays pymatting's numba compile (45 s idle, more than 60 s beside stress-ng).
FIRST_IMAGE_LIMIT_S = 240.0
SCENARIO_LIMIT_S = 480.0

# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def processor(tiny_models_env: Path) -> LocalizerProcessor:
    return embedded_processor()


def _run(database_url: str, tmp_path: Path, nats_url: str, scenario: Any, **overrides: Any) -> None:
    gateway_overrides, orchestrator_overrides = split_overrides(overrides)
    settings, keys = harness_settings(database_url, nats_url, **gateway_overrides)
    storage = storage_at(tmp_path / "storage")

    async def main() -> None:
        async with running_gateway(settings, keys, storage, **orchestrator_overrides) as gw:
            await asyncio.wait_for(scenario(gw), SCENARIO_LIMIT_S)

    asyncio.run(main())


async def _submit(api: httpx.AsyncClient, n: int = 1, **form: str) -> str:
    files = [("images", (f"p{k}.jpg", photo_bytes(512, seed=k), "image/jpeg")) for k in range(n)]
    response = await api.post("/v1/jobs", files=files, data={**FORM, **form})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _finished(
    api: httpx.AsyncClient, job_id: str, timeout: float = FIRST_IMAGE_LIMIT_S
) -> dict[str, Any]:
    return await job_finished(api, job_id, timeout)


async def _count(gw: Harness, stream: str, subject: str) -> int:
    info = await gw.state.jetstream().stream_info(stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def _wait_for_count(gw: Harness, stream: str, subject: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not await _count(gw, stream, subject) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _drained(gw: Harness, timeout: float = FIRST_IMAGE_LIMIT_S) -> None:
    """Until the work stream is empty: every message acked (the ack is the runner's last step,
    after the rows and events a test may already have seen)."""
    deadline = time.monotonic() + timeout
    work = gw.settings.work_stream
    while (await gw.state.jetstream().stream_info(work)).state.messages:
        assert time.monotonic() < deadline, "a work message was never acked"
        await asyncio.sleep(0.1)


def _image_row(gw: Harness, job_id: str, index: int = 0) -> JobImage:
    with Session(gw.state.engine) as session:
        row = session.exec(
            select(JobImage).where(JobImage.job_id == job_id, JobImage.index == index)
        ).one()
        session.expunge(row)
        return row


class FailpointListener:
    """The other end of ``after_store:pause``: each runner that reaches the failpoint asks here
    and waits for the answer. The first ``hold`` requests are kept unanswered (the runner stays
    paused inside the window until the test crashes it); later ones are answered at once."""

    def __init__(self, hold: int = 0) -> None:
        self.hold = hold
        self.hits: list[dict[str, Any]] = []
        self.paused: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sub: Any = None

    async def start(self, gw: Harness) -> FailpointListener:
        # A connection of its own, not the gateway's: nothing the gateway does with its
        # connection (event feed, reconnects, draining at shutdown) can delay or drop a request.
        self._nc = await connect(gw.settings.nats_url, "failpoint-listener")
        gw.on_close(self._nc.close)
        subject = failpoint_subject(gw.settings.runner_durable, "after_store")
        self._sub = await self._nc.subscribe(subject, cb=self._on_request)
        await self._nc.flush()  # subscribed on the server before any runner can ask
        return self

    async def _on_request(self, msg: Msg) -> None:
        hit: dict[str, Any] = json.loads(msg.data)
        self.hits.append(hit)
        if len(self.hits) <= self.hold:
            await self.paused.put(hit)  # no answer: the runner waits in the window
        else:
            await msg.respond(b"go on")

    async def next_paused(self, timeout: float = FIRST_IMAGE_LIMIT_S) -> dict[str, Any]:
        return await asyncio.wait_for(self.paused.get(), timeout)


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
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            gated = Gated(processor)
            doomed = await gw.start_runner(gated)
            await asyncio.to_thread(gated.started.wait, FIRST_IMAGE_LIMIT_S)
            await gw.crash_runner(doomed)  # no ack: JetStream redelivers after ack_wait
            gated.release.set()
            await gw.start_runner(processor)
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            assert job["images"][0]["attempts"] == 2
            completed = f"{gw.settings.events_subject_prefix}.{job_id}.completed"
            # the rows say completed before the event is published, and the ack comes last
            await _drained(gw)
            assert await _count(gw, gw.settings.events_stream, completed) == 1
            with Session(gw.state.engine) as session:
                assert len(session.exec(select(JobImage)).all()) == 1
                assert len(session.exec(select(ResultCacheEntry)).all()) == 1
            assert len(gw.storage.list("tenant-a", "results/").items) == 1

    _run(database_url, tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_a_crash_between_record_and_ack_does_not_record_or_announce_twice(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """Dies after its events went out, before the ack: the redelivery records nothing."""

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            doomed = await gw.start_runner(processor, DiesBeforeAck)
            job = await _finished(api, job_id)  # recorded by the runner that then died
            assert job["status"] == "completed"
            await gw.crash_runner(doomed)
            await gw.start_runner(processor)
            await _drained(gw)
            again = (await api.get(f"/v1/jobs/{job_id}")).json()
            assert again["images"][0]["attempts"] == 1  # not processed a second time
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1
            events = await _events(api, job_id)
            assert [e["data"]["stage"] for e in events if e["event"] == "progress"].count(
                "done"
            ) == 1

    _run(database_url, tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_a_crash_inside_the_stored_not_acked_window_records_and_announces_once(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """The failpoint ``after_store:pause`` holds a runner right after its record commit, before
    its events and ack; the test looks at that state, crashes the runner there (as SIGKILL
    would), and a second runner gets the redelivery: it must publish the done event the dead
    runner never sent (found by make bench-platform's fault run), record nothing again (the
    failpoint, armed in every runner here, is reached once: by the one record) and ack."""

    async def scenario(gw: Harness) -> None:
        listener = await FailpointListener(hold=1).start(gw)
        async with gw.client() as api:
            job_id = await _submit(api)
            doomed = await gw.start_runner(processor)
            hit = await listener.next_paused()
            # inside the window: recorded and stored, not announced, not acked
            assert (hit["job_id"], hit["image"], hit["attempts"], hit["delivery"]) == (
                job_id,
                0,
                1,
                1,
            )
            row = _image_row(gw, job_id)
            assert row.state == "completed" and row.attempts == 1 and row.outputs
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            work = await gw.state.jetstream().stream_info(gw.settings.work_stream)
            assert work.state.messages == 1
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 0
            done = [e for e in await _events_so_far(gw, job_id) if e.get("stage") == "done"]
            assert done == []

            await gw.crash_runner(doomed)
            await gw.start_runner(processor)
            await _drained(gw)
            again = (await api.get(f"/v1/jobs/{job_id}")).json()
            assert again["status"] == "completed"
            assert again["images"][0]["attempts"] == 1  # not processed a second time
            assert len(listener.hits) == 1, listener.hits  # one record: the failpoint's
            events = await _events(api, job_id)
            done_events = [e["data"] for e in events if e["event"] == "progress"]
            assert [(e["stage"], e["state"]) for e in done_events if e["stage"] == "done"] == [
                ("done", "completed")
            ]
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1
            assert len(gw.storage.list("tenant-a", "results/").items) == 1

    _run(
        database_url,
        tmp_path,
        nats_url,
        scenario,
        ack_wait_seconds=2.0,
        failpoint="after_store:pause",
    )


async def _events_so_far(gw: Harness, job_id: str) -> list[dict[str, Any]]:
    """The job's events stored in the events stream now (without waiting for more)."""
    js = gw.state.jetstream()
    info = await js.stream_info(gw.settings.events_stream)
    out: list[dict[str, Any]] = []
    if not info.state.messages:
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(gw.settings.events_stream, seq)
        if msg.subject and f".{job_id}." in msg.subject:
            out.append(json.loads(msg.data or b"{}"))
    return out


def test_a_paused_failpoint_goes_on_when_answered_and_fires_count_times(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        listener = await FailpointListener(hold=0).start(gw)  # answers every request
        async with gw.client() as api:
            job_id = await _submit(api, n=3)
            await gw.start_runner(processor)
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            assert [i["attempts"] for i in job["images"]] == [1, 1, 1]
            await _drained(gw)
            assert len(listener.hits) == 2  # `:2`: the first two records only
            assert {h["pid"] for h in listener.hits} == {os.getpid()}

    _run(
        database_url,
        tmp_path,
        nats_url,
        scenario,
        failpoint="after_store:pause:2",
    )


def _runner_env(settings: GatewaySettings, storage_root: Path, failpoint: str) -> dict[str, str]:
    """The environment a ``globalpic-orchestrator`` process needs to join a harness."""
    env = dict(os.environ)
    env["GLOBALPIC_ORCHESTRATOR__FAILPOINT"] = failpoint
    for name in (
        "database_url",
        "nats_url",
        "work_stream",
        "work_subject_prefix",
        "events_stream",
        "events_subject_prefix",
        "dead_stream",
        "dead_subject_prefix",
        "runner_durable",
        "ack_wait_seconds",
        "max_deliver",
    ):
        value = getattr(settings, name)
        if value is not None:
            env[f"GLOBALPIC_ORCHESTRATOR__{name.upper()}"] = str(value)
    env["GLOBALPIC_ORCHESTRATOR__MIGRATE_ON_STARTUP"] = "false"  # the harness did
    env["GLOBALPIC_ORCHESTRATOR__NICE"] = "0"
    env["GLOBALPIC_STORAGE__ROOT"] = str(storage_root)
    env["GLOBALPIC_STORAGE__SIGNING_KEY"] = "test-signing-key"
    env.pop("GLOBALPIC_ENV", None)
    return env


def test_the_kill_failpoint_sigkills_the_runner_process_inside_the_window(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """``after_store:kill``: a real ``globalpic-orchestrator`` process records the image, logs the
    failpoint and SIGKILLs itself before its events and ack; the redelivery completes it."""

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            env = _runner_env(gw.settings, tmp_path / "storage", "after_store:kill")
            process = await asyncio.create_subprocess_exec(
                *EMBEDDED_RUNNER,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(process.communicate(), 150)
            lines = output.decode(errors="replace").splitlines()
            assert process.returncode == -signal.SIGKILL, lines[-20:]
            fired = [json.loads(line) for line in lines if FAILPOINT_TEXT in line]
            assert len(fired) == 1, lines[-20:]
            assert (fired[0]["job_id"], fired[0]["image"]) == (job_id, 0)
            assert fired[0]["failpoint"] == "after_store:kill"
            assert _image_row(gw, job_id).state == "completed"  # recorded before it died
            work = await gw.state.jetstream().stream_info(gw.settings.work_stream)
            assert work.state.messages == 1  # not acked

            await gw.start_runner(processor)  # in process, without the failpoint
            await _drained(gw)
            again = (await api.get(f"/v1/jobs/{job_id}")).json()
            assert again["status"] == "completed" and again["images"][0]["attempts"] == 1
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1

    _run(database_url, tmp_path, nats_url, scenario, ack_wait_seconds=2.0)


def test_the_failpoint_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    OrchestratorSettings()  # production settings load without it
    monkeypatch.setenv("GLOBALPIC_ORCHESTRATOR__FAILPOINT", "after_store:kill")
    with pytest.raises(ValidationError, match="refused outside development") as refused:
        OrchestratorSettings()
    assert "GLOBALPIC_ORCHESTRATOR__FAILPOINT" in str(refused.value)
    for spec in ("after_store:pause", "after_store:pause:1"):
        with pytest.raises(ValidationError, match="GLOBALPIC_ENV=production"):
            OrchestratorSettings(failpoint=spec)
    monkeypatch.setenv("GLOBALPIC_ORCHESTRATOR__FAILPOINT", "")
    assert OrchestratorSettings().parsed_failpoint is None  # blank: off


def test_the_runner_process_refuses_to_start_with_a_failpoint_in_production(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "GLOBALPIC_ENV": "production",
        "GLOBALPIC_ORCHESTRATOR__FAILPOINT": "after_store:kill:1",
        "GLOBALPIC_ORCHESTRATOR__DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "GLOBALPIC_ORCHESTRATOR__NATS_URL": "nats://127.0.0.1:9",  # never reached
    }
    done = subprocess.run(
        [RUNNER_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ORCHESTRATOR__FAILPOINT" in done.stderr and "refused outside development" in done.stderr
    assert not (tmp_path / "never.db").exists()  # failed before touching anything


def test_the_orchestrator_refuses_to_start_without_its_services(tmp_path: Path) -> None:
    """Its models are reached only through their services: a missing address is named, with
    no stack trace, before anything is touched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOBALPIC_PIPELINE__")}
    env["GLOBALPIC_PIPELINE__OCR_ADDR"] = "127.0.0.1:9"
    env["GLOBALPIC_ORCHESTRATOR__DATABASE_URL"] = f"sqlite:///{tmp_path / 'never.db'}"
    done = subprocess.run([RUNNER_SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "bad_option" in done.stderr and "Traceback" not in done.stderr, done.stderr
    for missing in ("SEGMENTATION", "GENERATION", "COPYWRITING"):
        assert f"GLOBALPIC_PIPELINE__{missing}_ADDR" in done.stderr
    assert "GLOBALPIC_PIPELINE__OCR_ADDR" not in done.stderr
    assert not (tmp_path / "never.db").exists()


def test_failpoint_syntax() -> None:
    assert Failpoint.parse("after_store:kill") == Failpoint("after_store", "kill", None)
    assert Failpoint.parse(" after_store:pause:3 ") == Failpoint("after_store", "pause", 3)
    assert str(Failpoint.parse("after_store:kill:1")) == "after_store:kill:1"
    for bad in ("after_store", "before_store:kill", "after_store:crash", "after_store:kill:0",
                "after_store:kill:x", "after_store:kill:1:2"):  # fmt: skip
        with pytest.raises(ValueError, match="failpoint"):
            Failpoint.parse(bad)
    with pytest.raises(ValidationError, match="unknown action"):
        OrchestratorSettings(failpoint="after_store:explode")  # caught at load, even here


def test_heartbeats_keep_a_long_image_from_being_redelivered(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """The image is held inside process() until JetStream has let ack_wait pass three times
    over without redelivering it (read from the consumer), while a second runner pulls and
    would get any redelivery. Heartbeats every 0.1 s against a 2 s ack_wait: a heartbeat
    must be ~2 s late (the event loop frozen) to let one through; without heartbeats the
    message is redelivered after 2 s and the test fails."""
    ack_wait = 2.0

    async def scenario(gw: Harness) -> None:
        js = gw.state.jetstream()
        nc = gw.state.nc
        assert nc is not None
        heartbeats: list[bytes] = []

        async def on_ack(msg: Msg) -> None:
            if msg.data.startswith(b"+WPI"):
                heartbeats.append(msg.data)

        settings = gw.settings
        await nc.subscribe(f"$JS.ACK.{settings.work_stream}.{settings.runner_durable}.>", cb=on_ack)
        async with gw.client() as api:
            gated = Gated(processor)
            await gw.start_runner(gated)  # alone when the message comes: it gets it
            job_id = await _submit(api)
            await asyncio.to_thread(gated.started.wait, FIRST_IMAGE_LIMIT_S)
            await gw.start_runner(processor)  # would get a redelivery if there were one
            held_since = time.monotonic()
            while time.monotonic() - held_since < 3 * ack_wait:  # long enough, never too long
                info = await js.consumer_info(settings.work_stream, settings.runner_durable)
                assert info.num_redelivered == 0, f"redelivered while heartbeating: {info}"
                assert info.delivered.consumer_seq == 1 and info.num_ack_pending == 1
                await asyncio.sleep(0.2)
            assert heartbeats, "no in_progress() reached JetStream"
            gated.release.set()
            job = await _finished(api, job_id)
            assert job["status"] == "completed" and job["images"][0]["attempts"] == 1
            await _drained(gw)
            info = await js.consumer_info(settings.work_stream, settings.runner_durable)
            assert info.delivered.consumer_seq == 1 and info.num_redelivered == 0

    _run(
        database_url,
        tmp_path,
        nats_url,
        scenario,
        ack_wait_seconds=ack_wait,
        heartbeat_seconds=0.1,
    )


def test_two_runners_finishing_a_job_at_once_complete_it_once(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """Two runners each hold one image of a 2-image job and finish together (a barrier): each
    counts the other's image while recording its own, so only row locking (FOR UPDATE on
    PostgreSQL) lets exactly one of them see the job complete. Zero ``completed`` (each saw
    the other unfinished) or a wrong count fails."""

    async def scenario(gw: Harness) -> None:
        barrier = threading.Barrier(2)
        async with gw.client() as api:
            await gw.start_runner(Together(processor, barrier))
            await gw.start_runner(Together(processor, barrier))
            job_id = await _submit(api, n=2)
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            assert [i["attempts"] for i in job["images"]] == [1, 1]
            await _drained(gw)
            prefix = f"{gw.settings.events_subject_prefix}.{job_id}"
            assert await _count(gw, gw.settings.events_stream, f"{prefix}.completed") == 1
            events = await _events(api, job_id)
            completed = [e["data"] for e in events if e["event"] == "completed"]
            assert len(completed) == 1
            assert (completed[0]["completed"], completed[0]["failed"]) == (2, 0)
            done = [e["data"]["image"] for e in events if e["data"].get("stage") == "done"]
            assert sorted(done) == [0, 1]
            with Session(gw.state.engine) as session:
                rows = session.exec(select(JobImage).where(JobImage.job_id == job_id)).all()
                assert sorted((r.index, r.state) for r in rows) == [
                    (0, "completed"),
                    (1, "completed"),
                ]

    _run(database_url, tmp_path, nats_url, scenario)


def test_a_runner_with_concurrency_two_works_on_two_images_at_once(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """One runner, ``concurrency=2``: both images must be inside process() together
    to pass the barrier (one at a time would break it and fail them); each recorded once."""

    async def scenario(gw: Harness) -> None:
        barrier = threading.Barrier(2)
        async with gw.client() as api:
            job_id = await _submit(api, n=2)
            await gw.start_runner(Together(processor, barrier))
            job = await _finished(api, job_id)
            assert job["status"] == "completed"
            assert [i["attempts"] for i in job["images"]] == [1, 1]
            assert not barrier.broken
            await _drained(gw)
            events = await _events(api, job_id)
            done = [e["data"]["image"] for e in events if e["data"].get("stage") == "done"]
            assert sorted(done) == [0, 1]
            assert [e["event"] for e in events].count("completed") == 1
            assert len(gw.storage.list("tenant-a", "results/").items) == 2

    _run(database_url, tmp_path, nats_url, scenario, concurrency=2)


class Counting:
    """Counts the images actually processed."""

    def __init__(self, inner: LocalizerProcessor) -> None:
        self.inner, self.backend, self.calls = inner, inner.backend, 0
        self._lock = threading.Lock()

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        with self._lock:
            self.calls += 1
        return self.inner.process(inputs, options, cb)


def test_identical_concurrent_submissions_are_processed_once(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    """20 jobs of one team with the same photo and options, submitted together, queued before
    any runner runs (so the gateway's cache answers none), then four workers: the photo is
    processed once, the 19 others share its result (``cached``, so not billed), every job
    completes with the same outputs. A different option or another team's photo is its own."""

    async def scenario(gw: Harness) -> None:
        photo = photo_bytes(512, seed=3)

        async def submit(api: httpx.AsyncClient, **form: str) -> str:
            files = [("images", ("same.jpg", photo, "image/jpeg"))]
            response = await api.post("/v1/jobs", files=files, data={**FORM, **form})
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

        async with gw.client() as api, gw.client("tenant-b") as other_api:
            twins = await asyncio.gather(*(submit(api) for _ in range(20)))
            other_options = await submit(api, ops="extract,resize", platform="amazon")
            other_team = await submit(other_api)
            counting = Counting(processor)
            await gw.start_runner(counting)
            jobs = [await _finished(api, job_id) for job_id in twins]
            others = [await _finished(api, other_options), await _finished(other_api, other_team)]
            assert counting.calls == 3
            assert {job["status"] for job in jobs + others} == {"completed"}
            images = [job["images"][0] for job in jobs]
            assert sorted(image["cached"] for image in images) == [False] + [True] * 19
            assert len({image["report"]["output"] for image in images}) == 1
            assert not any(job["images"][0]["cached"] for job in others)

    _run(database_url, tmp_path, nats_url, scenario, concurrency=4)


class FailsFirst(Counting):
    """Refuses the first image it is given, processes the others."""

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            raise BadInputError("no product found", code="no_product")
        return self.inner.process(inputs, options, cb)


def test_a_twin_takes_over_when_the_one_it_waited_for_fails(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        files = [("images", ("same.jpg", photo_bytes(512, seed=4), "image/jpeg"))]
        async with gw.client() as api:
            responses = await asyncio.gather(
                *(api.post("/v1/jobs", files=files, data=FORM) for _ in range(5))
            )
            fails_first = FailsFirst(processor)
            await gw.start_runner(fails_first)
            jobs = [await _finished(api, r.json()["id"]) for r in responses]
            assert fails_first.calls == 2
            states = sorted((j["images"][0]["state"], j["images"][0]["cached"]) for j in jobs)
            assert states == [("completed", False)] + [("completed", True)] * 3 + [
                ("failed", False)
            ]

    _run(database_url, tmp_path, nats_url, scenario, concurrency=3)


def test_one_bad_image_fails_alone(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
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

    _run(database_url, tmp_path, nats_url, scenario)


def test_an_image_failing_every_delivery_is_dead_lettered(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            await gw.start_runner(Broken())
            job = await _finished(api, job_id)
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

    _run(database_url, tmp_path, nats_url, scenario, max_deliver=2)


def test_a_runner_dying_on_the_last_delivery_is_caught_by_the_advisory(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            gated = Gated(processor)
            doomed = await gw.start_runner(gated)
            await asyncio.to_thread(
                gated.started.wait, FIRST_IMAGE_LIMIT_S
            )  # the only delivery it will get
            await gw.start_runner(processor)  # healthy: it hears the max-deliveries advisory
            await gw.crash_runner(doomed)
            gated.release.set()
            job = await _finished(api, job_id)
            image = job["images"][0]
            assert job["status"] == "failed" and image["error"]["code"] == "processing_failed"
            assert "no runner finished it" in image["error"]["message"]

    _run(database_url, tmp_path, nats_url, scenario, max_deliver=1, ack_wait_seconds=1.5)


def test_sse_resumes_after_last_event_id(
    database_url: str, tmp_path: Path, nats_url: str, processor: LocalizerProcessor
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

    _run(database_url, tmp_path, nats_url, scenario)

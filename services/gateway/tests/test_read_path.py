"""The read side clients poll: ``GET /v1/jobs/{id}`` rendered from Core reads and a cache of
finished images (the same bytes as ``job_out``), reads without transactions, and SSE from
direct gets and the in-process doorbell (no JetStream consumer per stream)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from globalpic_gateway import crud
from globalpic_gateway.api import views
from globalpic_gateway.api.routes import events as events_route
from globalpic_jobs import state as job_state
from globalpic_jobs.db import make_engine, migrate, reads_engine
from globalpic_jobs.models import JobImage
from globalpic_jobs.options import parse_options
from tests.support.gateway_harness import (
    Harness,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

OPTIONS = parse_options({"ops": "extract,resize", "platform": "amazon"})
HASH = OPTIONS.hash("png")
NO_CACHE = job_state.CachePolicy(enabled=False, ttl_seconds=0)

REPORT: dict[str, Any] = {
    "input": "0.jpg",
    "output": "tenants/acme/results/abc.png",  # storage keys: never shown to a client
    "outputs": ["tenants/acme/results/abc.png"],
    "width": 512,
    "height": 512,
    "texts": [
        {
            "box": [[1.0, 2.0], [30.5, 2.0], [30.5, 12.25], [1.0, 12.25]],
            "text": "包邮",
            "confidence": 0.93,
            "kind": "overlay",
            "action": "erased",
            "overlay_score": 0.88,
            "cues": {"contrast": 0.7, "edge": 0.125},
        },
        {  # kept on doubt: the web app offers it as a one-click erase, with its cues
            "box": [[40.0, 200.0], [90.0, 200.0], [90.0, 220.0], [40.0, 220.0]],
            "text": "珍藏神沙",
            "confidence": 0.9,
            "kind": "product",
            "action": "kept_uncertain",
            "overlay_score": 0.61,
            "cues": {"crispness": 0.8, "unit_repeat": 1.0},
        },
    ],
    "erased_fraction": 0.0123,
    "platform": "amazon",
    "checks": [
        {"rule": "white_background", "passed": True, "message": "ok", "measured": 0.99},
        {"rule": "product_fill", "passed": False, "message": "too small", "required": 0.85},
    ],
    "seconds": {"decode": 0.01, "extract": 1.5},
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _new_job(session: Session, n: int) -> str:
    images = [
        crud.NewImage(
            index=i,
            filename=f"{i}.jpg",
            sha256=str(i).ljust(64, "0"),
            original_key=f"tenants/acme/originals/{i}.jpg",
            content_type="image/jpeg",
            width=512,
            height=512,
        )
        for i in range(n)
    ]
    job = crud.create_job(
        session,
        tenant_id="acme",
        options=OPTIONS,
        options_hash=HASH,
        images=images,
        cache=NO_CACHE,
    )
    return job.id


def _image(session: Session, job_id: str, index: int) -> JobImage:
    image = job_state.get_image(session, job_id, index)
    assert image is not None
    return image


def _expected(engine: Engine, job_id: str) -> bytes:
    with Session(engine) as session:
        job = crud.get_job(session, "acme", job_id)
        assert job is not None
        return views.job_out(job, job_state.job_images(session, job_id)).model_dump_json().encode()


class _Reads:
    """``job_json`` as the route calls it, counting the report reads."""

    def __init__(self, engine: Engine, cache: views.FinishedImageCache) -> None:
        self.engine = reads_engine(engine)
        self.cache = cache
        self.report_reads: list[list[int]] = []

    def render(self, job_id: str, tenant: str = "acme") -> bytes | None:
        with self.engine.connect() as conn:
            job = crud.read_job(conn, tenant, job_id)
            if job is None:
                return None

            def reports(ids: list[int]) -> dict[int, dict[str, Any] | None]:
                self.report_reads.append(sorted(ids))
                return crud.image_reports(conn, ids)

            return views.job_json(job, crud.read_images_for_view(conn, job_id), reports, self.cache)


def test_the_polled_job_view_is_job_out_byte_for_byte(engine: Engine) -> None:
    cache = views.FinishedImageCache(100)
    reads = _Reads(engine, cache)
    with Session(engine) as session:
        job_id = _new_job(session, 4)
        # image 0 completed, 1 failed, 2 running at a stage, 3 queued
        for index in (0, 1, 2):
            assert job_state.mark_running(session, job_id, index) is not None
        job_state.record_result(
            session,
            _image(session, job_id, 0),
            ["tenants/acme/results/abc.png"],
            REPORT,
            options_hash=HASH,
            cache=NO_CACHE,
        )
        job_state.record_failure(session, _image(session, job_id, 1), "no_product", "nothing found")
        image_2 = _image(session, job_id, 2)
        assert image_2.id is not None
        job_state.set_stage(session, image_2.id, "resize", 75)

    assert reads.render(job_id) == _expected(engine, job_id)
    assert len(reads.report_reads) == 1 and len(cache) == 2  # the finished images, read once
    assert reads.render(job_id) == _expected(engine, job_id)
    assert len(reads.report_reads) == 1  # the second poll reads no report

    with Session(engine) as session:  # image 2 finishes: rendered on the next poll
        job_state.record_result(
            session,
            _image(session, job_id, 2),
            ["tenants/acme/results/def.png"],
            {**REPORT, "input": "2.jpg"},
            options_hash=HASH,
            cache=NO_CACHE,
        )
    body = reads.render(job_id)
    assert body == _expected(engine, job_id)
    assert reads.report_reads[-1] == [_image_id(engine, job_id, 2)] and len(cache) == 3
    shown = json.loads(body or b"")
    assert [i["state"] for i in shown["images"]] == ["completed", "failed", "completed", "queued"]
    assert shown["images"][0]["report"]["output"] is None  # storage keys stay hidden
    assert shown["images"][0]["checks"][1]["rule"] == "product_fill"
    unsure = shown["images"][0]["report"]["texts"][1]
    assert (unsure["action"], unsure["cues"]["unit_repeat"]) == ("kept_uncertain", 1.0)

    assert reads.render(job_id, tenant="someone-else") is None  # another tenant's: absent


def _image_id(engine: Engine, job_id: str, index: int) -> int:
    with Session(engine) as session:
        image_id = _image(session, job_id, index).id
    assert image_id is not None
    return image_id


def test_an_unfinished_image_report_is_read_with_its_row(engine: Engine) -> None:
    """Only finished images' reports are left out of the row read (and cached): an unfinished
    one is rendered from what the row holds now, on every poll."""
    reads = _Reads(engine, views.FinishedImageCache(100))
    with Session(engine) as session:
        job_id = _new_job(session, 1)
        assert job_state.mark_running(session, job_id, 0) is not None
        session.execute(
            sa.update(JobImage).where(JobImage.job_id == job_id).values(report=REPORT)  # type: ignore[arg-type]
        )
        session.commit()
    assert reads.render(job_id) == _expected(engine, job_id)
    assert reads.report_reads == [] and len(reads.cache) == 0


def test_the_finished_image_cache_is_bounded_and_least_recently_used_out() -> None:
    cache = views.FinishedImageCache(2)
    keys = [(n, "job", n, "completed", 1, None) for n in range(3)]
    cache.put(keys[0], b"0")
    cache.put(keys[1], b"1")
    assert cache.get(keys[0]) == b"0"  # now the most recently used
    cache.put(keys[2], b"2")
    assert cache.get(keys[1]) is None and cache.get(keys[0]) == b"0" and len(cache) == 2
    off = views.FinishedImageCache(0)
    off.put(keys[0], b"0")
    assert off.get(keys[0]) is None


def test_an_unfinished_image_has_no_cache_key() -> None:
    image = JobImage(
        id=7,
        job_id="j",
        tenant_id="t",
        index=0,
        filename="a.jpg",
        input_sha256="0" * 64,
        original_key="k",
        content_type="image/jpeg",
        width=1,
        height=1,
        state="running",
    )
    assert views._finished_key(image) is None
    image.state = "failed"
    assert views._finished_key(image) == (7, "j", 0, "failed", 0, None)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_run_outside_transactions_on_postgresql(engine: Engine) -> None:
    assert engine.dialect.name == "postgresql"  # the fixture never stands in SQLite
    reads = reads_engine(engine)
    with reads.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None and dbapi.autocommit
        assert crud.read_job(conn, "acme", "nope") is None
        assert dbapi.info.transaction_status == 0  # IDLE: no BEGIN was sent
    with engine.connect() as conn:  # the shared pool hands writers transactions again
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None and not dbapi.autocommit


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_reads_use_the_engine_as_it_is(engine: Engine) -> None:
    assert reads_engine(engine) is engine  # its connections' transaction mode is set up apart


def test_sse_completes_from_the_rows_only_once_the_completed_event_went_out(
    engine: Engine,
) -> None:
    """The idle check's snapshot is for a job whose events aged out of the stream, never for
    one the orchestrator has recorded but not yet announced: the stream would end without
    the last image's ``done``."""
    state = SimpleNamespace(engine=engine)
    with Session(engine) as session:
        job_id = _new_job(session, 1)
        assert job_state.mark_running(session, job_id, 0) is not None
        finished = job_state.record_result(
            session, _image(session, job_id, 0), ["k"], REPORT, options_hash=HASH, cache=NO_CACHE
        )
        assert finished is not None and finished.status == "completed"
    # recorded, its events not yet published: no snapshot, the stream waits for them
    assert events_route._snapshot(state, "acme", job_id) is None  # type: ignore[arg-type]
    with Session(engine) as session:
        job_state.mark_completed_event_sent(session, job_id)
    snapshot = events_route._snapshot(state, "acme", job_id)  # type: ignore[arg-type]
    assert snapshot is not None and snapshot.completed == 1 and snapshot.job_id == job_id
    assert events_route._snapshot(state, "other", job_id) is None  # type: ignore[arg-type]


# --- SSE: direct gets and the doorbell -------------------------------------------------------


def _run_gateway(tmp_path: Path, nats_url: str, scenario: Any) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            await asyncio.wait_for(scenario(gw), 60)

    asyncio.run(main())


async def _submit(api: httpx.AsyncClient) -> str:
    files = [("images", ("a.jpg", photo_bytes(512), "image/jpeg"))]
    response = await api.post("/v1/jobs", files=files, data={"ops": "extract"})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _stream(
    api: httpx.AsyncClient, job_id: str, received: asyncio.Queue[dict[str, str]]
) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with api.stream("GET", f"/v1/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                    await received.put(current)
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                current[name] = value.removeprefix(" ")
    return events


class _CaughtUp:
    """Counts the SSE streams' looks at the events stream that found nothing new: after one,
    the stream waits for its doorbell (or its idle check) — the moment to publish."""

    def __init__(self, gw: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        feed = gw.state.event_feed()
        self.looks = 0
        self._looked = asyncio.Event()
        original = feed.next_stored

        async def next_stored(job_id: str, start: int) -> Any:
            event = await original(job_id, start)
            if event is None:
                self.looks += 1
                self._looked.set()
            return event

        monkeypatch.setattr(feed, "next_stored", next_stored)

    async def after(self, looks: int) -> None:
        """Until a look beyond the first ``looks`` has found nothing."""
        while self.looks <= looks:
            self._looked.clear()
            await asyncio.wait_for(self._looked.wait(), 20)


async def _publish_while_streaming(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, str]]:
    """Open a job's stream; each time it has caught up and waits, publish one event (two
    progress events, then the completion) and wait until the client has it."""
    async with gw.client() as api:
        job_id = await _submit(api)
        caught_up = _CaughtUp(gw, monkeypatch)
        received: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        reader = asyncio.create_task(_stream(api, job_id, received))
        js, subjects = gw.state.jetstream(), gw.state.subjects
        seqs = []
        looks = 0
        for subject, payload in (
            (subjects.progress(job_id), json.dumps({"n": 1}).encode()),
            (subjects.progress(job_id), json.dumps({"n": 2}).encode()),
            (subjects.completed(job_id), b'{"done": true}'),
        ):
            await caught_up.after(looks)  # it read everything stored since and waits
            looks = caught_up.looks
            ack = await js.publish(subject, payload)
            seqs.append(ack.seq)
            event = await asyncio.wait_for(received.get(), 20)
            assert int(event["id"]) == ack.seq
        events = await asyncio.wait_for(reader, 20)
        assert [int(e["id"]) for e in events] == seqs
        assert [e["event"] for e in events] == ["progress", "progress", "completed"]
        assert [json.loads(e["data"]) for e in events][:2] == [{"n": 1}, {"n": 2}]
        # no consumer was created for the stream, and its doorbell is gone
        info = await js.stream_info(gw.settings.events_stream)
        assert info.state.consumer_count == 0
        assert gw.state.feed is not None and gw.state.feed.listening == 0
        return events


def test_sse_delivers_events_published_while_the_stream_is_open(
    tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(gw: Harness) -> None:
        await _publish_while_streaming(gw, monkeypatch)

    _run_gateway(tmp_path, nats_url, scenario)


def test_sse_does_not_lose_events_when_the_doorbell_does_not_ring(
    tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream is the source of truth: a stream that heard nothing looks again after the
    idle check, so a ring lost (a reconnect) delays an event, never loses it."""
    monkeypatch.setattr(events_route, "IDLE_CHECK_SECONDS", 0.3)

    async def silent(gw: Harness) -> None:
        assert gw.state.feed is not None

        async def never(msg: Any) -> None:
            del msg

        monkeypatch.setattr(gw.state.feed, "_ring", never)
        await gw.state.feed.stop()
        await gw.state.feed.start()  # resubscribed with the silent callback
        await _publish_while_streaming(gw, monkeypatch)

    _run_gateway(tmp_path, nats_url, silent)


def test_sse_reads_the_stream_before_completing_from_the_rows(
    tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job finished and announced while its stream waited with a silent doorbell: the idle
    check reads what the events stream holds first, so every event reaches the client with
    its id, and the stored outcome is only for events that are gone (CI once saw a bare
    ``completed`` that hid the job's last progress)."""
    monkeypatch.setattr(events_route, "IDLE_CHECK_SECONDS", 0.3)

    async def scenario(gw: Harness) -> None:
        assert gw.state.feed is not None

        async def never(msg: Any) -> None:
            del msg

        monkeypatch.setattr(gw.state.feed, "_ring", never)
        await gw.state.feed.stop()
        await gw.state.feed.start()
        async with gw.client() as api:
            job_id = await _submit(api)
            caught_up = _CaughtUp(gw, monkeypatch)
            received: asyncio.Queue[dict[str, str]] = asyncio.Queue()
            reader = asyncio.create_task(_stream(api, job_id, received))
            await caught_up.after(0)  # it has read the (empty) stream and waits
            js, subjects = gw.state.jetstream(), gw.state.subjects
            progress = await js.publish(subjects.progress(job_id), b'{"n": 1}')
            completed = await js.publish(subjects.completed(job_id), b'{"done": true}')
            with Session(gw.state.engine) as session:  # as the orchestrator records it
                assert job_state.mark_running(session, job_id, 0) is not None
                image = _image(session, job_id, 0)
                job_state.record_result(
                    session, image, ["k"], REPORT, options_hash=HASH, cache=NO_CACHE
                )
                job_state.mark_completed_event_sent(session, job_id)
            events = await asyncio.wait_for(reader, 20)
        assert [(e["event"], int(e["id"])) for e in events] == [
            ("progress", progress.seq),
            ("completed", completed.seq),
        ]

    _run_gateway(tmp_path, nats_url, scenario)

"""The events consumer on a real JetStream: job events as the orchestrator and the gateway
publish them become delivery rows once per endpoint, a message whose ack was lost (recorded,
then redelivered) inserts nothing the second time, and what is not a webhook event is acked
and dropped."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg
from nats.js.api import StreamConfig
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from globalpic_jobs.models import ImageState, JobStatus
from globalpic_jobs.queue import Subjects, connect, publish_model
from globalpic_webhooks import consumer as consumer_module
from globalpic_webhooks.consumer import EventConsumer
from globalpic_webhooks.events import WebhookEvent
from globalpic_webhooks.models import Delivery
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.store import Recorded, WebhookStore
from services.webhooks.tests.helpers import PUBLIC_URL, FakeDns, image_done, job_done

LIMIT_S = 30.0


class FlakyStore(WebhookStore):
    """Records, then fails once for one event: as if the process died before its ack."""

    def __init__(self, base: WebhookStore, fail_once: str) -> None:
        super().__init__(base.engine, base.policy)
        self.fail_once = fail_once

    def record(self, event: WebhookEvent) -> Recorded:
        recorded = super().record(event)
        if event.type == self.fail_once:
            self.fail_once = ""
            raise RuntimeError("died before the ack")
        return recorded


class RecordingConsumer(EventConsumer):
    """Tells the test when it has handled ``expected`` messages (no polling)."""

    def __init__(self, store: WebhookStore, settings: WebhooksSettings, expected: int) -> None:
        super().__init__(store, settings, fetch_timeout=0.2, on_recorded=self._woken)
        self.results: list[Recorded | None] = []
        self.expected = expected
        self.wakes = 0
        self.done = asyncio.Event()

    def _woken(self) -> None:
        self.wakes += 1

    async def handle(self, msg: Msg) -> Recorded | None:
        result = await super().handle(msg)
        self.results.append(result)
        if len(self.results) >= self.expected:
            self.done.set()
        return result


def test_job_events_become_delivery_rows_once(
    nats_url: str, engine: Engine, dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "RETRY_DELAY_S", 0.05)
    from globalpic_webhooks.urls import UrlPolicy

    base = WebhookStore(engine, UrlPolicy(allow_loopback=False, resolver=dns))
    everything = base.create_endpoint(
        "acme", PUBLIC_URL, ["job.completed", "job.failed", "image.completed"]
    )
    tag = uuid.uuid4().hex[:8]
    settings = WebhooksSettings(
        nats_url=nats_url,
        events_stream=f"EVENTS_{tag}",
        events_subject_prefix=f"test.{tag}.jobs",
        durable=f"webhooks-{tag}",
    )
    subjects = Subjects("unused.work", settings.events_subject_prefix, "unused.dead")
    running = image_done("job1", 0, state=ImageState.RUNNING, stage="remix")  # type: ignore[arg-type]
    progress = [
        running,  # not done: acked, dropped
        image_done("job1", 0),
        image_done("job1", 0),  # the runner's second done after a crash
        image_done("job1", 1, state=ImageState.FAILED),  # a failed image: no image.completed
        image_done("job1", 2, cached=True),  # the gateway's cache hit: completed too
        image_done("job9", 0, tenant="nobody"),  # a team without endpoints
    ]
    now = datetime.now(UTC)
    completed = [
        job_done("job1", images=3, finished_at=now),
        job_done("job2", status=JobStatus.FAILED, finished_at=now),
    ]
    store = FlakyStore(base, fail_once="job.completed")
    # 6 progress, 2 completed, 1 unreadable, the redelivery of the one whose ack was "lost"
    consumer = RecordingConsumer(store, settings, expected=len(progress) + len(completed) + 2)

    async def scenario() -> None:
        nc = await connect(nats_url, "webhooks-test")
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=settings.events_stream, subjects=[f"{settings.events_subject_prefix}.>"]
            )
        )
        for event in progress:
            await publish_model(js, subjects.progress(event.job_id), event)
        for done in completed:
            await publish_model(js, subjects.completed(done.job_id), done)
        await js.publish(subjects.progress("job1"), b"not json")  # terminated, not retried
        task = asyncio.create_task(consumer.run())
        try:
            await asyncio.wait_for(consumer.done.wait(), LIMIT_S)
        finally:
            consumer.stop()
            await asyncio.wait_for(task, LIMIT_S)
            info = await js.consumer_info(settings.events_stream, settings.durable)
            await nc.close()
        assert info.num_ack_pending == 0 and info.num_pending == 0

    asyncio.run(scenario())
    with Session(engine) as session:
        rows = session.exec(select(Delivery)).all()
    kinds = sorted((r.event_type, r.payload.count('"cached":true')) for r in rows)
    assert kinds == [
        ("image.completed", 0),
        ("image.completed", 1),
        ("job.completed", 0),
        ("job.failed", 0),
    ]
    assert {r.endpoint_id for r in rows} == {everything.id}
    # job.completed's row was committed by the pass that "died"; its redelivery inserted 0,
    # as did the runner's second done
    inserted = [r.inserted for r in consumer.results if r is not None]
    assert sorted(inserted) == [0, 0, 0, 1, 1, 1]
    assert consumer.wakes == 3  # the deliverer is woken for each event with new rows

"""The settle consumer on a real JetStream: ImageProgress events as the orchestrator and the
gateway publish them, a ``done`` delivered twice, an unmetered job's events ignored."""

from __future__ import annotations

import asyncio
import uuid

from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from globalpic_billing.consumer import SettleConsumer
from globalpic_billing.metering import Meter, Settled
from globalpic_billing.settings import BillingSettings
from globalpic_common.schemas import ProgressStage
from globalpic_jobs.events import ImageProgress
from globalpic_jobs.models import ImageState
from globalpic_jobs.queue import Subjects, connect, publish_model

LIMIT_S = 30.0


class RecordingConsumer(SettleConsumer):
    """Tells the test when it has handled ``expected`` messages (no sleeping, no polling)."""

    def __init__(self, meter: Meter, settings: BillingSettings, expected: int) -> None:
        super().__init__(meter, settings, fetch_timeout=0.2)
        self.results: list[Settled | None] = []
        self.expected = expected
        self.done = asyncio.Event()

    async def handle(self, msg: Msg) -> Settled | None:
        result = await super().handle(msg)
        self.results.append(result)
        if len(self.results) >= self.expected:
            self.done.set()
        return result


def _event(
    job: str, image: int, stage: ProgressStage, state: ImageState, *, cached: bool = False
) -> ImageProgress:
    return ImageProgress(
        input=f"{image}.jpg",
        stage=stage,
        percent=100 if stage == ProgressStage.DONE else 50,
        job_id=job,
        tenant_id="acme",
        image=image,
        state=state,
        cached=cached,
    )


def test_the_consumer_settles_from_published_events(nats_url: str, meter: Meter) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = BillingSettings(
        nats_url=nats_url,
        events_stream=f"EVENTS_{tag}",
        events_subject_prefix=f"test.{tag}.jobs",
        durable=f"billing-{tag}",
    )
    subjects = Subjects("unused.work", settings.events_subject_prefix, "unused.dead")
    assert meter.reserve("acme", "job1", 3).granted
    done, running = ProgressStage.DONE, ProgressStage.REMIX
    completed, failed = ImageState.COMPLETED, ImageState.FAILED
    events = [
        _event("job1", 0, running, ImageState.RUNNING),  # not a done: acked, ignored
        _event("job1", 0, done, completed),
        _event("job1", 0, done, completed),  # the runner's redelivery
        _event("job1", 1, done, failed),
        _event("job1", 2, done, completed, cached=True),  # the gateway's cache hit
        _event("unmetered", 0, done, completed),
    ]
    consumer = RecordingConsumer(meter, settings, expected=len(events))

    async def scenario() -> None:
        nc = await connect(nats_url, "billing-test")
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=settings.events_stream, subjects=[f"{settings.events_subject_prefix}.>"]
            )
        )
        for event in events:
            await publish_model(js, subjects.progress(event.job_id), event)
        await js.publish(subjects.completed("job1"), b"{}")  # not a progress event
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
    assert consumer.results == [
        None,
        Settled.CHARGED,
        Settled.UNCHANGED,
        Settled.RELEASED,
        Settled.RELEASED,
        Settled.UNMETERED,
    ]
    standing = meter.standing("acme")
    assert (standing.images_charged, standing.images_reserved, standing.trial_remaining) == (
        1,
        0,
        2,
    )

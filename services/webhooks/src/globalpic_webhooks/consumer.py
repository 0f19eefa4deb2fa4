"""Job events -> delivery rows: a JetStream durable pull consumer.

It reads ``<events prefix>.*.progress`` (``ImageProgress``: stage ``done`` + state
``completed`` is ``image.completed``) and ``<events prefix>.*.completed`` (``JobCompleted``:
``job.completed`` / ``job.failed`` by status) from the events stream, writes one delivery row
per subscribed endpoint of the event's team, and acks the message after that commit. A crash
in between redelivers it; the rows' unique ``(endpoint, webhook-id)`` makes the second pass a
no-op, so every event reaches every endpoint once. The event's time is the stream's timestamp
of the message (the same on every redelivery); ``job.*`` use the job's ``finished_at``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from globalpic_jobs.consumer import DurableEventsConsumer
from globalpic_jobs.events import ImageProgress, JobCompleted
from globalpic_webhooks import metrics
from globalpic_webhooks.events import WebhookEvent, from_completed, from_progress
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.store import Recorded, WebhookStore

log = logging.getLogger(__name__)

ACK_WAIT_S = 30.0
RETRY_DELAY_S = 5.0  # recording failed (database down): redelivered after this


def consumer_config(settings: WebhooksSettings) -> ConsumerConfig:
    prefix = settings.events_subject_prefix
    return ConsumerConfig(
        durable_name=settings.durable,
        ack_policy=AckPolicy.EXPLICIT,
        # What the stream still holds: events older than an endpoint are skipped by time
        # (WebhookStore.record), so a new durable sends nothing stale.
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_S,
        max_deliver=-1,  # an event must not be dropped while the database is down
        filter_subjects=[f"{prefix}.*.progress", f"{prefix}.*.completed"],
        max_ack_pending=1000,
    )


def event_of(msg: Msg) -> WebhookEvent | None:
    """The webhook event a job event stands for; ``None`` for the others (running stages,
    failed images). ``ValidationError`` for a message that is not a job event."""
    if msg.subject.endswith(".completed"):
        return from_completed(JobCompleted.model_validate_json(msg.data))
    try:
        stamped = msg.metadata.timestamp
    except Exception:  # not a JetStream message (a test publishing plainly)
        stamped = datetime.now(UTC)
    return from_progress(ImageProgress.model_validate_json(msg.data), stamped)


class EventConsumer(DurableEventsConsumer):
    def __init__(
        self,
        store: WebhookStore,
        settings: WebhooksSettings,
        *,
        on_recorded: Callable[[], None] = lambda: None,
        fetch_timeout: float = 1.0,
    ) -> None:
        super().__init__(
            settings.nats_url,
            settings.events_stream,
            consumer_config(settings),
            "globalpic-webhooks",
            fetch_timeout=fetch_timeout,
        )
        self.store = store
        self.settings = settings
        self.on_recorded = on_recorded

    async def handle(self, msg: Msg) -> Recorded | None:
        """Record one event's deliveries; ack once that committed."""
        try:
            event = event_of(msg)
        except ValidationError as exc:
            log.error("unreadable job event on %s: %s", msg.subject, exc)
            await msg.term()
            return None
        if event is None:
            await msg.ack()
            return None
        try:
            recorded = await asyncio.to_thread(self.store.record, event)
        except Exception:
            log.exception("recording %s %s failed; retrying", event.type, event.message_id)
            await msg.nak(delay=RETRY_DELAY_S)
            return None
        await msg.ack()
        metrics.event(event.type, recorded.matched, recorded.inserted)
        if recorded.inserted:
            self.on_recorded()
        return recorded

"""Settling images from the job events: a JetStream durable pull consumer.

It reads ``<events prefix>.*.progress`` (``ImageProgress``) from the events stream and acts on
stage ``done`` only: completed and not cached -> charged, anything else -> released
(``Meter.settle``). The message is acked after the settlement committed; a crash in between
redelivers it, and settling again changes nothing (each image settles once). The orchestrator
may publish a ``done`` twice (a runner killed mid-image), the gateway publishes the ``done``
(``cached=true``) of images answered from the result cache: both land here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import suppress

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from globalpic_billing.metering import Meter, Settled
from globalpic_billing.settings import BillingSettings
from globalpic_common.schemas import ProgressStage
from globalpic_jobs.consumer import DurableEventsConsumer
from globalpic_jobs.events import ImageProgress
from globalpic_jobs.models import ImageState

log = logging.getLogger(__name__)

ACK_WAIT_S = 30.0
RETRY_DELAY_S = 5.0  # a settlement that failed (database down) is retried after this
STOP_GRACE_S = 5.0
SWEEP_EVERY_S = 300.0  # how often holds older than hold_max_age_seconds are given back


def consumer_config(settings: BillingSettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=settings.durable,
        ack_policy=AckPolicy.EXPLICIT,
        # A new durable reads what the stream still holds: events of jobs reserved before
        # billing first ran settle too, and those of unmetered jobs are acked and ignored.
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_S,
        max_deliver=-1,  # an event must not be dropped while the database is down
        filter_subject=f"{settings.events_subject_prefix}.*.progress",
        max_ack_pending=1000,
    )


class SettleConsumer(DurableEventsConsumer):
    def __init__(
        self, meter: Meter, settings: BillingSettings, *, fetch_timeout: float = 1.0
    ) -> None:
        super().__init__(
            settings.nats_url,
            settings.events_stream,
            consumer_config(settings),
            "globalpic-billing",
            fetch_timeout=fetch_timeout,
        )
        self.meter = meter
        self.settings = settings
        self._next_sweep = 0.0

    async def before_fetch(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_sweep:
            self._next_sweep = loop.time() + SWEEP_EVERY_S
            await self.sweep()

    async def sweep(self) -> int:
        """Give back stale holds (``Meter.release_stale``); a failure waits for the next turn."""
        try:
            return await asyncio.to_thread(
                self.meter.release_stale, self.settings.hold_max_age_seconds
            )
        except Exception:
            log.exception("releasing stale holds failed; trying again later")
            return 0

    async def handle(self, msg: Msg) -> Settled | None:
        """Settle one event's image (stage ``done``); ack it once that committed."""
        try:
            event = ImageProgress.model_validate_json(msg.data)
        except ValidationError as exc:
            log.error("unreadable progress event on %s: %s", msg.subject, exc)
            await msg.term()
            return None
        if event.stage != ProgressStage.DONE:
            await msg.ack()
            return None
        try:
            settled = await asyncio.to_thread(
                self.meter.settle,
                event.job_id,
                event.image,
                completed=event.state == ImageState.COMPLETED,
                cached=event.cached,
            )
        except Exception:
            log.exception("settling %s image %d failed; retrying", event.job_id, event.image)
            await msg.nak(delay=RETRY_DELAY_S)
            return None
        await msg.ack()
        return settled


class ConsumerThread:
    """The consumer on an event loop of its own, beside the synchronous gRPC server."""

    def __init__(self, consumer: SettleConsumer) -> None:
        self.consumer = consumer
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(consumer.run_forever())
        self._thread = threading.Thread(target=self._main, name="billing-settle", daemon=True)

    def _main(self) -> None:
        try:
            with suppress(asyncio.CancelledError):
                self._loop.run_until_complete(self._task)
        finally:
            self._loop.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Finish the message in hand, then stop; one stuck (NATS unreachable) is cancelled
        after ``grace_s`` (an unacked message is redelivered and settles once anyway)."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self.consumer.stop)
        self._thread.join(grace_s)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(grace_s)

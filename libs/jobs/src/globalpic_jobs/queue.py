"""NATS JetStream: the three streams, their subjects, and publishing work and job events.

* ``GLOBALPIC_WORK`` (work-queue retention, ``globalpic.work.<job>.<n>``): one message per
  image, removed when an orchestrator acks it. Orchestrators share one durable pull consumer
  (``globalpic_orchestrator.consumer``).
* ``GLOBALPIC_EVENTS`` (limits retention, ``globalpic.jobs.<job>.progress|completed``): kept
  for ``events_max_age_seconds`` so SSE can replay a job's events from any stream sequence
  (the SSE event id) — that is what makes ``Last-Event-ID`` resume work. SSE reads it by
  direct get (``allow_direct``), see the gateway's ``core.event_feed``.
* ``GLOBALPIC_DEAD`` (``globalpic.dead.work.<job>.<n>``): messages given up on after
  ``max_deliver`` attempts, kept for inspection.

Work and event messages carry a ``Nats-Msg-Id``: a retried publish inside the duplicate window
is stored once, so an orchestrator that crashes between publishing ``completed`` and recording
that it did cannot put a second ``completed`` in the stream.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from globalpic_common.tracing import inject_headers
from globalpic_jobs.settings import JobQueueSettings

log = logging.getLogger("globalpic.jobs.queue")

# Inside this window a message with a Nats-Msg-Id already stored is dropped. It covers a
# redelivery after a crash (ack_wait, a minute by default) with room to spare.
DUPLICATE_WINDOW_SECONDS = 15 * 60
DEAD_MAX_AGE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Subjects:
    work_prefix: str
    events_prefix: str
    dead_prefix: str

    @classmethod
    def from_settings(cls, settings: JobQueueSettings) -> Subjects:
        return cls(
            settings.work_subject_prefix,
            settings.events_subject_prefix,
            settings.dead_subject_prefix,
        )

    def work(self, job_id: str, index: int) -> str:
        return f"{self.work_prefix}.{job_id}.{index}"

    def progress(self, job_id: str) -> str:
        return f"{self.events_prefix}.{job_id}.progress"

    def completed(self, job_id: str) -> str:
        return f"{self.events_prefix}.{job_id}.completed"

    def job_events(self, job_id: str) -> str:
        return f"{self.events_prefix}.{job_id}.>"

    def dead(self, job_id: str, index: int) -> str:
        return f"{self.dead_prefix}.work.{job_id}.{index}"


async def connect(url: str, name: str) -> NatsClient:
    return await nats.connect(
        url,
        name=name,
        connect_timeout=5,
        max_reconnect_attempts=-1,  # a NATS restart must not take the process down
        reconnect_time_wait=1,
    )


# nats-py's fetch has stalled past its own timeout (nats.py#933, #986: an orphaned pull request
# on the server); past this grace the pull is given up and the caller pulls again. Nothing is
# lost: what reached the inbox is read by the next fetch, what did not is redelivered.
FETCH_GRACE_S = 5.0


async def fetch_batch(
    sub: JetStreamContext.PullSubscription, batch: int, timeout: float
) -> list[Msg]:
    """Up to ``batch`` messages of a pull subscription; none when nothing came in ``timeout``."""
    try:
        return await asyncio.wait_for(sub.fetch(batch, timeout=timeout), timeout + FETCH_GRACE_S)
    except nats.errors.TimeoutError:
        return []  # nothing new
    except TimeoutError:
        log.warning("a JetStream fetch outlived its %.1f s timeout; pulling again", timeout)
        return []


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", config.name)
        return
    await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, settings: JobQueueSettings) -> None:
    """Create (or update) the work, events and dead-letter streams; idempotent."""
    await _ensure_stream(
        js,
        StreamConfig(
            name=settings.work_stream,
            subjects=[f"{settings.work_subject_prefix}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=settings.events_stream,
            subjects=[f"{settings.events_subject_prefix}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=float(settings.events_max_age_seconds),
            duplicate_window=float(min(DUPLICATE_WINDOW_SECONDS, settings.events_max_age_seconds)),
            # SSE reads a job's stored events by direct get (core.event_feed), not a consumer
            allow_direct=True,
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=settings.dead_stream,
            subjects=[f"{settings.dead_subject_prefix}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=float(DEAD_MAX_AGE_SECONDS),
        ),
    )


async def publish_model(
    js: JetStreamContext, subject: str, payload: BaseModel, msg_id: str | None = None
) -> int:
    """Publish ``payload`` as JSON with the trace context; the stream sequence it got."""
    headers = inject_headers({})
    if msg_id is not None:
        headers["Nats-Msg-Id"] = msg_id
    ack = await js.publish(subject, payload.model_dump_json().encode(), headers=headers)
    return int(ack.seq)

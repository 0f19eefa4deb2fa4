"""Reading a job's events for SSE: stored ones by direct get, new ones announced in process.

Each SSE stream used to create its own JetStream consumer (ordered, from the job's first event):
a consumer created on the server per connection, with flow control and heartbeats while it
lived and a clean-up after — on a short connection (a browser polling for its progress bar)
most of the cost of the request, on the gateway and on nats-server alike. Now:

* what is stored is read with JetStream's *direct get* (``next_by_subj``: the job's first event
  at or after a stream sequence), one request per event and no consumer (the events stream has
  ``allow_direct``, ``messaging.ensure_streams``);
* one core-NATS subscription per gateway process, on every job's events subject, rings a
  per-job *doorbell* for the SSE streams that follow the job; they then read what is new by
  direct get. Core NATS gives no stream sequence (the SSE event id), and a ring lost (a
  reconnect) loses no event: the stream stays the source of truth, and an SSE stream that hears
  nothing for a while looks again (``routes.events``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.errors import NotFoundError

from globalpic_jobs.queue import Subjects

log = logging.getLogger("globalpic.gateway.events")

REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True)
class StoredEvent:
    seq: int  # stream sequence: the SSE event id
    kind: str  # "progress" or "completed" (the subject's last token)
    data: bytes


class JobEventFeed:
    def __init__(self, nc: NatsClient, stream: str, subjects: Subjects) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=REQUEST_TIMEOUT)
        self.stream = stream
        self.subjects = subjects
        self._bells: dict[str, set[asyncio.Event]] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to every job's events (core NATS; the client re-subscribes after a
        reconnect by itself)."""
        self._sub = await self.nc.subscribe(f"{self.subjects.events_prefix}.>", cb=self._ring)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _ring(self, msg: Msg) -> None:
        # <events prefix>.<job id>.<kind>
        parts = msg.subject.rsplit(".", 2)
        bells = self._bells.get(parts[-2]) if len(parts) == 3 else None
        for bell in bells or ():
            bell.set()

    @contextmanager
    def doorbell(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever something is published for ``job_id`` (clear it before
        reading the stream: what is published after that read rings it again)."""
        bell = asyncio.Event()
        self._bells.setdefault(job_id, set()).add(bell)
        try:
            yield bell
        finally:
            bells = self._bells.get(job_id)
            if bells is not None:
                bells.discard(bell)
                if not bells:
                    del self._bells[job_id]

    @property
    def listening(self) -> int:
        """Doorbells in use (SSE streams following a job)."""
        return sum(len(bells) for bells in self._bells.values())

    async def next_stored(self, job_id: str, start: int) -> StoredEvent | None:
        """The job's first stored event at or after stream sequence ``start``; None when
        there is none (yet)."""
        try:
            raw = await self.js.get_msg(
                self.stream,
                seq=max(1, start),
                subject=self.subjects.job_events(job_id),
                next=True,
                direct=True,
            )
        except NotFoundError:
            return None
        assert raw.seq is not None and raw.subject is not None
        return StoredEvent(raw.seq, raw.subject.rsplit(".", 1)[-1], raw.data or b"")

"""The events consumer and the delivery loop on one asyncio loop of their own, beside the
synchronous gRPC server (the billing service's pattern). ``nudge()`` is thread-safe: the
``SendTest`` RPC calls it so the test event goes out at once."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from contextlib import suppress

import httpx

from globalpic_webhooks.consumer import EventConsumer
from globalpic_webhooks.delivery import Deliverer
from globalpic_webhooks.outbox import Outbox, RetryPolicy
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.store import WebhookStore
from globalpic_webhooks.urls import guarded_transport

log = logging.getLogger(__name__)

STOP_GRACE_S = 15.0  # attempts in flight finish (the request timeout is 10 s)


def retry_policy(settings: WebhooksSettings) -> RetryPolicy:
    return RetryPolicy(
        schedule_s=tuple(settings.retry_schedule_s),
        give_up_after_s=settings.give_up_after_s,
        jitter=settings.retry_jitter,
    )


def http_client(
    settings: WebhooksSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The client deliveries are POSTed with: the SSRF guard unless a test gives its own
    transport; one timeout for connect, write and the answer's headers."""
    return httpx.AsyncClient(
        transport=transport
        or guarded_transport(
            allow_loopback=settings.allow_loopback, max_connections=settings.concurrency
        ),
        timeout=httpx.Timeout(settings.request_timeout_s),
        follow_redirects=False,
        trust_env=False,
    )


class Worker:
    """Start (``start``) and stop (``stop``) the consumer and the deliverer together."""

    def __init__(
        self,
        store: WebhookStore,
        settings: WebhooksSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.transport = transport
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="webhooks-worker", daemon=True)
        self._ready = threading.Event()
        self.deliverer: Deliverer | None = None
        self.consumer: EventConsumer | None = None
        self._main_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def nudge(self) -> None:
        """New deliveries are due (from any thread)."""
        deliverer = self.deliverer
        if deliverer is not None and not self._loop.is_closed():
            with suppress(RuntimeError):  # the loop just closed
                self._loop.call_soon_threadsafe(deliverer.wake)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._main_task = self._loop.create_task(self._run())
            with suppress(asyncio.CancelledError):
                self._loop.run_until_complete(self._main_task)
        except Exception:
            log.exception("the webhooks worker failed")
        finally:
            self._ready.set()  # start() must not wait for a worker that died starting
            self._loop.close()

    async def _run(self) -> None:
        settings = self.settings
        tasks: list[Awaitable[None]] = []
        async with http_client(settings, self.transport) as client:
            if settings.deliver:
                outbox = Outbox(self.store.engine, retry_policy(settings), clock=self.store.clock)
                self.deliverer = Deliverer(
                    outbox,
                    client,
                    batch_size=settings.batch_size,
                    concurrency=settings.concurrency,
                    lease_s=settings.claim_lease_s,
                    poll_interval_s=settings.poll_interval_s,
                )
                tasks.append(self.deliverer.run())
            if settings.consume_events:
                wake: Callable[[], None] = (
                    self.deliverer.wake if self.deliverer is not None else lambda: None
                )
                self.consumer = EventConsumer(self.store, settings, on_recorded=wake)
                tasks.append(self.consumer.run_forever())
            self._ready.set()
            if tasks:
                await asyncio.gather(*tasks)

    def _stop_all(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
        if self.deliverer is not None:
            self.deliverer.stop()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop consuming, finish the attempts in flight, then end; what is stuck after
        ``grace_s`` is cancelled (an unrecorded attempt is due again when its lease ends)."""
        if not self._thread.is_alive():
            return
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._stop_all)
        self._thread.join(grace_s)
        if self._thread.is_alive() and self._main_task is not None:
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._main_task.cancel)
            self._thread.join(grace_s)

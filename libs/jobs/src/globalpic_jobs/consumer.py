"""A service's durable pull consumer of the job events stream (billing settles from it,
webhooks deliver from it).

The consumer is created when missing (after waiting for the stream: the gateway and the
orchestrator create it), pulled in batches, and started over when NATS or the stream fails
under it. A subclass gives its ``ConsumerConfig`` and handles each message, acking it itself
once its work is committed (a crash in between redelivers it).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from globalpic_jobs.queue import connect, fetch_batch

log = logging.getLogger(__name__)

RESTART_DELAY_S = 5.0  # after the consumer failed under NATS
STREAM_WAIT_S = 2.0  # between looks for an events stream not created yet
BATCH = 64


class DurableEventsConsumer:
    def __init__(
        self,
        nats_url: str,
        stream: str,
        config: ConsumerConfig,
        client_name: str,
        *,
        fetch_timeout: float = 1.0,
    ) -> None:
        assert config.durable_name, "a durable consumer needs its name"
        self.nats_url = nats_url
        self.stream = stream
        self.config = config
        self.client_name = client_name
        self.fetch_timeout = fetch_timeout
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def handle(self, msg: Msg) -> object:
        """One message: act on it, then ack / nak / term it."""
        raise NotImplementedError

    async def before_fetch(self) -> None:
        """Called before each pull (periodic work of the service's own)."""

    async def run_forever(self) -> None:
        """``run`` until ``stop()``, starting over when NATS or the stream fails under it."""
        while not self._stopping.is_set():
            try:
                await self.run()
            except Exception:
                log.exception("%s: the events consumer failed; starting over", self.client_name)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RESTART_DELAY_S)

    async def run(self) -> None:
        """Pull and handle until ``stop()``."""
        nc = await connect(self.nats_url, self.client_name)
        try:
            js = nc.jetstream()
            if not await self._ensure_consumer(js):
                return
            await self._pull(js)
        finally:
            with suppress(Exception):
                await nc.drain()

    async def _ensure_consumer(self, js: JetStreamContext) -> bool:
        while not self._stopping.is_set():
            try:
                await js.add_consumer(self.stream, self.config)
                return True
            except NotFoundError:
                log.info("stream %s not there yet; waiting", self.stream)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), STREAM_WAIT_S)
        return False

    async def _pull(self, js: JetStreamContext) -> None:
        durable = self.config.durable_name
        assert durable is not None
        sub = await js.pull_subscribe_bind(durable=durable, stream=self.stream)
        log.info("%s: reading %s (%s)", self.client_name, self.stream, durable)
        try:
            while not self._stopping.is_set():
                await self.before_fetch()
                for msg in await fetch_batch(sub, BATCH, self.fetch_timeout):
                    await self.handle(msg)
        finally:
            with suppress(Exception):
                await sub.unsubscribe()

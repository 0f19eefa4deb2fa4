"""``fetch_batch``: the one pull every JetStream reader of ours makes. It returns what came,
nothing when nothing came, and gives up a fetch that stalls past its own timeout (nats.py#933 /
#986) instead of holding the reader, and with it ``stop()``, forever."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, StreamConfig

from globalpic_jobs import queue
from globalpic_jobs.queue import connect, fetch_batch


def test_returns_the_messages_then_nothing(nats_url: str) -> None:
    async def scenario() -> None:
        tag = uuid.uuid4().hex[:8]
        nc = await connect(nats_url, "fetch-test")
        try:
            js = nc.jetstream()
            await js.add_stream(StreamConfig(name=f"F_{tag}", subjects=[f"f.{tag}"]))
            await js.add_consumer(f"F_{tag}", ConsumerConfig(durable_name=f"d{tag}"))
            for n in range(3):
                await js.publish(f"f.{tag}", str(n).encode())
            sub = await js.pull_subscribe_bind(durable=f"d{tag}", stream=f"F_{tag}")
            got: list[Msg] = []
            for _ in range(10):  # a pull may return part of what is there; the rest follows
                got += await fetch_batch(sub, 10, timeout=2.0)
                if len(got) >= 3:
                    break
            assert [m.data for m in got] == [b"0", b"1", b"2"]
            for m in got:
                await m.ack()
            assert await fetch_batch(sub, 10, timeout=0.2) == []
        finally:
            await nc.close()

    asyncio.run(scenario())


class StalledSubscription:
    """A pull whose fetch never returns, as nats-py's did once in CI."""

    def __init__(self) -> None:
        self.cancelled = False

    async def fetch(self, batch: int, timeout: float) -> list[object]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


def test_a_stalled_fetch_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "FETCH_GRACE_S", 0.05)
    sub = StalledSubscription()
    assert asyncio.run(fetch_batch(sub, 10, timeout=0.05)) == []  # type: ignore[arg-type]
    assert sub.cancelled

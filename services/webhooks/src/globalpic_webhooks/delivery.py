"""The delivery loop: POST each due delivery, signed, and record how it went.

``deliver_due`` claims one batch and attempts it (what the tests drive, on a fake clock and
a fake transport); ``run`` keeps up to ``concurrency`` attempts in flight, claims more as
they finish, and sleeps until ``wake()`` (a new row) or ``poll_interval_s``. Redirects are
not followed (a 3xx is a failure, per the spec), the answer's body is never read, and every
connection goes through the SSRF guard (``urls.guarded_transport``).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import httpx

from globalpic_webhooks import metrics
from globalpic_webhooks.outbox import Attempt, Claimed, Clock, Outbox
from globalpic_webhooks.signing import signed_headers

log = logging.getLogger(__name__)

ERROR_BACKOFF_S = 5.0  # the database failed under the loop: wait this long
MAX_RETRY_AFTER_S = 24 * 3600.0


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the delay form only; a date is ignored)."""
    value = response.headers.get("retry-after", "").strip()
    if not value.isdecimal():
        return None
    return min(float(value), MAX_RETRY_AFTER_S)


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 32,
        concurrency: int = 16,
        lease_s: float = 60.0,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def clock(self) -> Clock:
        return self.outbox.clock

    def wake(self) -> None:
        """New deliveries are due: look now (call it on the loop's thread)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def attempt(self, claimed: Claimed) -> Attempt:
        """One signed POST; never raises for what the receiver or the network did."""
        body = claimed.payload.encode()
        timestamp = int(self.clock().timestamp())
        headers = signed_headers(claimed.secret, claimed.message_id, timestamp, body)
        try:
            async with self.client.stream(
                "POST", claimed.url, content=body, headers=headers, follow_redirects=False
            ) as response:
                code = response.status_code
                if 200 <= code < 300:
                    return Attempt(code)
                return Attempt(code, f"HTTP {code}", retry_after(response))
        except httpx.TimeoutException as exc:
            return Attempt(None, f"timeout ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:500])

    async def _one(self, claimed: Claimed) -> None:
        attempt = await self.attempt(claimed)
        try:
            status = await asyncio.to_thread(self.outbox.finish, claimed, attempt)
        except Exception:
            # The row stays claimed: its lease ends and it is attempted again (same id).
            log.exception("recording attempt of %s failed", claimed.message_id)
            return
        metrics.attempted(attempt, status)
        if not attempt.ok:
            log.info(
                "delivery %s to %s failed (%s); now %s",
                claimed.message_id,
                claimed.endpoint_id,
                attempt.error,
                status.value if status else "gone",
            )

    async def deliver_due(self) -> int:
        """Claim one batch of due deliveries and attempt each; how many were claimed."""
        claimed = await asyncio.to_thread(self.outbox.claim, self.batch_size, self.lease_s)
        await asyncio.gather(*(self._one(c) for c in claimed))
        return len(claimed)

    async def run(self) -> None:
        """Deliver until ``stop()``; attempts in flight are finished before it returns."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                room = min(self.batch_size, self.concurrency - len(in_flight))
                claimed: list[Claimed] = []
                if room > 0:
                    self._wake.clear()
                    try:
                        claimed = await asyncio.to_thread(self.outbox.claim, room, self.lease_s)
                    except Exception:
                        log.exception("claiming deliveries failed; trying again")
                        await self._pause(ERROR_BACKOFF_S)
                        continue
                for c in claimed:
                    task = asyncio.create_task(self._one(c), name=f"deliver-{c.message_id}")
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if claimed and len(claimed) == room:
                    continue  # more may be due: claim again while there is room
                await self._idle(in_flight)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _idle(self, in_flight: set[asyncio.Task[None]]) -> None:
        """Until a slot frees (when full), a wake, a stop, or the poll interval."""
        waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wake.wait())}
        if len(in_flight) >= self.concurrency:
            waits |= set(in_flight)  # type: ignore[arg-type]
        try:
            await asyncio.wait(
                waits, timeout=self.poll_interval_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waits:
                if waiter not in in_flight:
                    waiter.cancel()

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

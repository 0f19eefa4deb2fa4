"""The delivery rows as a queue: claim the due ones, record each attempt, schedule retries.

Claiming is a short transaction: the due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
replicas never claim the same row; SQLite's ``BEGIN IMMEDIATE`` serialises the one worker)
get ``next_attempt_at`` pushed a lease ahead, and the POSTs happen outside any transaction.
A worker that dies mid-attempt leaves the row due again when its lease ends: it is sent again,
with the same ``webhook-id`` (at-least-once; receivers dedupe by the id, as the spec says).

Retries (``RetryPolicy``): after the n-th failed attempt wait ``schedule[n-1]`` (the last value
repeats), stretched by up to ``jitter`` at random and at least the receiver's ``Retry-After``;
no attempt later than ``give_up_after`` from the first one (the last wait is cut to land on
it); past it the delivery is ``failed``. ``410 Gone`` fails it at once and disables the
endpoint (the spec: the receiver wants no more).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select, update

from globalpic_db.clock import utcnow
from globalpic_webhooks.db import transaction
from globalpic_webhooks.models import Delivery, DeliveryStatus, Endpoint

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_ERROR = 500
GONE = 410


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: Sequence[float]
    give_up_after_s: float
    jitter: float = 0.0
    random: Callable[[], float] = field(default=random.random, compare=False)

    def next_attempt(
        self,
        first_attempt_at: datetime,
        now: datetime,
        attempts: int,
        retry_after_s: float | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts`` attempts failed, the last one ``now``;
        ``None``: give up."""
        deadline = first_attempt_at + timedelta(seconds=self.give_up_after_s)
        if now >= deadline:
            return None
        wait = self.schedule_s[min(max(attempts, 1), len(self.schedule_s)) - 1]
        wait *= 1.0 + self.jitter * self.random()
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return min(now + timedelta(seconds=wait), deadline)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with what the attempt needs."""

    id: int
    message_id: str
    endpoint_id: str
    url: str
    secret: str
    payload: str
    attempts: int  # before this attempt


@dataclass(frozen=True)
class Attempt:
    """How one POST went: the answer's status (``None``: no answer) and why it failed."""

    status_code: int | None
    error: str = ""
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Outbox:
    def __init__(self, engine: Engine, retry: RetryPolicy, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.retry = retry
        self.clock = clock

    def claim(self, limit: int, lease_s: float) -> list[Claimed]:
        """Up to ``limit`` due deliveries, oldest due first, each leased for ``lease_s``."""
        if limit <= 0:
            return []
        now = self.clock()
        claimed: list[Claimed] = []
        with transaction(self.engine) as session:
            query = (
                select(Delivery, Endpoint)
                .join(Endpoint, col(Endpoint.id) == col(Delivery.endpoint_id))
                .where(
                    Delivery.status == DeliveryStatus.PENDING.value,
                    col(Delivery.next_attempt_at) <= now,
                )
                .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Delivery)  # type: ignore[arg-type]
            for delivery, endpoint in session.exec(query).all():
                assert delivery.id is not None
                if endpoint.disabled:
                    _fail(delivery, "the endpoint is disabled")
                    continue
                if delivery.first_attempt_at is None:
                    delivery.first_attempt_at = now
                delivery.next_attempt_at = now + timedelta(seconds=lease_s)
                session.add(delivery)
                claimed.append(
                    Claimed(
                        id=delivery.id,
                        message_id=delivery.message_id,
                        endpoint_id=endpoint.id,
                        url=endpoint.url,
                        secret=endpoint.secret,
                        payload=delivery.payload,
                        attempts=delivery.attempts,
                    )
                )
        return claimed

    def finish(self, claimed: Claimed, attempt: Attempt) -> DeliveryStatus | None:
        """Record the attempt; the delivery's status after it (``None``: the row is gone, or
        another worker recorded this attempt after our lease ran out)."""
        now = self.clock()
        with transaction(self.engine) as session:
            delivery = session.get(Delivery, claimed.id, with_for_update=True)
            if (
                delivery is None
                or delivery.status != DeliveryStatus.PENDING.value
                or delivery.attempts != claimed.attempts
            ):
                return None
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = attempt.status_code
            delivery.last_error = attempt.error[:MAX_ERROR]
            if attempt.ok:
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.delivered_at = now
                delivery.next_attempt_at = None
            elif attempt.status_code == GONE:
                _fail(delivery, "410 Gone: the endpoint is disabled")
                session.execute(
                    update(Endpoint)
                    .where(col(Endpoint.id) == claimed.endpoint_id)
                    .values(disabled=True)
                )
                session.execute(
                    update(Delivery)
                    .where(
                        col(Delivery.endpoint_id) == claimed.endpoint_id,
                        col(Delivery.status) == DeliveryStatus.PENDING.value,
                        col(Delivery.id) != claimed.id,
                    )
                    .values(
                        status=DeliveryStatus.FAILED.value,
                        next_attempt_at=None,
                        last_error="the endpoint is disabled",
                    )
                )
            else:
                first = delivery.first_attempt_at or now
                due = self.retry.next_attempt(first, now, delivery.attempts, attempt.retry_after_s)
                if due is None:
                    delivery.status = DeliveryStatus.FAILED.value
                    delivery.next_attempt_at = None
                else:
                    delivery.next_attempt_at = due
            session.add(delivery)
            status = DeliveryStatus(delivery.status)
        return status


def _fail(delivery: Delivery, why: str) -> None:
    delivery.status = DeliveryStatus.FAILED.value
    delivery.next_attempt_at = None
    delivery.last_error = why[:MAX_ERROR]

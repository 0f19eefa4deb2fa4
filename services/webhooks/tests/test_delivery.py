"""Delivery attempts on a manual clock with a scripted receiver (httpx's MockTransport): the
retry schedule to the 24 h cut-off, the same webhook-id on every attempt, signatures, 410
Gone, Retry-After, and a worker that dies mid-attempt (lease) or finishes too late. No
sleeping: the clock is moved to each attempt's due time."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from globalpic_webhooks.delivery import Deliverer
from globalpic_webhooks.events import from_progress
from globalpic_webhooks.models import Delivery, Endpoint
from globalpic_webhooks.outbox import Attempt, Outbox, RetryPolicy
from globalpic_webhooks.settings import DAY_S, DEFAULT_RETRY_SCHEDULE_S
from globalpic_webhooks.signing import sign
from globalpic_webhooks.store import WebhookStore
from services.webhooks.tests.helpers import (
    PUBLIC_URL,
    START,
    ManualClock,
    ScriptedReceiver,
    image_done,
)

LEASE_S = 60.0
# Seconds after the first attempt at which each attempt happens with the default schedule:
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then the last wait is cut to land on 24 h.
TIMELINE = [0, 5, 305, 2105, 9305, 27305, 63305, 86400]


def _deliverer(outbox: Outbox, receiver: ScriptedReceiver) -> Deliverer:
    client = httpx.AsyncClient(transport=receiver.transport())
    return Deliverer(outbox, client, batch_size=10, concurrency=4, lease_s=LEASE_S)


def _run(deliverer: Deliverer) -> int:
    return asyncio.run(deliverer.deliver_due())


def _delivery(engine: Engine) -> Delivery:
    with Session(engine) as session:
        return session.exec(select(Delivery)).one()


def _queue_one(store: WebhookStore, clock: ManualClock, job: str = "job1") -> Endpoint:
    endpoint = store.create_endpoint("acme", PUBLIC_URL, ["image.completed"])
    clock.advance(1)
    event = from_progress(image_done(job, 0), clock())
    assert event is not None
    assert store.record(event).inserted == 1
    return endpoint


def _advance_to_due(clock: ManualClock, engine: Engine) -> None:
    due = _delivery(engine).next_attempt_at
    assert due is not None
    clock.now = due


def test_the_retry_schedule_runs_to_the_day_and_then_fails() -> None:
    policy = RetryPolicy(DEFAULT_RETRY_SCHEDULE_S, DAY_S)
    first = now = START
    seen = [0.0]
    attempts = 1
    while (due := policy.next_attempt(first, now, attempts)) is not None:
        seen.append((due - first).total_seconds())
        now, attempts = due, attempts + 1
    assert seen == TIMELINE
    # jitter stretches a wait by up to its fraction, never past the day
    jittered = RetryPolicy(DEFAULT_RETRY_SCHEDULE_S, DAY_S, jitter=0.1, random=lambda: 1.0)
    assert jittered.next_attempt(first, first, 1) == first + timedelta(seconds=5.5)
    late = first + timedelta(hours=20)
    assert jittered.next_attempt(first, late, 7) == first + timedelta(days=1)
    # a receiver's Retry-After is honoured when longer than the schedule's wait
    assert policy.next_attempt(first, first, 1, retry_after_s=90) == first + timedelta(seconds=90)


def test_a_failing_receiver_gets_every_retry_with_the_same_webhook_id_then_failed(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    endpoint = _queue_one(store, clock)
    receiver = ScriptedReceiver(then=500)
    deliverer = _deliverer(outbox, receiver)
    first = clock()
    times: list[float] = []
    while _delivery(engine).status == "pending":
        _advance_to_due(clock, engine)
        clock.advance(-0.5)
        assert _run(deliverer) == 0  # not due half a second early
        clock.advance(0.5)
        times.append((clock() - first).total_seconds())
        assert _run(deliverer) == 1
    assert times == TIMELINE
    row = _delivery(engine)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 8, 500)
    assert row.last_error == "HTTP 500" and row.next_attempt_at is None
    assert set(receiver.ids()) == {row.message_id}  # one webhook-id on all 8 attempts
    for request, offset in zip(receiver.received, TIMELINE, strict=True):
        timestamp = int((first + timedelta(seconds=offset)).timestamp())
        assert request.headers["webhook-timestamp"] == str(timestamp)
        assert request.body == row.payload.encode()  # the same body, byte for byte
        expected = sign(endpoint.secret, row.message_id, timestamp, request.body)
        assert request.headers["webhook-signature"] == expected
        assert request.url == PUBLIC_URL
    clock.advance(7 * DAY_S)
    assert _run(deliverer) == 0  # failed is final


@pytest.mark.parametrize("failures", [[500], [0, -1, 302, 404], [503, 503, 429]])
def test_a_receiver_that_fails_then_accepts_gets_it_delivered(
    engine: Engine,
    store: WebhookStore,
    outbox: Outbox,
    clock: ManualClock,
    failures: list[int],
) -> None:
    _queue_one(store, clock)
    receiver = ScriptedReceiver(script=list(failures), then=204)
    deliverer = _deliverer(outbox, receiver)
    errors: list[str] = []
    for _ in failures:
        _advance_to_due(clock, engine)
        assert _run(deliverer) == 1
        errors.append(_delivery(engine).last_error)
    _advance_to_due(clock, engine)
    assert _run(deliverer) == 1
    row = _delivery(engine)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", len(failures) + 1, 204)
    assert row.delivered_at == clock() and row.last_error == ""
    assert len(receiver.received) == len(failures) + 1 and len(set(receiver.ids())) == 1
    if 0 in failures:
        assert errors[0].startswith("ConnectError") and errors[1].startswith("timeout")
        assert errors[2] == "HTTP 302"  # a redirect is not followed: a failure
    clock.advance(DAY_S)
    assert _run(deliverer) == 0


def test_retry_after_pushes_the_next_attempt(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    _queue_one(store, clock)
    deliverer = _deliverer(outbox, ScriptedReceiver(script=[503], retry_after="120"))
    _advance_to_due(clock, engine)
    attempted_at = clock()
    assert _run(deliverer) == 1
    assert _delivery(engine).next_attempt_at == attempted_at + timedelta(seconds=120)


def test_410_gone_fails_and_disables_the_endpoint(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    endpoint = _queue_one(store, clock, "job1")
    later = from_progress(image_done("job2", 0), clock())
    assert later is not None and store.record(later).inserted == 1
    receiver = ScriptedReceiver(then=410)
    deliverer = Deliverer(
        outbox, httpx.AsyncClient(transport=receiver.transport()), batch_size=1, lease_s=LEASE_S
    )
    assert _run(deliverer) == 1
    assert _run(deliverer) == 0  # the other one failed with its endpoint
    with Session(engine) as session:
        rows = session.exec(select(Delivery)).all()
        assert {(r.status, r.attempts) for r in rows} == {("failed", 1), ("failed", 0)}
        assert session.get(Endpoint, endpoint.id).disabled  # type: ignore[union-attr]
    newer = from_progress(image_done("job3", 0), clock())
    assert newer is not None and store.record(newer).matched == 0
    assert len(receiver.received) == 1


def test_a_worker_that_dies_mid_attempt_leaves_it_due_after_the_lease(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    _queue_one(store, clock)
    [lost] = outbox.claim(10, LEASE_S)  # the worker POSTs and dies: nothing recorded
    restarted = Outbox(engine, outbox.retry, clock=clock)  # a new process, the same rows
    assert restarted.claim(10, LEASE_S) == []  # leased
    clock.advance(LEASE_S)
    receiver = ScriptedReceiver(then=200)
    assert _run(_deliverer(restarted, receiver)) == 1
    row = _delivery(engine)
    assert row.status == "delivered" and row.attempts == 1
    assert receiver.ids() == [lost.message_id]  # the same webhook-id as the lost attempt
    # the dead worker's answer arriving after all changes nothing
    assert outbox.finish(lost, Attempt(500, "HTTP 500")) is None
    assert _delivery(engine).status == "delivered"


def test_a_deleted_endpoint_in_flight_is_dropped(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    endpoint = _queue_one(store, clock)
    [claimed] = outbox.claim(10, LEASE_S)
    store.delete_endpoint("acme", endpoint.id)
    assert outbox.finish(claimed, Attempt(200)) is None


# PostgreSQL only: SQLite runs one worker, its transactions serialise (nothing to skip).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_workers_skip_the_rows_another_one_holds(
    engine: Engine, store: WebhookStore, outbox: Outbox, clock: ManualClock
) -> None:
    store.create_endpoint("acme", PUBLIC_URL, ["image.completed"])
    clock.advance(1)
    for n in range(3):
        event = from_progress(image_done("job1", n), clock())
        assert event is not None
        store.record(event)
    with engine.connect() as other:
        other.execute(sa.text("SET lock_timeout = '5s'"))
        held = other.execute(
            sa.text("SELECT id FROM webhooks_delivery ORDER BY id LIMIT 1 FOR UPDATE")
        ).scalar_one()
        claimed = outbox.claim(10, LEASE_S)  # does not wait for the other transaction
        assert (
            sorted(c.id for c in claimed) == sorted(i for i in _ids(engine) if i != held)
            and len(claimed) == 2
        )
        other.rollback()
    assert [c.id for c in outbox.claim(10, LEASE_S)] == [held]


def _ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return [int(i) for i in session.exec(select(Delivery.id))]  # type: ignore[arg-type]


def test_payload_is_the_standard_webhooks_shape(
    engine: Engine, store: WebhookStore, clock: ManualClock
) -> None:
    _queue_one(store, clock)
    body = json.loads(_delivery(engine).payload)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"].endswith("Z")

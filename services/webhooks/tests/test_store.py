"""Endpoints (create, list, delete, scoped by team, limits) and job events becoming delivery
rows once per endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from globalpic_common.errors import BadInputError, NotFoundError
from globalpic_jobs.models import ImageState, JobStatus
from globalpic_webhooks.events import from_completed, from_progress
from globalpic_webhooks.models import Delivery
from globalpic_webhooks.store import WebhookStore
from services.webhooks.tests.helpers import (
    PUBLIC_URL,
    START,
    ManualClock,
    image_done,
    job_done,
)

ALL = ["job.completed", "job.failed", "image.completed"]


def _rows(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))  # type: ignore[arg-type]


def test_endpoints_are_created_listed_and_deleted_per_team(
    store: WebhookStore, clock: ManualClock
) -> None:
    first = store.create_endpoint("acme", PUBLIC_URL, ["job.completed", "job.completed"], " CI ")
    assert first.id.startswith("ep_") and first.secret.startswith("whsec_")
    assert first.event_types == ["job.completed"] and first.description == "CI"
    clock.advance(1)
    second = store.create_endpoint("acme", PUBLIC_URL + "/2", ALL)
    store.create_endpoint("other", PUBLIC_URL, ALL)
    listed = store.list_endpoints("acme")
    assert [e.id for e in listed] == [first.id, second.id]
    assert listed[0].secret == first.secret  # readable again, for verification
    with pytest.raises(NotFoundError) as hidden:
        store.delete_endpoint("other", first.id)  # another team's id: not found
    assert hidden.value.code == "not_found"
    store.delete_endpoint("acme", first.id)
    assert [e.id for e in store.list_endpoints("acme")] == [second.id]
    with pytest.raises(NotFoundError):
        store.delete_endpoint("acme", first.id)


@pytest.mark.parametrize(
    ("events", "description", "why"),
    [
        ([], "", "at least one event type"),
        (["job.started"], "", "unknown event type"),
        (["webhook.test"], "", "unknown event type"),
        (["job.completed"], "x" * 501, "description"),
    ],
)
def test_bad_endpoints_are_refused_with_bad_option(
    store: WebhookStore, events: list[str], description: str, why: str
) -> None:
    with pytest.raises(BadInputError) as refused:
        store.create_endpoint("acme", PUBLIC_URL, events, description)
    assert refused.value.code == "bad_option" and why in refused.value.message
    assert store.list_endpoints("acme") == []


def test_a_team_has_a_limited_number_of_endpoints(engine: Engine, store: WebhookStore) -> None:
    limited = WebhookStore(engine, store.policy, max_endpoints=2, clock=store.clock)
    limited.create_endpoint("acme", PUBLIC_URL, ALL)
    limited.create_endpoint("acme", PUBLIC_URL, ALL)
    with pytest.raises(BadInputError, match="at most 2"):
        limited.create_endpoint("acme", PUBLIC_URL, ALL)
    limited.create_endpoint("other", PUBLIC_URL, ALL)  # per team


def test_events_become_one_row_per_subscribed_endpoint_once(
    engine: Engine, store: WebhookStore, clock: ManualClock
) -> None:
    everything = store.create_endpoint("acme", PUBLIC_URL, ALL)
    jobs_only = store.create_endpoint("acme", PUBLIC_URL, ["job.completed", "job.failed"])
    store.create_endpoint("other", PUBLIC_URL, ALL)  # another team: never
    clock.advance(60)
    at = clock()
    image = from_progress(image_done("job1", 0), at)
    job = from_completed(job_done("job1"))
    assert image is not None and job is not None
    assert (store.record(image).inserted, store.record(job).inserted) == (1, 2)
    # the same events again (a NATS redelivery, a runner's second done): nothing new
    again = from_progress(image_done("job1", 0), at)
    assert again is not None and again.message_id == image.message_id
    recorded = store.record(again)
    assert (recorded.matched, recorded.inserted) == (1, 0)
    assert store.record(job).inserted == 0
    rows = _rows(engine)
    assert sorted((r.endpoint_id, r.event_type) for r in rows) == sorted(
        [
            (everything.id, "image.completed"),
            (everything.id, "job.completed"),
            (jobs_only.id, "job.completed"),
        ]
    )
    assert all(r.status == "pending" and r.next_attempt_at == at for r in rows)
    # both endpoints get the job event under one webhook-id
    assert len({r.message_id for r in rows if r.event_type == "job.completed"}) == 1
    body = json.loads(next(r.payload for r in rows if r.event_type == "image.completed"))
    assert body["type"] == "image.completed" and body["data"]["job_id"] == "job1"
    assert body["data"]["result_path"] == "/v1/jobs/job1/images/0/result"


def test_what_is_not_an_event_of_a_subscriber_makes_no_row(
    engine: Engine, store: WebhookStore, clock: ManualClock
) -> None:
    store.create_endpoint("acme", PUBLIC_URL, ["image.completed"])
    clock.advance(60)
    at = clock()
    assert from_progress(image_done("j", 0, state=ImageState.FAILED), at) is None
    assert from_progress(image_done("j", 0, state=ImageState.RUNNING, stage="remix"), at) is None  # type: ignore[arg-type]
    failed = from_completed(job_done("j", status=JobStatus.FAILED))
    assert failed is not None and failed.type == "job.failed"
    assert store.record(failed).matched == 0  # not subscribed to job.failed
    assert from_completed(job_done("j", status=JobStatus.RUNNING)) is None
    # an event from before the endpoint existed (an old message still in the stream)
    old = from_progress(image_done("j", 1), START - timedelta(seconds=1))
    assert old is not None and store.record(old).matched == 0
    assert _rows(engine) == []


def test_deliveries_are_listed_newest_first_a_page_at_a_time(
    store: WebhookStore, clock: ManualClock
) -> None:
    endpoint = store.create_endpoint("acme", PUBLIC_URL, ["image.completed"])
    clock.advance(60)
    for n in range(5):
        event = from_progress(image_done("job1", n), clock())
        assert event is not None
        store.record(event)
    first, token = store.list_deliveries("acme", endpoint.id, page_size=2)
    second, token2 = store.list_deliveries("acme", endpoint.id, page_size=2, page_token=token)
    third, token3 = store.list_deliveries("acme", endpoint.id, page_size=2, page_token=token2)
    images = [json.loads(d.payload)["data"]["image"] for d in (*first, *second, *third)]
    assert images == [4, 3, 2, 1, 0] and token3 == ""
    with pytest.raises(NotFoundError):
        store.list_deliveries("other", endpoint.id)
    with pytest.raises(BadInputError):
        store.list_deliveries("acme", endpoint.id, page_token="not-a-token")
    with pytest.raises(BadInputError):
        store.list_deliveries("acme", endpoint.id, page_size=101)


def test_a_test_event_is_queued_for_the_endpoint_named(engine: Engine, store: WebhookStore) -> None:
    endpoint = store.create_endpoint("acme", PUBLIC_URL, ["job.completed"])
    one = store.send_test("acme", endpoint.id)
    two = store.send_test("acme", endpoint.id)
    assert one.message_id != two.message_id and one.event_type == "webhook.test"
    assert json.loads(one.payload)["data"]["endpoint_id"] == endpoint.id
    with pytest.raises(NotFoundError):
        store.send_test("other", endpoint.id)
    store.delete_endpoint("acme", endpoint.id)
    assert _rows(engine) == []  # its deliveries went with it

"""The service over gRPC with ``WebhooksClient``: errors keep their stable codes across the
wire; and the process's worker sends a SendTest event to a real HTTP receiver on loopback,
signed so that the reference library verifies it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook

from globalpic_clients.webhooks import WebhooksClient
from globalpic_common.errors import BadInputError, NotFoundError
from globalpic_common.grpc_server import ServiceServer
from globalpic_webhooks import db
from globalpic_webhooks.server import HEALTH_NAME, Webhooks, registrar
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.worker import Worker
from tests.support.webhooks_stack import receiving

WAIT_S = 30.0


@dataclass
class Receiver:
    """An HTTP receiver on loopback answering ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def wait_for(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, WAIT_S)
            return list(self.received)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.arrived:
            self.received.append((headers, body))
            self.arrived.notify_all()
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    with receiving(state.answer, "/hook") as url:
        state.url = url
        yield state


@dataclass
class Stack:
    client: WebhooksClient
    worker: Worker


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[Stack]:
    settings = WebhooksSettings(
        database_url=sqlite_url,
        allow_loopback=True,
        consume_events=False,  # no NATS here: SendTest makes the deliveries
        retry_schedule_s=[0.05],
        poll_interval_s=0.05,
        retry_jitter=0,
    )
    db.migrate(sqlite_url)
    webhooks = Webhooks.build(settings)
    worker = Worker(webhooks.store, settings)
    server = ServiceServer(
        "webhooks",
        registrar(webhooks, worker.nudge),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    worker.start()
    server.set_serving()
    client = WebhooksClient(f"127.0.0.1:{server.port}")
    try:
        client.load()
        yield Stack(client, worker)
    finally:
        client.close()
        server.stop()
        worker.stop()
        webhooks.store.engine.dispose()


def test_endpoints_over_grpc_keep_their_error_codes(stack: Stack) -> None:
    client = stack.client
    created = client.create_endpoint("acme", "http://127.0.0.1:9/hook", ["job.completed"], "ci")
    assert created.id.startswith("ep_") and created.secret.startswith("whsec_")
    assert created.created_at.endswith("Z") and list(created.event_types) == ["job.completed"]
    listed = client.list_endpoints("acme").endpoints
    assert [e.id for e in listed] == [created.id] and listed[0].secret == created.secret
    assert client.list_endpoints("other").endpoints == []
    with pytest.raises(BadInputError) as refused:
        client.create_endpoint("acme", "https://10.0.0.1/hook", ["job.completed"])
    assert refused.value.code == "bad_option" and "private" in refused.value.message
    with pytest.raises(BadInputError) as unknown:
        client.create_endpoint("acme", "http://127.0.0.1:9/", ["job.exploded"])
    assert unknown.value.code == "bad_option"
    with pytest.raises(NotFoundError) as missing:
        client.delete_endpoint("other", created.id)
    assert missing.value.code == "not_found"
    with pytest.raises(NotFoundError):
        client.list_deliveries("other", created.id)
    client.delete_endpoint("acme", created.id)
    assert client.list_endpoints("acme").endpoints == []


def test_send_test_reaches_a_real_receiver_signed_after_a_retry(
    stack: Stack, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    endpoint = stack.client.create_endpoint("acme", receiver.url, ["image.completed"])
    queued = stack.client.send_test("acme", endpoint.id)
    assert queued.status == "pending" and queued.event_type == "webhook.test"
    (first, body1), (second, body2) = receiver.wait_for(2)
    assert first["webhook-id"] == second["webhook-id"] == queued.id
    assert body1 == body2 == queued.payload.encode()
    verified = Webhook(endpoint.secret).verify(body2, second)
    assert verified["type"] == "webhook.test" and verified["data"]["endpoint_id"] == endpoint.id
    # the listing catches up with the second attempt (recorded just after the answer)
    for _ in range(200):
        [delivery] = stack.client.list_deliveries("acme", endpoint.id).deliveries
        if delivery.status == "delivered":
            break
        threading.Event().wait(0.05)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.delivered_at and not delivery.next_attempt_at


def test_settings_refuse_loopback_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    with pytest.raises(ValidationError, match="ALLOW_LOOPBACK"):
        WebhooksSettings(allow_loopback=True)
    assert WebhooksSettings().port == 50063
    with pytest.raises(ValidationError, match="CLAIM_LEASE_S"):
        WebhooksSettings(claim_lease_s=5)
    with pytest.raises(ValidationError):
        WebhooksSettings(retry_schedule_s=[5, 0])

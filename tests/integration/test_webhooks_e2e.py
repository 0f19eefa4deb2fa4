"""Webhooks end to end (issue 16): the real auth, billing and webhooks services (processes),
the gateway and a runner with tiny models in this process, PostgreSQL, NATS, and a receiver
on loopback that fails its first requests. A signed-in owner registers the receiver through
the gateway, a job runs, the webhooks service is killed (SIGKILL) while it is retrying and
started again: the receiver gets ``job.completed`` and ``image.completed`` accepted exactly
once each, every retry of an event under the same ``webhook-id``, each signature verified by
the Standard Webhooks reference library."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from globalpic_gateway.core.config import GatewaySettings
from tests.support.accounts_stack import accounts_stack, signed_in, with_accounts
from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    storage_at,
)
from tests.support.webhooks_stack import WebhooksProcess, webhooks_service
from tests.support.webhooks_stack import receiving as receive_at

PASSWORD = "correct horse battery staple"
FAILURES = 8  # the receiver's first answers: 500 (the kill comes after the 2nd)
WAIT_S = 180.0


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def type(self) -> str:
        return str(json.loads(self.body)["type"])


@dataclass
class Receiver:
    """Answers 500 to its first ``failures`` requests, then 200; keeps every request."""

    failures: int
    hits: list[Hit] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.changed:
            status = 500 if len(self.hits) < self.failures else 200
            self.hits.append(Hit(headers, body, status))
            self.changed.notify_all()
            return status

    def wait(self, done: Any, timeout: float = WAIT_S) -> list[Hit]:
        with self.changed:
            assert self.changed.wait_for(lambda: done(self.hits), timeout), self.hits
            return list(self.hits)


@contextmanager
def receiving(failures: int) -> Iterator[Receiver]:
    receiver = Receiver(failures)
    with receive_at(receiver.answer, "/globalpic") as url:
        receiver.url = url
        yield receiver


@contextmanager
def fast_webhooks_service(
    tmp_path: Path, database_url: str, nats_url: str, gateway: GatewaySettings
) -> Iterator[WebhooksProcess]:
    """The service with its retry schedule in fractions of a second (the schedule's shape)."""
    with webhooks_service(
        tmp_path,
        database_url,
        nats_url,
        (gateway.events_stream, gateway.events_subject_prefix),
        RETRY_SCHEDULE_S="[0.2, 0.4, 0.8]",
        RETRY_JITTER="0",
        POLL_INTERVAL_S="0.1",
        REQUEST_TIMEOUT_S="2",
        CLAIM_LEASE_S="3",
    ) as service:
        yield service


def test_job_events_reach_a_flaky_receiver_once_each_across_a_restart(
    tmp_path: Path, postgres_url: str, nats_url: str, tiny_models_env: Path
) -> None:
    base, keys = harness_settings(postgres_url, nats_url, ack_wait_seconds=2.0)
    with ExitStack() as exits:
        stack = exits.enter_context(accounts_stack(tmp_path, postgres_url, nats_url, base))
        service = exits.enter_context(fast_webhooks_service(tmp_path, postgres_url, nats_url, base))
        receiver = exits.enter_context(receiving(FAILURES))
        settings = with_accounts(base, stack, webhooks_addr=f"127.0.0.1:{service.port}")

        async def scenario() -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
            storage = storage_at(tmp_path / "storage")
            async with running_gateway(settings, keys, storage, port=stack.gateway_port) as gw:
                owner, _pair = await signed_in(gw.base_url, stack, "hooks@example.com", PASSWORD)
                async with owner:
                    created = await owner.post(
                        "/v1/webhooks",
                        json={"url": receiver.url, "events": ["job.completed", "image.completed"]},
                    )
                    assert created.status_code == 201, created.text
                    endpoint = created.json()

                    await gw.start_runner(embedded_processor())
                    files = [("images", ("p0.jpg", photo_bytes(512), "image/jpeg"))]
                    submitted = await owner.post("/v1/jobs", files=files, data={"ops": "extract"})
                    assert submitted.status_code == 202, submitted.text
                    job_id = submitted.json()["id"]
                    job = await job_finished(owner, job_id)
                    assert job["status"] == "completed", job

                    # mid-way: failures answered, retries pending; kill -9 and start again
                    await asyncio.to_thread(receiver.wait, lambda hits: len(hits) >= 2)
                    await asyncio.to_thread(service.kill)
                    await asyncio.to_thread(service.start)

                    def both_accepted(hits: list[Hit]) -> bool:
                        accepted = {h.type for h in hits if h.status == 200}
                        return accepted == {"job.completed", "image.completed"}

                    await asyncio.to_thread(receiver.wait, both_accepted)
                    return endpoint, job_id, await _settled(owner, endpoint["id"])

        endpoint, job_id, deliveries = asyncio.run(scenario())

    hits = receiver.hits
    accepted = [h for h in hits if h.status == 200]
    assert sorted(h.type for h in accepted) == ["image.completed", "job.completed"]
    assert sum(h.status == 500 for h in hits) == FAILURES
    for kind in ("job.completed", "image.completed"):
        ids = {h.headers["webhook-id"] for h in hits if h.type == kind}
        assert len(ids) == 1, (kind, ids)  # every retry under the same webhook-id
    verifier = Webhook(endpoint["secret"])
    for hit in hits:
        verifier.verify(hit.body, hit.headers)  # raises if the signature does not match
    bodies = {h.type: json.loads(h.body) for h in accepted}
    assert bodies["job.completed"]["data"]["job_id"] == job_id
    assert bodies["job.completed"]["data"]["completed"] == 1
    assert bodies["image.completed"]["data"]["image"] == 0
    # what the API says agrees: both delivered, the attempts the receiver counted
    by_type = {d["event_type"]: d for d in deliveries}
    assert set(by_type) == {"job.completed", "image.completed"}
    assert all(d["status"] == "delivered" for d in deliveries)
    # an attempt in flight when the service was killed is not recorded (both may be)
    assert len(hits) - 2 <= sum(d["attempts"] for d in deliveries) <= len(hits)
    for kind, delivery in by_type.items():
        assert delivery["id"] == next(h.headers["webhook-id"] for h in hits if h.type == kind)


async def _settled(api: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries once none is pending (recorded just after each answer)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        page = (await api.get(f"/v1/webhooks/{webhook_id}/deliveries")).json()
        deliveries: list[dict[str, Any]] = page["deliveries"]
        pending = [d for d in deliveries if d["status"] == "pending"]
        if (deliveries and not pending) or time.monotonic() > deadline:
            return deliveries
        await asyncio.sleep(0.1)

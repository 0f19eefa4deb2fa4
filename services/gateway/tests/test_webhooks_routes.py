"""``/v1/webhooks`` through the served gateway against the webhooks service (its gRPC server
in this process, on SQLite): owners and admins manage their team's endpoints, see the
signing secret, queue a test event and page through deliveries; members, API keys and other
teams do not; without ``webhooks_addr`` every route is ``404 webhooks_disabled``; the OpenAPI
document describes the routes and their problems."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError
from globalpic_common.grpc_server import ServiceServer
from globalpic_gateway.core.auth import Tenant
from globalpic_webhooks import db as webhooks_db
from globalpic_webhooks.server import HEALTH_NAME, Webhooks, registrar
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.store import WebhookStore
from globalpic_webhooks.urls import UrlPolicy
from tests.support.gateway_harness import (
    Harness,
    assert_problem,
    harness_settings,
    running_gateway,
    storage_at,
)

PUBLIC_URL = "https://hooks.example.com/globalpic"
DNS = {"hooks.example.com": ["93.184.215.14"], "intranet.example.com": ["10.1.2.3"]}

CALLERS = {
    "owner-a": Tenant("team-a", user_id="u1", role="owner", kind="access_token"),
    "admin-a": Tenant("team-a", user_id="u2", role="admin", kind="access_token"),
    "member-a": Tenant("team-a", user_id="u3", role="member", kind="access_token"),
    "key-a": Tenant("team-a", kind="api_key"),
    "owner-b": Tenant("team-b", user_id="u9", role="owner", kind="access_token"),
}


class RoleAuthenticator:
    """Access tokens of a fixed table (no auth service)."""

    async def authenticate(self, credential: str) -> Tenant:
        tenant = CALLERS.get(credential)
        if tenant is None:
            raise UnauthenticatedError("not valid", code=errors.UNAUTHORIZED)
        return tenant


@pytest.fixture
def webhooks_addr(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'webhooks.db'}"
    webhooks_db.migrate(url)
    settings = WebhooksSettings(database_url=url, consume_events=False, deliver=False)
    policy = UrlPolicy(allow_loopback=False, resolver=lambda host, port: DNS.get(host, []))
    store = WebhookStore(webhooks_db.make_engine(url), policy)
    server = ServiceServer(
        "webhooks",
        registrar(Webhooks(settings, store)),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    server.set_serving()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()
        store.engine.dispose()


def _as(gw: Harness, credential: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {credential}"}
    return httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=60)


def _run(
    tmp_path: Path,
    nats_url: str,
    scenario: Callable[[Harness], Awaitable[None]],
    **overrides: Any,
) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gateway.db'}", nats_url, **overrides)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            gw.state.authenticator = RoleAuthenticator()
            await scenario(gw)

    asyncio.run(main())


def test_managers_create_list_test_page_and_delete_endpoints(
    tmp_path: Path, nats_url: str, webhooks_addr: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with (
            _as(gw, "owner-a") as owner,
            _as(gw, "admin-a") as admin,
            _as(gw, "owner-b") as other,
        ):
            body = {"url": PUBLIC_URL, "events": ["job.completed", "image.completed"]}
            created = await owner.post("/v1/webhooks", json={**body, "description": "shop"})
            assert created.status_code == 201, created.text
            endpoint = created.json()
            assert endpoint["secret"].startswith("whsec_") and endpoint["id"].startswith("ep_")
            assert endpoint["events"] == ["job.completed", "image.completed"]
            assert endpoint["description"] == "shop" and endpoint["disabled"] is False
            webhook_id = endpoint["id"]

            listed = (await admin.get("/v1/webhooks")).json()["endpoints"]
            assert [(e["id"], e["secret"]) for e in listed] == [(webhook_id, endpoint["secret"])]
            assert (await other.get("/v1/webhooks")).json() == {"endpoints": []}
            assert_problem(await other.delete(f"/v1/webhooks/{webhook_id}"), 404, "not_found")
            assert_problem(await other.post(f"/v1/webhooks/{webhook_id}/test"), 404, "not_found")

            ids = []
            for _ in range(3):
                queued = await admin.post(f"/v1/webhooks/{webhook_id}/test")
                assert queued.status_code == 202, queued.text
                delivery = queued.json()
                assert delivery["status"] == "pending" and delivery["id"].startswith("msg_")
                assert delivery["payload"]["type"] == "webhook.test"
                assert delivery["attempts"] == 0 and delivery["delivered_at"] is None
                ids.append(delivery["id"])
            page1 = (await owner.get(f"/v1/webhooks/{webhook_id}/deliveries?limit=2")).json()
            assert [d["id"] for d in page1["deliveries"]] == ids[::-1][:2]
            cursor = page1["next_cursor"]
            page2 = (
                await owner.get(f"/v1/webhooks/{webhook_id}/deliveries?limit=2&cursor={cursor}")
            ).json()
            assert [d["id"] for d in page2["deliveries"]] == ids[:1]
            assert page2["next_cursor"] is None
            bad = await owner.get(f"/v1/webhooks/{webhook_id}/deliveries?cursor=nope")
            assert_problem(bad, 422, "bad_option")

            gone = await owner.delete(f"/v1/webhooks/{webhook_id}")
            assert gone.status_code == 204
            assert (await owner.get("/v1/webhooks")).json() == {"endpoints": []}
            again = await owner.get(f"/v1/webhooks/{webhook_id}/deliveries")
            assert_problem(again, 404, "not_found")

    _run(tmp_path, nats_url, scenario, webhooks_addr=webhooks_addr)


def test_unsafe_urls_and_unknown_events_are_refused(
    tmp_path: Path, nats_url: str, webhooks_addr: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with _as(gw, "owner-a") as owner:
            for url, why in [
                ("http://hooks.example.com/x", "https"),
                ("https://intranet.example.com/x", "private"),
                ("https://169.254.169.254/latest/meta-data/", "link-local"),
                ("https://127.0.0.1:8080/x", "loopback"),
                ("https://nowhere.example.com/x", "does not resolve"),
            ]:
                answer = await owner.post(
                    "/v1/webhooks", json={"url": url, "events": ["job.failed"]}
                )
                assert why in assert_problem(answer, 422, "bad_option")["detail"]
            unknown = await owner.post(
                "/v1/webhooks", json={"url": PUBLIC_URL, "events": ["job.exploded"]}
            )
            assert_problem(unknown, 422, "validation_error")
            empty = await owner.post("/v1/webhooks", json={"url": PUBLIC_URL, "events": []})
            assert_problem(empty, 422, "validation_error")
            assert (await owner.get("/v1/webhooks")).json() == {"endpoints": []}

    _run(tmp_path, nats_url, scenario, webhooks_addr=webhooks_addr)


def test_only_owners_and_admins_signed_in_manage_webhooks(
    tmp_path: Path, nats_url: str, webhooks_addr: str
) -> None:
    async def scenario(gw: Harness) -> None:
        body = {"url": PUBLIC_URL, "events": ["job.completed"]}
        for credential, status, code in [
            ("member-a", 403, "forbidden"),
            ("key-a", 403, "forbidden"),
            ("nobody", 401, "unauthorized"),
        ]:
            async with _as(gw, credential) as c:
                assert_problem(await c.post("/v1/webhooks", json=body), status, code)
                assert_problem(await c.get("/v1/webhooks"), status, code)
        async with gw.client(None) as anonymous:
            assert_problem(await anonymous.get("/v1/webhooks"), 401, "unauthorized")

    _run(tmp_path, nats_url, scenario, webhooks_addr=webhooks_addr)


def test_without_the_service_every_route_says_webhooks_disabled(
    tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with _as(gw, "owner-a") as owner:
            calls = [
                owner.post("/v1/webhooks", json={"url": PUBLIC_URL, "events": ["job.failed"]}),
                owner.get("/v1/webhooks"),
                owner.delete("/v1/webhooks/ep_1"),
                owner.post("/v1/webhooks/ep_1/test"),
                owner.get("/v1/webhooks/ep_1/deliveries"),
            ]
            for answer in await asyncio.gather(*calls):
                assert_problem(answer, 404, "webhooks_disabled")
        async with _as(gw, "member-a") as member:
            assert_problem(await member.get("/v1/webhooks"), 403, "forbidden")  # roles first

        async with gw.client(None) as anonymous:
            spec = (await anonymous.get("/openapi.json")).json()
        paths = spec["paths"]
        for path, method, statuses in [
            ("/v1/webhooks", "post", ("201", "401", "403", "404", "422", "503")),
            ("/v1/webhooks", "get", ("200", "401", "403", "404")),
            ("/v1/webhooks/{webhook_id}", "delete", ("204", "404")),
            ("/v1/webhooks/{webhook_id}/test", "post", ("202", "404")),
            ("/v1/webhooks/{webhook_id}/deliveries", "get", ("200", "404", "422")),
        ]:
            operation = paths[path][method]
            assert operation["tags"] == ["webhooks"]
            assert set(statuses) <= set(operation["responses"]), (path, method)
            problem = operation["responses"]["404"]["content"]
            assert problem["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
        secret = spec["components"]["schemas"]["WebhookEndpointOut"]["properties"]["secret"]
        assert "webhook-signature" in secret["description"]

    _run(tmp_path, nats_url, scenario)

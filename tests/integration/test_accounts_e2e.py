"""Accounts and billing end to end (issue 14): the real auth and billing services (processes),
the gateway and a runner with tiny models in this process, PostgreSQL, NATS, the Stripe
stand-in and a mail sink. Sign-up -> verify -> sign-in -> trial job -> quota -> Checkout ->
signed webhook -> paid jobs; racing submissions; a runner killed mid-image; roles, keys, teams;
and no secret in clear in the database or the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from globalpic_dev.mail_sink import first_link
from globalpic_dev.stripe_fake import sign_payload
from tests.support.accounts_stack import (
    AccountsStack,
    accounts_stack,
    pay,
    settled_usage,
    signed_in,
    with_accounts,
)
from tests.support.gateway_harness import (
    Gated,
    Harness,
    assert_problem,
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    storage_at,
)

DEADLINE_S = 240.0
PASSWORD = "correct horse battery staple"
FORM = {"ops": "extract"}


def _run(
    tmp_path: Path,
    postgres_url: str,
    nats_url: str,
    scenario: Callable[[Harness, AccountsStack], Awaitable[None]],
    **gateway_overrides: Any,
) -> None:
    base, keys = harness_settings(postgres_url, nats_url, ack_wait_seconds=2.0)
    with accounts_stack(tmp_path, postgres_url, nats_url, base) as stack:
        settings = with_accounts(base, stack, **gateway_overrides)

        async def main() -> None:
            async with running_gateway(
                settings, keys, storage_at(tmp_path / "storage"), port=stack.gateway_port
            ) as gw:
                await scenario(gw, stack)

        asyncio.run(main())


async def _user(gw: Harness, stack: AccountsStack, email: str) -> httpx.AsyncClient:
    client, _pair = await signed_in(gw.base_url, stack, email, PASSWORD)
    return client


async def _submit(api: httpx.AsyncClient, n: int = 1, seed: int = 0) -> httpx.Response:
    files = [
        ("images", (f"p{k}.jpg", photo_bytes(512, seed=seed + k), "image/jpeg")) for k in range(n)
    ]
    return await api.post("/v1/jobs", files=files, data=FORM)


def test_sign_up_trial_quota_checkout_webhook_and_paid_jobs(
    tmp_path: Path, postgres_url: str, nats_url: str, tiny_models_env: Path
) -> None:
    async def scenario(gw: Harness, stack: AccountsStack) -> None:
        alice = await _user(gw, stack, "alice@example.com")
        async with alice:
            me = (await alice.get("/v1/me")).json()
            assert me["account"]["plan"]["id"] == "free"
            assert me["account"]["remaining_images"] == 3 and me["role"] == "owner"

            await gw.start_runner(embedded_processor())
            first = await _submit(alice)
            assert first.status_code == 202, first.text
            assert (await job_finished(alice, first.json()["id"]))["status"] == "completed"

            over = await _submit(alice, 3, seed=10)
            body = assert_problem(over, 402, "quota_exceeded")
            assert body["remaining"] == 2 and body["unlock"]

            for neither_or_both in ({}, {"plan": "personal", "pack": "pack_10"}):
                refused = await alice.post("/v1/billing/checkout", json=neither_or_both)
                assert_problem(refused, 422, "validation_error")
            checkout = await alice.post("/v1/billing/checkout", json={"pack": "pack_10"})
            assert checkout.status_code == 200, checkout.text
            await pay(checkout.json()["url"])
            me = (await alice.get("/v1/me")).json()
            assert me["account"]["plan"]["id"] == "payg" and me["account"]["credits"] == 10

            paid = await _submit(alice, 3, seed=10)
            assert paid.status_code == 202, paid.text
            assert (await job_finished(alice, paid.json()["id"]))["status"] == "completed"
            usage = await settled_usage(alice)
            assert usage["images_charged"] == 4 and usage["images_reserved"] == 0
            assert usage["credits_bought"] == 10 and usage["credits_used"] == 3
            assert usage["account"]["credits"] == 7

            # a webhook signed with another secret changes nothing
            forged = b'{"id": "evt_forged", "object": "event", "type": "charge.refunded"}'
            async with gw.client(None) as stripe:
                refused = await stripe.post(
                    "/v1/billing/webhook",
                    content=forged,
                    headers={"Stripe-Signature": sign_payload(forged, "whsec_wrong")},
                )
            assert_problem(refused, 400, "bad_signature")
            assert (await alice.get("/v1/billing/usage")).json() == usage

    _run(tmp_path, postgres_url, nats_url, scenario)


def test_the_web_app_keeps_its_refresh_token_in_an_http_only_cookie(
    tmp_path: Path, postgres_url: str, nats_url: str
) -> None:
    async def scenario(gw: Harness, stack: AccountsStack) -> None:
        user, pair = await signed_in(gw.base_url, stack, "web@example.com", PASSWORD)
        await user.aclose()
        async with httpx.AsyncClient(base_url=gw.base_url, timeout=60) as browser:
            form = {"username": "web@example.com", "password": PASSWORD}
            signed = await browser.post("/v1/auth/token", data=form)
            cookie = signed.headers["set-cookie"]
            assert cookie.startswith("globalpic_refresh=")
            for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/v1/auth"):
                assert attribute.lower() in cookie.lower(), cookie
            # a browser sends the cookie back (Secure cookies count http://127.0.0.1 as
            # secure there); httpx would only over https, so the header is written here
            refresh = signed.json()["refresh_token"]
            renewed = await browser.post(
                "/v1/auth/refresh", json={}, headers={"Cookie": f"globalpic_refresh={refresh}"}
            )
            assert renewed.status_code == 200, renewed.text
            assert renewed.json()["refresh_token"] != refresh
            # the spent cookie again: the whole session ends (token reuse)
            reused = await browser.post(
                "/v1/auth/refresh", json={}, headers={"Cookie": f"globalpic_refresh={refresh}"}
            )
            assert_problem(reused, 401, "token_reused")
            assert_problem(await browser.post("/v1/auth/refresh", json={}), 401, "token_invalid")
            again = await browser.post("/v1/auth/token", data=form)
            out = await browser.post(
                "/v1/auth/logout",
                headers={"Authorization": f"Bearer {again.json()['access_token']}"},
            )
            assert out.status_code == 204
            assert 'globalpic_refresh=""' in out.headers["set-cookie"]
            assert "max-age=0" in out.headers["set-cookie"].lower()
        assert pair["token_type"] == "bearer"

    _run(tmp_path, postgres_url, nats_url, scenario)


def test_fifty_racing_submissions_get_exactly_the_three_free_images(
    tmp_path: Path, postgres_url: str, nats_url: str
) -> None:
    async def scenario(gw: Harness, stack: AccountsStack) -> None:
        async with await _user(gw, stack, "racer@example.com") as racer:
            answers = await asyncio.gather(*(_submit(racer, seed=k) for k in range(50)))
            statuses = sorted(a.status_code for a in answers)
            assert statuses.count(202) == 3 and statuses.count(402) == 47, statuses
            me = (await racer.get("/v1/me")).json()
            assert me["account"]["remaining_images"] == 0

    _run(tmp_path, postgres_url, nats_url, scenario)


def test_a_runner_killed_mid_image_is_charged_once(
    tmp_path: Path, postgres_url: str, nats_url: str, tiny_models_env: Path
) -> None:
    async def scenario(gw: Harness, stack: AccountsStack) -> None:
        async with await _user(gw, stack, "crash@example.com") as user:
            submitted = await _submit(user, 2)
            assert submitted.status_code == 202, submitted.text
            processor = embedded_processor()
            gated = Gated(processor)
            doomed = await gw.start_runner(gated)
            await asyncio.to_thread(gated.started.wait, DEADLINE_S)
            await gw.crash_runner(doomed)  # no ack: JetStream redelivers after ack_wait
            gated.release.set()
            await gw.start_runner(processor)
            job = await job_finished(user, submitted.json()["id"])
            assert job["status"] == "completed"
            assert max(image["attempts"] for image in job["images"]) == 2
            usage = await settled_usage(user)
            assert usage["images_charged"] == 2 and usage["account"]["trial_remaining"] == 1

    _run(tmp_path, postgres_url, nats_url, scenario)


def test_roles_keys_teams_and_no_secret_in_clear(
    tmp_path: Path,
    postgres_url: str,
    nats_url: str,
    tiny_models_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets_seen: list[str] = [PASSWORD]

    async def scenario(gw: Harness, stack: AccountsStack) -> None:
        owner = await _user(gw, stack, "owner@example.com")
        secrets_seen.append(owner.headers["Authorization"].removeprefix("Bearer "))
        async with owner:
            # API keys and members are Enterprise's
            refused = await owner.post("/v1/teams/members", json={"email": "bob@example.com"})
            assert_problem(refused, 402, "plan_limit")
            checkout = await owner.post("/v1/billing/checkout", json={"plan": "enterprise"})
            await pay(checkout.json()["url"])
            assert (await owner.get("/v1/me")).json()["account"]["plan"]["id"] == "enterprise"

            created = await owner.post("/v1/api-keys", json={"name": "sync"})
            assert created.status_code == 201, created.text
            key = created.json()
            assert key["key"].startswith("gp_live_") and key["prefix"] in key["key"]
            secrets_seen.append(key["key"])
            listed = (await owner.get("/v1/api-keys")).json()
            assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]
            reader = (
                await owner.post("/v1/api-keys", json={"name": "ro", "scopes": ["jobs:read"]})
            ).json()
            secrets_seen.append(reader["key"])

            integrator = httpx.AsyncClient(
                base_url=gw.base_url, headers={"Authorization": f"Bearer {key['key']}"}
            )
            async with integrator:
                job = await _submit(integrator)
                assert job.status_code == 202, job.text
                job_id = job.json()["id"]
                assert_problem(await integrator.get("/v1/billing/usage"), 403, "forbidden")
                # team B cannot reach team A's job, nor A's key B's job
                carol = await _user(gw, stack, "carol@example.com")
                async with carol:
                    assert_problem(await carol.get(f"/v1/jobs/{job_id}"), 404, "job_not_found")
                    theirs = await _submit(carol)
                    assert theirs.status_code == 202, theirs.text
                    foreign = await integrator.get(f"/v1/jobs/{theirs.json()['id']}")
                    assert_problem(foreign, 404, "job_not_found")
            async with httpx.AsyncClient(
                base_url=gw.base_url, headers={"Authorization": f"Bearer {reader['key']}"}
            ) as read_only:
                assert_problem(await _submit(read_only), 403, "insufficient_scope")
                assert (await read_only.get(f"/v1/jobs/{job_id}")).status_code == 200

            # invite bob as a member: he sees the team, not its billing
            mails = len(stack.mail.messages)
            invited = await owner.post("/v1/teams/members", json={"email": "bob@example.com"})
            assert invited.status_code == 201, invited.text
            invitation = first_link(
                next(
                    m
                    for m in stack.mail.wait_for(mails + 1)[mails:]
                    if m["To"] == "bob@example.com"
                )
            )
            bob = await _user(gw, stack, "bob@example.com")
            async with bob:
                token = invitation.rstrip("/").rsplit("/", 1)[1]
                accepted = await bob.post(f"/v1/teams/invitations/{token}/accept")
                assert accepted.status_code == 200, accepted.text
                bob.headers["Authorization"] = f"Bearer {accepted.json()['access_token']}"
                secrets_seen.append(accepted.json()["refresh_token"])
                me = (await bob.get("/v1/me")).json()
                assert (
                    me["role"] == "member"
                    and me["team"]["id"] == (await owner.get("/v1/me")).json()["team"]["id"]
                )
                assert_problem(await bob.get("/v1/billing/usage"), 403, "forbidden")
                assert_problem(
                    await bob.post("/v1/billing/checkout", json={"pack": "pack_10"}),
                    403,
                    "forbidden",
                )
                assert_problem(await bob.get("/v1/api-keys"), 403, "forbidden")
                members = (await bob.get("/v1/teams/members")).json()["members"]
                assert {m["email"] for m in members} == {"owner@example.com", "bob@example.com"}
                assert (await bob.get(f"/v1/jobs/{job_id}")).status_code == 200

            # a revoked key is refused (at once through this gateway)
            assert (await owner.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
            async with httpx.AsyncClient(
                base_url=gw.base_url, headers={"Authorization": f"Bearer {key['key']}"}
            ) as revoked:
                assert_problem(await revoked.get(f"/v1/jobs/{job_id}"), 401, "token_invalid")

            # a logged-out token is refused
            assert (await owner.post("/v1/auth/logout")).status_code == 204
            assert_problem(await owner.get("/v1/me"), 401, "token_invalid")

    with caplog.at_level(logging.DEBUG):
        _run(tmp_path, postgres_url, nats_url, scenario)

    # nothing seen on the wire is stored or logged in clear
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        dump = "\n".join(
            str(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
        )
    # the services' logs: this process's (the gateway, the runner) and the account services';
    # not the test's own HTTP client (httpx / httpcore log what the client received, as a
    # browser's devtools would: the tokens it was handed are meant to be there)
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logs = "\n".join(f"{r.name} {r.getMessage()}" for r in ours) + "".join(
        path.read_text() for path in (tmp_path / "account-logs").glob("*.log")
    )
    assert len(secrets_seen) >= 5
    # the dump and the logs are the real ones: the accounts are in them, by address
    assert {"auth_user", "auth_refresh_token", "billing_account", "job"} <= set(tables), tables
    assert "owner@example.com" in dump and "owner@example.com" in logs
    for secret in secrets_seen:
        assert secret not in dump, "a secret is stored in clear"
        assert secret not in logs, "a secret is logged in clear"

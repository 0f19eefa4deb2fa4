"""The account services for end-to-end tests and the accounts bench: auth and billing as real
processes (their console scripts, the database given), a mail sink and the Stripe stand-in in
this process, wired to a gateway that will listen on ``gateway_port``.

``gateway_settings(stack, ...)`` gives the gateway's settings that point at them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from globalpic_dev.mail_sink import MailSink, first_link
from globalpic_dev.natsd import free_port, port_open
from globalpic_dev.stripe_fake import FakeStripe, http_deliverer, running
from globalpic_gateway.core.config import GatewaySettings

STRIPE_KEY = "sk_test_globalpic_tests"
START_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 240.0


@dataclass
class AccountsStack:
    auth_addr: str
    billing_addr: str
    mail: MailSink
    stripe: FakeStripe
    stripe_url: str
    webhook_secret: str
    gateway_port: int
    logs: Path

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"


def _script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _start(
    name: str, env: dict[str, str], port: int, logs: Path, exits: ExitStack
) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("ab")
    exits.callback(log.close)
    process = subprocess.Popen(
        [_script(f"globalpic-{name}-server")],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    exits.callback(stop)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start: {(logs / f'{name}.log').read_text()}")
        time.sleep(0.1)
    return process


@contextmanager
def accounts_stack(
    tmp_path: Path,
    database_url: str,
    nats_url: str,
    gateway: GatewaySettings,
    **billing_env: str,
) -> Iterator[AccountsStack]:
    """Auth and billing on ``database_url`` (their own tables and version tables), billing
    consuming ``gateway``'s events stream; ``billing_env``: more GLOBALPIC_BILLING__ values."""
    logs = tmp_path / "account-logs"
    logs.mkdir(parents=True, exist_ok=True)
    gateway_port = free_port()
    public_url = f"http://127.0.0.1:{gateway_port}"
    webhook_secret = "whsec_" + secrets.token_hex(16)
    with ExitStack() as exits:
        mail = exits.enter_context(MailSink(tmp_path / "mail"))
        fake = FakeStripe(
            api_key=STRIPE_KEY,
            webhook_secret=webhook_secret,
            deliver=http_deliverer(f"{public_url}/v1/billing/webhook"),
        )
        stripe_url = exits.enter_context(running(fake))
        auth_port, billing_port = free_port(), free_port()
        _start(
            "auth",
            {
                "GLOBALPIC_AUTH__HOST": "127.0.0.1",
                "GLOBALPIC_AUTH__PORT": str(auth_port),
                "GLOBALPIC_AUTH__METRICS_PORT": "0",
                "GLOBALPIC_AUTH__DATABASE_URL": database_url,
                "GLOBALPIC_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "GLOBALPIC_AUTH__REQUIRE_EMAIL_VERIFICATION": "true",
                "GLOBALPIC_AUTH__SMTP_HOST": mail.host,
                "GLOBALPIC_AUTH__SMTP_PORT": str(mail.port),
                "GLOBALPIC_AUTH__SMTP_STARTTLS": "false",
                "GLOBALPIC_AUTH__PUBLIC_URL": public_url,
            },
            auth_port,
            logs,
            exits,
        )
        _start(
            "billing",
            {
                "GLOBALPIC_BILLING__HOST": "127.0.0.1",
                "GLOBALPIC_BILLING__PORT": str(billing_port),
                "GLOBALPIC_BILLING__METRICS_PORT": "0",
                "GLOBALPIC_BILLING__DATABASE_URL": database_url,
                "GLOBALPIC_BILLING__NATS_URL": nats_url,
                "GLOBALPIC_BILLING__EVENTS_STREAM": gateway.events_stream,
                "GLOBALPIC_BILLING__EVENTS_SUBJECT_PREFIX": gateway.events_subject_prefix,
                "GLOBALPIC_BILLING__DURABLE": f"billing-{secrets.token_hex(4)}",
                "GLOBALPIC_BILLING__STRIPE_API_KEY": STRIPE_KEY,
                "GLOBALPIC_BILLING__STRIPE_WEBHOOK_SECRET": webhook_secret,
                "GLOBALPIC_BILLING__STRIPE_API_BASE": stripe_url,
                "GLOBALPIC_BILLING__PUBLIC_URL": public_url,
                **{f"GLOBALPIC_BILLING__{k.upper()}": v for k, v in billing_env.items()},
            },
            billing_port,
            logs,
            exits,
        )
        yield AccountsStack(
            auth_addr=f"127.0.0.1:{auth_port}",
            billing_addr=f"127.0.0.1:{billing_port}",
            mail=mail,
            stripe=fake,
            stripe_url=stripe_url,
            webhook_secret=webhook_secret,
            gateway_port=gateway_port,
            logs=logs,
        )


def with_accounts(
    gateway: GatewaySettings, stack: AccountsStack, **overrides: object
) -> GatewaySettings:
    """``gateway``'s settings pointed at the stack's auth and billing."""
    return gateway.model_copy(
        update={"auth_addr": stack.auth_addr, "billing_addr": stack.billing_addr, **overrides}
    )


async def signed_in(
    base_url: str, stack: AccountsStack, email: str, password: str
) -> tuple[httpx.AsyncClient, dict[str, object]]:
    """Sign up, verify by the mailed link, sign in: a client with the access token, and the
    token response. (Sign-in before the verification is refused: checked on the way.)"""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as anonymous:
        mails = len(stack.mail.messages)
        created = await anonymous.post(
            "/v1/auth/signup", json={"email": email, "password": password}
        )
        if created.status_code != 201:
            raise AssertionError(created.text)
        assert created.json()["verification_required"] is True
        form = {"username": email, "password": password}
        refused = await anonymous.post("/v1/auth/token", data=form)
        assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"
        arrived = await asyncio.to_thread(stack.mail.wait_for, mails + 1)
        mail = next(m for m in arrived[mails:] if m["To"] == email)
        token = first_link(mail).split("token=")[1]
        verified = await anonymous.post("/v1/auth/verify-email", json={"token": token})
        assert verified.status_code == 204, verified.text
        answer = await anonymous.post("/v1/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        pair: dict[str, object] = answer.json()
    client = httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {pair['access_token']}"}, timeout=60
    )
    return client, pair


async def pay(url: str) -> None:
    """The user presses Pay on the stand-in's Checkout page: it sends the signed webhooks
    (to the gateway, or wherever ``stack.stripe.deliver`` points) before it redirects."""
    async with httpx.AsyncClient(timeout=60) as browser:
        paid = await browser.post(url)
    assert paid.status_code == 303, paid.text


async def settled_usage(api: httpx.AsyncClient) -> dict[str, Any]:
    """The team's usage once billing has settled every image it holds (it settles from the
    job events, a moment after the job view says done)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    while True:
        usage: dict[str, Any] = (await api.get("/v1/billing/usage")).json()
        if usage["images_reserved"] == 0 or loop.time() > deadline:
            return usage
        await asyncio.sleep(0.2)

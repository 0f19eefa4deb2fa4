"""``make dev``'s accounts: the auth, billing and webhooks services, a local SMTP sink for their
mails and the Stripe stand-in, wired to each other and to the gateway.

* mails (verification, password reset, invitations) land in ``.dev/mail/<n>.eml``; sign-ups
  are verified at once in development, so the sink is for reading reset and invitation links;
* Stripe: the stand-in (``globalpic_dev.stripe_fake``) answers billing's API calls, shows a
  Checkout page that "pays" and posts signed webhooks to the gateway's
  ``/v1/billing/webhook``, unless ``GLOBALPIC_BILLING__STRIPE_API_KEY`` is set in the
  environment (then real Stripe, test mode, with your own webhook secret);
* the webhook signing secret it uses is ``.dev/stripe-webhook-secret``, the JWT secret
  ``.dev/jwt-secret`` (random per machine, kept so that sessions survive a restart).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from globalpic_dev.natsd import free_port

FAKE_STRIPE_API_KEY = "sk_test_globalpic_dev"


@dataclass(frozen=True)
class AccountProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int  # what it listens on, once started


def accounts_processes(
    *,
    dev_dir: Path,
    gateway_port: int,
    nats_url: str,
    queue: Mapping[str, str],
    environ: Mapping[str, str],
    script: Callable[[str], str],
    secret: Callable[[Path], str],
) -> tuple[list[AccountProcess], dict[str, str]]:
    """What to start, in order (mail sink, Stripe stand-in unless real keys, auth, billing,
    webhooks), and the gateway's settings that point at them.

    ``queue``: the job queue's events settings (``EVENTS_STREAM``, ``EVENTS_SUBJECT_PREFIX``)
    billing consumes; ``script(name)``: an installed console script's path; ``secret(path)``:
    a per-machine secret file's content (created once)."""
    public_url = f"http://127.0.0.1:{gateway_port}"
    processes: list[AccountProcess] = []

    mail_port = free_port()
    processes.append(
        AccountProcess(
            "mail-sink",
            [
                script("globalpic-mail-sink"),
                "--dir",
                str(dev_dir / "mail"),
                "--port",
                str(mail_port),
            ],
            {},
            mail_port,
        )
    )

    billing_env: dict[str, str] = {}
    if not environ.get("GLOBALPIC_BILLING__STRIPE_API_KEY"):
        webhook_secret = secret(dev_dir / "stripe-webhook-secret")
        stripe_port = free_port()
        processes.append(
            AccountProcess(
                "stripe-fake",
                [
                    script("globalpic-stripe-fake"),
                    "--port",
                    str(stripe_port),
                    "--api-key",
                    FAKE_STRIPE_API_KEY,
                    "--webhook-url",
                    f"{public_url}/v1/billing/webhook",
                    "--webhook-secret",
                    webhook_secret,
                ],
                {},
                stripe_port,
            )
        )
        billing_env.update(
            {
                "GLOBALPIC_BILLING__STRIPE_API_KEY": FAKE_STRIPE_API_KEY,
                "GLOBALPIC_BILLING__STRIPE_WEBHOOK_SECRET": webhook_secret,
                "GLOBALPIC_BILLING__STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
            }
        )

    auth_port = free_port()
    processes.append(
        AccountProcess(
            "auth",
            [script("globalpic-auth-server")],
            {
                "GLOBALPIC_AUTH__HOST": "127.0.0.1",
                "GLOBALPIC_AUTH__PORT": str(auth_port),
                "GLOBALPIC_AUTH__METRICS_PORT": str(free_port()),
                "GLOBALPIC_AUTH__DATABASE_URL": f"sqlite:///{dev_dir / 'auth.db'}",
                "GLOBALPIC_AUTH__JWT_SECRET": secret(dev_dir / "jwt-secret"),
                "GLOBALPIC_AUTH__REQUIRE_EMAIL_VERIFICATION": "false",
                "GLOBALPIC_AUTH__SMTP_HOST": "127.0.0.1",
                "GLOBALPIC_AUTH__SMTP_PORT": str(mail_port),
                "GLOBALPIC_AUTH__SMTP_STARTTLS": "false",
                "GLOBALPIC_AUTH__PUBLIC_URL": public_url,
            },
            auth_port,
        )
    )

    billing_port = free_port()
    processes.append(
        AccountProcess(
            "billing",
            [script("globalpic-billing-server")],
            {
                "GLOBALPIC_BILLING__HOST": "127.0.0.1",
                "GLOBALPIC_BILLING__PORT": str(billing_port),
                "GLOBALPIC_BILLING__METRICS_PORT": str(free_port()),
                "GLOBALPIC_BILLING__DATABASE_URL": f"sqlite:///{dev_dir / 'billing.db'}",
                "GLOBALPIC_BILLING__NATS_URL": nats_url,
                "GLOBALPIC_BILLING__PUBLIC_URL": public_url,
                **{f"GLOBALPIC_BILLING__{name}": value for name, value in queue.items()},
                **billing_env,
            },
            billing_port,
        )
    )
    # Webhooks: the job events to the teams' endpoints; loopback receivers allowed here.
    webhooks_port = free_port()
    processes.append(
        AccountProcess(
            "webhooks",
            [script("globalpic-webhooks-server")],
            {
                "GLOBALPIC_WEBHOOKS__HOST": "127.0.0.1",
                "GLOBALPIC_WEBHOOKS__PORT": str(webhooks_port),
                "GLOBALPIC_WEBHOOKS__METRICS_PORT": str(free_port()),
                "GLOBALPIC_WEBHOOKS__DATABASE_URL": f"sqlite:///{dev_dir / 'webhooks.db'}",
                "GLOBALPIC_WEBHOOKS__NATS_URL": nats_url,
                "GLOBALPIC_WEBHOOKS__ALLOW_LOOPBACK": "true",
                **{f"GLOBALPIC_WEBHOOKS__{name}": value for name, value in queue.items()},
            },
            webhooks_port,
        )
    )
    gateway_env = {
        "GLOBALPIC_GATEWAY__AUTH_ADDR": f"127.0.0.1:{auth_port}",
        "GLOBALPIC_GATEWAY__BILLING_ADDR": f"127.0.0.1:{billing_port}",
        "GLOBALPIC_GATEWAY__WEBHOOKS_ADDR": f"127.0.0.1:{webhooks_port}",
    }
    return processes, gateway_env


def new_secret() -> str:
    return secrets.token_urlsafe(32)

"""Test helpers: a settable clock, signed deliveries, and Stripe's events as the Stripe fake
(``globalpic_dev.stripe_fake``) makes them, on a ticking clock so their times are ordered."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from globalpic_billing.webhooks import WebhookHandler, WebhookResult
from globalpic_dev.stripe_fake import FakeStripe, sign_payload

SECRET = "whsec_test_billing"
API_KEY = "sk_test_billing"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

Event = dict[str, Any]


class ManualClock:
    """``Meter`` / ``WebhookHandler``'s clock, moved by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def deliver(handler: WebhookHandler, event: Event, secret: str = SECRET) -> WebhookResult:
    payload = json.dumps(event).encode()
    return handler.handle(payload, sign_payload(payload, secret))


@dataclass
class StripeScript:
    """Drives a Stripe fake without HTTP and keeps the events it would have sent, so a test
    can deliver them in any order, any number of times."""

    fake: FakeStripe = field(init=False)
    _ticks: itertools.count[int] = field(default_factory=lambda: itertools.count(1_770_000_000))

    def __post_init__(self) -> None:
        self.fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET, clock=self._tick)

    def _tick(self) -> float:
        return float(next(self._ticks))

    @property
    def events(self) -> list[Event]:
        return [sent.event for sent in self.fake.events]

    def _checkout(self, team: str, form: dict[str, Any]) -> dict[str, Any]:
        base = {"success_url": "http://app/ok", "client_reference_id": team}
        session = self.fake.create_checkout_session({**base, **form})
        return asyncio.run(self.fake.pay(session["id"]))

    def subscribe(self, team: str, plan: str = "personal") -> str:
        """Checkout of a subscription: its id."""
        meta = {"team_id": team, "plan": plan}
        session = self._checkout(
            team,
            {
                "mode": "subscription",
                "line_items": [{"price": f"price_{plan}_monthly", "quantity": "1"}],
                "metadata": meta,
                "subscription_data": {"metadata": meta},
            },
        )
        return str(session["subscription"])

    def buy(self, team: str, pack: str = "pack_10") -> str:
        """Checkout of a credit pack: the charge's id."""
        meta = {"team_id": team, "pack": pack}
        session = self._checkout(
            team,
            {
                "mode": "payment",
                "line_items": [{"price": f"price_{pack}", "quantity": "1"}],
                "metadata": meta,
                "payment_intent_data": {"metadata": meta},
                "customer_creation": "always",
            },
        )
        charges = [
            obj
            for obj in self.fake.objects.values()
            if obj["object"] == "charge" and obj["payment_intent"] == session["payment_intent"]
        ]
        return str(charges[0]["id"])

    def cancel(self, subscription_id: str) -> None:
        asyncio.run(self.fake.cancel(subscription_id))

    def renew(self, subscription_id: str, *, paid: bool) -> None:
        asyncio.run(self.fake.renew(subscription_id, paid=paid))

    def refund(self, charge_id: str, amount: int | None = None) -> None:
        asyncio.run(self.fake.refund(charge_id, amount))

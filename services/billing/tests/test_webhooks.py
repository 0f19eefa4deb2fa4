"""Stripe webhooks: signatures checked, each event applied once, subscriptions converging to
their latest state whatever the order, credits bought and refunded by pack."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from globalpic_billing.metering import Meter
from globalpic_billing.models import Account, StripeEvent
from globalpic_billing.webhooks import WebhookHandler
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_dev.stripe_fake import sign_payload
from services.billing.tests.helpers import SECRET, StripeScript, deliver


def _rows(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        events = session.exec(select(func.count()).select_from(StripeEvent)).one()
        accounts = session.exec(select(func.count()).select_from(Account)).one()
    return events, accounts


def test_a_bad_signature_is_refused_and_changes_nothing(
    engine: Engine, webhooks: WebhookHandler
) -> None:
    script = StripeScript()
    script.buy("acme")
    payload = json.dumps(script.events[0]).encode()
    forged = [
        sign_payload(payload, "whsec_someone_else"),
        sign_payload(payload + b" ", SECRET),
        sign_payload(payload, SECRET, timestamp=1_000_000_000),  # replayed: too old
        "",
        "garbage",
    ]
    for signature in forged:
        with pytest.raises(BadInputError) as caught:
            webhooks.handle(payload, signature)
        assert caught.value.code == errors.BAD_SIGNATURE
    assert _rows(engine) == (0, 0)
    result = webhooks.handle(payload, sign_payload(payload, SECRET))
    assert result.applied and result.event_type == "checkout.session.completed"
    assert _rows(engine) == (1, 1)


def test_a_duplicate_delivery_is_acknowledged_without_effect(
    meter: Meter, webhooks: WebhookHandler
) -> None:
    script = StripeScript()
    script.buy("acme", "pack_50")
    (event,) = script.events
    assert deliver(webhooks, event).applied
    again = deliver(webhooks, event)
    assert (again.event_id, again.applied) == (event["id"], False)
    assert meter.standing("acme").credits == 50


def test_unhandled_event_types_are_acknowledged(webhooks: WebhookHandler) -> None:
    script = StripeScript()
    script.buy("acme")
    event = {**script.events[0], "id": "evt_other", "type": "customer.created"}
    result = deliver(webhooks, event)
    assert (result.event_type, result.applied) == ("customer.created", False)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_subscription_events_converge_whatever_the_order(
    meter: Meter, webhooks: WebhookHandler, seed: int
) -> None:
    script = StripeScript()
    subscription = script.subscribe("acme", "personal")
    script.renew(subscription, paid=False)  # payment_failed, updated: past_due
    script.renew(subscription, paid=True)  # paid, updated: active
    events = script.events
    shuffled = random.Random(seed).sample(events * 2, len(events) * 2)
    for event in shuffled:
        deliver(webhooks, event)
    standing = meter.standing("acme")
    assert (standing.plan.id, standing.subscription is not None) == ("personal", True)
    assert standing.subscription is not None and standing.subscription.status == "active"

    script.cancel(subscription)
    # the cancel first, then every earlier event once more: canceled is final
    for event in [script.events[-1], *random.Random(seed).sample(events, len(events))]:
        deliver(webhooks, event)
    standing = meter.standing("acme")
    assert (standing.plan.id, standing.subscription) == ("free", None)
    assert standing.shown_subscription is not None
    assert standing.shown_subscription.status == "canceled"


def test_in_order_delivery_follows_each_state(meter: Meter, webhooks: WebhookHandler) -> None:
    script = StripeScript()
    subscription = script.subscribe("acme", "enterprise")
    for event in script.events:
        deliver(webhooks, event)
    assert meter.standing("acme").plan.id == "enterprise"
    seen = len(script.events)
    script.renew(subscription, paid=False)
    for event in script.events[seen:]:
        deliver(webhooks, event)
    standing = meter.standing("acme")
    assert standing.payment_required and standing.remaining_images == 0
    assert [i.status for i in meter.usage("acme").invoices] == ["open", "paid"]


def test_refunds_take_back_a_packs_credits_down_to_zero(
    meter: Meter, webhooks: WebhookHandler
) -> None:
    script = StripeScript()
    first = script.buy("acme", "pack_10")
    second = script.buy("acme", "pack_50")
    for event in script.events:
        deliver(webhooks, event)
    assert meter.reserve("acme", "job", 45).granted
    for n in range(45):
        meter.settle("job", n, completed=True, cached=False)
    assert meter.standing("acme").credits == 15
    script.refund(first, amount=250)  # half the pack: 5 images back
    script.refund(first)  # the rest
    refunds = script.events[-2:]
    # the full refund arrives before the partial one: the ledger keeps the larger
    for event in reversed(refunds):
        deliver(webhooks, event)
    standing = meter.standing("acme")
    assert (standing.credits_bought, standing.credits) == (50, 5)
    # refund the pack the team already spent: the balance stops at 0, the charges stay
    script.refund(second)
    deliver(webhooks, script.events[-1])
    standing = meter.standing("acme")
    assert (standing.credits, standing.credits_used, standing.images_charged) == (0, 45, 45)
    assert meter.reserve("acme", "job2", 1).reason == "quota_exceeded"

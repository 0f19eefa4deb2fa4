"""The billing service over gRPC with ``BillingClient``, and Checkout end to end through the
Stripe fake: create a session through billing, pay on the fake's page, the fake posts the
signed webhooks to a small HTTP receiver that hands them to ``HandleWebhook`` (what the
gateway's Stripe endpoint does), the account changes; the portal cancels."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr

from globalpic_billing import db
from globalpic_billing.server import HEALTH_NAME, Billing, registrar
from globalpic_billing.settings import BillingSettings
from globalpic_clients.billing import BillingClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError, NotFoundError
from globalpic_common.grpc_server import ServiceServer
from globalpic_dev.stripe_fake import FakeStripe, http_deliverer, running, sign_payload
from services.billing.tests.helpers import API_KEY, SECRET


@dataclass
class Stack:
    client: BillingClient
    fake: FakeStripe
    web: httpx.Client


def _receiver(client: BillingClient) -> ThreadingHTTPServer:
    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                client.handle_webhook(payload, self.headers.get("Stripe-Signature", ""))
                status = 200
            except GlobalPicError:
                status = 400
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Webhook)


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[Stack]:
    fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET)
    with running(fake) as fake_url:
        settings = BillingSettings(
            database_url=sqlite_url,
            stripe_api_key=SecretStr(API_KEY),
            stripe_webhook_secret=SecretStr(SECRET),
            stripe_api_base=fake_url,
            public_url="http://app.test",
        )
        db.migrate(sqlite_url)
        server = ServiceServer(
            "billing",
            registrar(Billing.build(settings)),
            port=0,
            host="127.0.0.1",
            health_services=[HEALTH_NAME],
        )
        server.start()
        server.set_serving()
        client = BillingClient(f"127.0.0.1:{server.port}")
        receiver = _receiver(client)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        fake.deliver = http_deliverer(f"http://127.0.0.1:{receiver.server_port}/stripe")
        try:
            client.load()
            with httpx.Client(timeout=30) as web:
                yield Stack(client, fake, web)
        finally:
            receiver.shutdown()
            client.close()
            server.stop()


def _pay(stack: Stack, url: str) -> str:
    page = stack.web.get(url)
    assert page.status_code == 200 and "Pay" in page.text
    paid = stack.web.post(url)
    assert paid.status_code == 303
    return paid.headers["location"]


def test_round_trip(stack: Stack) -> None:
    client = stack.client
    plans = client.list_plans()
    assert [p.id for p in plans.plans] == ["free", "payg", "personal", "enterprise"]
    assert [p.images for p in plans.packs] == [10, 50, 200]
    account = client.get_account("acme")
    assert (account.plan.id, account.remaining_images, account.trial_remaining) == ("free", 3, 3)
    refused = client.reserve("acme", "job-big", 5)
    assert (refused.granted, refused.reason, list(refused.unlock)) == (
        False,
        "batch_too_large",
        ["payg:pack_10", "personal", "enterprise"],
    )
    assert client.reserve("acme", "job1", 3).granted
    assert client.release("job1", [2]).released == 1
    assert client.release("job1").released == 2
    usage = client.get_usage("acme")
    assert (usage.images_reserved, usage.images_charged, usage.account.trial_remaining) == (0, 0, 3)
    with pytest.raises(BadInputError) as bad:
        client.reserve("acme", "job2", 0)
    assert bad.value.code == errors.BAD_OPTION


def test_errors_keep_their_codes(stack: Stack) -> None:
    client = stack.client
    cases: list[tuple[type[GlobalPicError], str, object]] = [
        (BadInputError, errors.BAD_SIGNATURE, lambda: client.handle_webhook(b"{}", "t=1,v1=00")),
        (
            BadInputError,
            errors.UNKNOWN_PLAN,
            lambda: client.create_checkout_session("a", plan="gold"),
        ),
        (
            BadInputError,
            errors.UNKNOWN_PLAN,
            lambda: client.create_checkout_session("a", plan="free"),
        ),
        (BadInputError, errors.UNKNOWN_PACK, lambda: client.create_checkout_session("a", pack="x")),
        (BadInputError, errors.BAD_OPTION, lambda: client.create_checkout_session("a")),
        (NotFoundError, errors.NO_CUSTOMER, lambda: client.create_portal_session("a")),
    ]
    for error, code, call in cases:
        with pytest.raises(error) as caught:
            call()  # type: ignore[operator]
        assert caught.value.code == code
    payload = b'{"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {}}}'
    result = client.handle_webhook(payload, sign_payload(payload, SECRET))
    assert (result.event_id, result.applied) == ("evt_1", False)


def test_checkout_and_portal_through_the_stripe_fake(stack: Stack) -> None:
    client = stack.client
    pack = client.create_checkout_session(
        "acme", pack="pack_10", success_url="http://app.test/ok?cs={CHECKOUT_SESSION_ID}"
    )
    assert _pay(stack, pack.url) == f"http://app.test/ok?cs={pack.id}"
    account = client.get_account("acme")
    assert (account.plan.id, account.credits) == ("payg", 10)

    # the second checkout reuses the customer the first one made
    plan = client.create_checkout_session("acme", plan="personal", customer_email="a@acme.test")
    assert _pay(stack, plan.url) == f"http://app.test/billing/success?session_id={plan.id}"
    account = client.get_account("acme")
    assert (account.plan.id, account.subscription_status, account.remaining_images) == (
        "personal",
        "active",
        -1,
    )
    assert account.current_period_end.endswith("Z")
    customers = {o["id"] for o in stack.fake.objects.values() if o["object"] == "customer"}
    assert len(customers) == 1
    assert [i.status for i in client.get_usage("acme").invoices] == ["paid"]

    portal = client.create_portal_session("acme", "http://app.test/settings")
    page = stack.web.get(portal.url)
    assert page.status_code == 200 and "Cancel" in page.text
    (subscription,) = [o for o in stack.fake.objects.values() if o["object"] == "subscription"]
    back = stack.web.post(f"{portal.url}/cancel/{subscription['id']}")
    assert (back.status_code, back.headers["location"]) == (303, "http://app.test/settings")
    account = client.get_account("acme")
    assert (account.plan.id, account.subscription_status, account.credits) == (
        "payg",
        "canceled",
        10,
    )
    assert {s.status for s in stack.fake.events} == {200}
    sent = [s.event["type"] for s in stack.fake.events]
    assert sent == [
        "checkout.session.completed",
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
        "customer.subscription.deleted",
    ]


def test_a_refund_and_a_failed_renewal_through_the_fake(stack: Stack) -> None:
    client = stack.client
    _pay(stack, client.create_checkout_session("acme", pack="pack_50").url)
    _pay(stack, client.create_checkout_session("acme", plan="enterprise").url)
    (charge,) = [o for o in stack.fake.objects.values() if o["object"] == "charge"]
    (subscription,) = [o for o in stack.fake.objects.values() if o["object"] == "subscription"]
    assert stack.web.post(f"{stack.fake.public_url}/_fake/charges/{charge['id']}/refund").is_success
    renew = f"{stack.fake.public_url}/_fake/subscriptions/{subscription['id']}/renew"
    assert stack.web.post(renew, data={"outcome": "failed"}).is_success
    account = client.get_account("acme")
    assert (account.credits, account.subscription_status) == (0, "past_due")
    assert client.reserve("acme", "job", 1).reason == "payment_required"
    # a delivery seen before, sent again by the fake: acknowledged, no change
    first = stack.fake.events[0].event["id"]
    assert stack.web.post(f"{stack.fake.public_url}/_fake/events/{first}/resend").is_success
    assert client.get_usage("acme").credits_bought == 0
    events = stack.web.get(f"{stack.fake.public_url}/_fake/events").json()
    assert events[-2]["event"]["type"] == "invoice.payment_failed"


def test_the_fake_speaks_stripes_errors(stack: Stack) -> None:
    base = stack.fake.public_url
    unauthorized = stack.web.post(f"{base}/v1/customers", headers={"Authorization": "Bearer no"})
    assert unauthorized.status_code == 401 and "error" in unauthorized.json()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    missing = stack.web.get(f"{base}/v1/subscriptions/sub_nope", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
    bad_price = stack.web.post(
        f"{base}/v1/checkout/sessions",
        headers=auth,
        data={"mode": "payment", "success_url": "http://x", "line_items[0][price]": "price_x"},
    )
    assert bad_price.status_code == 400 and "No such price" in bad_price.json()["error"]["message"]
    # an event type billing does not act on is acknowledged (Stripe would retry a non-2xx)
    asyncio.run(stack.fake.send("customer.created", {"id": "cus_x", "object": "customer"}))
    assert stack.fake.events[-1].status == 200

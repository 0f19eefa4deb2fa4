"""``globalpic-stripe-fake``: a local stand-in for the parts of Stripe billing uses.

It speaks Stripe's REST wire format for exactly billing's calls (form-encoded bodies with
``metadata[team_id]`` / ``line_items[0][price]`` keys, a Bearer API key, Stripe-shaped JSON
objects and errors), so the real ``stripe`` library runs against it
(``GLOBALPIC_BILLING__STRIPE_API_BASE=http://127.0.0.1:12111``):

* ``POST /v1/customers``, ``GET /v1/customers/{id}``
* ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``
* ``POST /v1/billing_portal/sessions``
* ``GET /v1/subscriptions/{id}``, ``DELETE /v1/subscriptions/{id}`` (cancel)

and the hosted pages a user would see: a checkout session's ``url`` is a page with a "Pay"
button (the POST pays: customer, subscription or charge, then the signed webhooks, then a
303 to ``success_url``), a portal session's ``url`` lists the subscriptions with a "Cancel"
button (-> ``customer.subscription.deleted``) and a link back to ``return_url``.

Webhooks are Stripe's: event JSON signed ``Stripe-Signature: t=<unix>,v1=<hmac>``
(``sign_payload``), sent before the redirect so that what the user sees next is up to date.
They go to ``--webhook-url`` (an HTTP endpoint, as Stripe would call the gateway) or, with
``--billing-addr``, straight to billing's ``HandleWebhook`` over gRPC.

Test controls under ``/_fake/``: refund a charge (``charge.refunded``), invoice a
subscription's next period paid or failed (``invoice.paid`` / ``invoice.payment_failed``),
list the events sent, send one again (a duplicate delivery).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from globalpic_clients.billing import BillingClient
from globalpic_common.errors import BadInputError

log = logging.getLogger("globalpic.stripe_fake")

API_VERSION = "2026-10-28.endive"
DEFAULT_PORT = 12111  # stripe-mock's port
DEFAULT_API_KEY = "sk_test_globalpic_fake"
DEFAULT_WEBHOOK_SECRET = "whsec_globalpic_fake"
PERIOD_S = 30 * 24 * 3600

Json = dict[str, Any]
# Delivers one signed webhook (payload, Stripe-Signature); the HTTP status it got.
Deliver = Callable[[bytes, str], Awaitable[int]]


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``: HMAC-SHA256 of
    ``"<t>.<payload>"`` keyed by the endpoint's signing secret."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_json(event_type: str, obj: Json, *, created: int | None = None) -> Json:
    """A Stripe event wrapping ``obj`` (``data.object``)."""
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def decode_form(body: bytes) -> Json:
    """Stripe's form encoding -> nested values: ``a[b][0][c]=v`` -> ``{"a": {"b": [{"c":
    "v"}]}}`` (a dict whose keys are all indexes becomes a list)."""
    root: Json = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    decoded: Json = _lists(root)
    return decoded


def _lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {k: _lists(v) for k, v in value.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


class StripeApiError(Exception):
    """Answered as Stripe's error JSON: ``{"error": {"type", "message", "code", "param"}}``."""

    def __init__(self, status: int, message: str, *, code: str = "", param: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "type": "invalid_request_error",
                "message": message,
                **({"code": code} if code else {}),
                **({"param": param} if param else {}),
            }
        }


@dataclass(frozen=True)
class Price:
    id: str
    unit_amount: int
    recurring: bool

    def json(self) -> Json:
        return {
            "id": self.id,
            "object": "price",
            "active": True,
            "currency": "usd",
            "unit_amount": self.unit_amount,
            "type": "recurring" if self.recurring else "one_time",
            "recurring": {"interval": "month", "interval_count": 1} if self.recurring else None,
            "livemode": False,
        }


# billing's default price ids (GLOBALPIC_BILLING__STRIPE_PRICES).
DEFAULT_PRICES = (
    Price("price_personal_monthly", 1900, True),
    Price("price_enterprise_monthly", 9900, True),
    Price("price_pack_10", 500, False),
    Price("price_pack_50", 2500, False),
    Price("price_pack_200", 10000, False),
)


@dataclass
class SentEvent:
    event: Json
    status: int = 0  # the receiver's HTTP status (0: not reached)


@dataclass
class FakeStripe:
    """The fake's state: Stripe objects by id and the events it sent."""

    api_key: str
    webhook_secret: str
    deliver: Deliver | None = None
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    prices: dict[str, Price] = field(default_factory=lambda: {p.id: p for p in DEFAULT_PRICES})
    objects: dict[str, Json] = field(default_factory=dict)
    events: list[SentEvent] = field(default_factory=list)
    # Stripe's times are whole seconds; tests tick a clock of their own so that events
    # have distinct, ordered ``created`` times.
    clock: Callable[[], float] = time.time

    def now(self) -> int:
        return int(self.clock())

    # --- objects ---------------------------------------------------------------------------

    def _new(self, prefix: str, kind: str, **fields: Any) -> Json:
        obj: Json = {
            "id": f"{prefix}_{secrets.token_hex(12)}",
            "object": kind,
            "created": self.now(),
            "livemode": False,
            **fields,
        }
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str) -> Json:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise StripeApiError(
                404, f"No such {kind.split('.')[-1]}: '{object_id}'", code="resource_missing"
            )
        return obj

    def create_customer(self, form: Json) -> Json:
        return self._new(
            "cus",
            "customer",
            email=form.get("email"),
            name=form.get("name"),
            metadata=form.get("metadata", {}),
        )

    def create_checkout_session(self, form: Json) -> Json:
        mode = form.get("mode")
        if mode not in ("payment", "subscription"):
            raise StripeApiError(400, "Invalid mode: must be payment or subscription", param="mode")
        if not form.get("success_url"):
            raise StripeApiError(400, "Missing required param: success_url.", param="success_url")
        items = form.get("line_items")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise StripeApiError(400, "Exactly one line item is supported", param="line_items")
        price = self.prices.get(str(items[0].get("price")))
        if price is None:
            raise StripeApiError(
                400,
                f"No such price: '{items[0].get('price')}'",
                code="resource_missing",
                param="line_items[0][price]",
            )
        if price.recurring != (mode == "subscription"):
            raise StripeApiError(
                400,
                f"You must provide {'a recurring' if mode == 'subscription' else 'a one-time'} "
                "price in this mode.",
                param="line_items[0][price]",
            )
        customer = form.get("customer")
        if customer:
            self.get(customer, "customer")
        session = self._new(
            "cs_test",
            "checkout.session",
            mode=mode,
            status="open",
            payment_status="unpaid",
            success_url=form["success_url"],
            cancel_url=form.get("cancel_url"),
            client_reference_id=form.get("client_reference_id"),
            customer=customer or None,
            customer_email=form.get("customer_email"),
            customer_creation=form.get("customer_creation"),
            metadata=form.get("metadata", {}),
            amount_total=price.unit_amount * int(items[0].get("quantity", 1)),
            currency="usd",
            subscription=None,
            payment_intent=None,
            expires_at=self.now() + 24 * 3600,
            # kept for paying; Stripe keeps them too (line_items is expandable)
            line_items={"object": "list", "data": [{"price": price.json(), "quantity": 1}]},
            subscription_data=form.get("subscription_data", {}),
            payment_intent_data=form.get("payment_intent_data", {}),
        )
        session["url"] = f"{self.public_url}/checkout/{session['id']}"
        return session

    def create_portal_session(self, form: Json) -> Json:
        customer = self.get(str(form.get("customer", "")), "customer")
        session = self._new(
            "bps",
            "billing_portal.session",
            customer=customer["id"],
            return_url=form.get("return_url"),
        )
        session["url"] = f"{self.public_url}/portal/{session['id']}"
        return session

    # --- what the hosted pages do ------------------------------------------------------------

    async def pay(self, session_id: str) -> Json:
        """The user paid: customer, subscription or charge, then the webhooks."""
        session = self.get(session_id, "checkout.session")
        if session["status"] != "open":
            raise StripeApiError(400, "This Checkout Session is no longer active.")
        price = session["line_items"]["data"][0]["price"]
        customer = (
            session["customer"] or self.create_customer({"email": session["customer_email"]})["id"]
        )
        session.update(status="complete", payment_status="paid", customer=customer)
        sent = [("checkout.session.completed", session)]
        if session["mode"] == "subscription":
            meta = session["subscription_data"].get("metadata", {})
            subscription = self._subscription(customer, price, meta)
            invoice = self._invoice(subscription, paid=True)
            session["subscription"] = subscription["id"]
            sent += [("customer.subscription.created", subscription), ("invoice.paid", invoice)]
        else:
            meta = session["payment_intent_data"].get("metadata", {})
            charge = self._new(
                "ch",
                "charge",
                amount=session["amount_total"],
                amount_refunded=0,
                currency="usd",
                customer=customer,
                metadata=meta,
                paid=True,
                refunded=False,
                status="succeeded",
                payment_intent=f"pi_{secrets.token_hex(12)}",
            )
            session["payment_intent"] = charge["payment_intent"]
        for event_type, obj in sent:
            await self.send(event_type, obj)
        return session

    def _subscription(self, customer: str, price: Json, meta: Json) -> Json:
        now = self.now()
        item = {
            "id": f"si_{secrets.token_hex(12)}",
            "object": "subscription_item",
            "price": price,
            "quantity": 1,
            "current_period_start": now,
            "current_period_end": now + PERIOD_S,
        }
        return self._new(
            "sub",
            "subscription",
            customer=customer,
            status="active",
            metadata=meta,
            items={"object": "list", "data": [item]},
            cancel_at_period_end=False,
            canceled_at=None,
            ended_at=None,
            start_date=now,
        )

    def _invoice(self, subscription: Json, *, paid: bool) -> Json:
        price = subscription["items"]["data"][0]["price"]
        amount = price["unit_amount"]
        return self._new(
            "in",
            "invoice",
            customer=subscription["customer"],
            status="paid" if paid else "open",
            amount_due=amount,
            amount_paid=amount if paid else 0,
            currency="usd",
            hosted_invoice_url=f"{self.public_url}/invoices/{subscription['id']}",
            parent={
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
            lines={
                "object": "list",
                "data": [{"amount": amount, "pricing": {"price_details": {"price": price["id"]}}}],
            },
        )

    async def cancel(self, subscription_id: str) -> Json:
        subscription = self.get(subscription_id, "subscription")
        if subscription["status"] != "canceled":
            now = self.now()
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            await self.send("customer.subscription.deleted", subscription)
        return subscription

    async def refund(self, charge_id: str, amount: int | None = None) -> Json:
        charge = self.get(charge_id, "charge")
        refunded = min(charge["amount"], charge["amount_refunded"] + (amount or charge["amount"]))
        charge.update(amount_refunded=refunded, refunded=refunded >= charge["amount"])
        await self.send("charge.refunded", charge)
        return charge

    async def renew(self, subscription_id: str, *, paid: bool) -> Json:
        """The subscription's next invoice, paid or failed, and the status that follows."""
        subscription = self.get(subscription_id, "subscription")
        invoice = self._invoice(subscription, paid=paid)
        status = "active" if paid else "past_due"
        await self.send("invoice.paid" if paid else "invoice.payment_failed", invoice)
        if subscription["status"] != status:
            subscription["status"] = status
            await self.send("customer.subscription.updated", subscription)
        return invoice

    # --- webhooks -----------------------------------------------------------------------------

    async def send(self, event_type: str, obj: Json) -> SentEvent:
        # A snapshot: later changes to the object must not rewrite what was sent.
        snapshot = json.loads(json.dumps(obj))
        sent = SentEvent(event_json(event_type, snapshot, created=self.now()))
        self.events.append(sent)
        await self.redeliver(sent)
        return sent

    async def redeliver(self, sent: SentEvent) -> None:
        if self.deliver is None:
            return
        payload = json.dumps(sent.event).encode()
        try:
            sent.status = await self.deliver(payload, sign_payload(payload, self.webhook_secret))
        except Exception as exc:  # the receiver is down: Stripe would retry later
            log.warning("webhook %s not delivered: %s", sent.event["type"], exc)
            sent.status = 0

    def sent(self, event_id: str) -> SentEvent:
        for sent in self.events:
            if sent.event["id"] == event_id:
                return sent
        raise StripeApiError(404, f"No such event: '{event_id}'", code="resource_missing")


def http_deliverer(url: str) -> Deliver:
    """POST each webhook to ``url`` as Stripe does."""

    async def deliver(payload: bytes, signature: str) -> int:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                url,
                content=payload,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            )
        return response.status_code

    return deliver


def grpc_deliverer(billing_addr: str) -> Deliver:
    """Hand each webhook to billing's ``HandleWebhook`` (no HTTP receiver needed)."""
    client = BillingClient(billing_addr)

    async def deliver(payload: bytes, signature: str) -> int:
        try:
            await asyncio.to_thread(client.handle_webhook, payload, signature)
        except BadInputError:
            return 400
        return 200

    return deliver


# --- the HTTP app -------------------------------------------------------------------------------


def build_app(fake: FakeStripe, *, on_startup: Callable[[], None] | None = None) -> Starlette:
    def api(
        handler: Callable[[Request], Awaitable[Json]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {fake.api_key}":
                return JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "Invalid API Key provided.",
                        }
                    },
                    status_code=401,
                )
            try:
                return JSONResponse(await handler(request))
            except StripeApiError as exc:
                return JSONResponse(exc.body, status_code=exc.status)

        return endpoint

    def page(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except StripeApiError as exc:
                return JSONResponse(exc.body, status_code=exc.status)

        return endpoint

    async def form(request: Request) -> Json:
        return decode_form(await request.body())

    def path(request: Request, name: str) -> str:
        return str(request.path_params[name])

    async def customers(request: Request) -> Json:
        return fake.create_customer(await form(request))

    async def checkout_sessions(request: Request) -> Json:
        return fake.create_checkout_session(await form(request))

    async def portal_sessions(request: Request) -> Json:
        return fake.create_portal_session(await form(request))

    async def subscription(request: Request) -> Json:
        if request.method == "DELETE":
            return await fake.cancel(path(request, "id"))
        return fake.get(path(request, "id"), "subscription")

    def getter(kind: str) -> Callable[[Request], Awaitable[Json]]:
        async def get(request: Request) -> Json:
            return fake.get(path(request, "id"), kind)

        return get

    async def checkout_page(request: Request) -> Response:
        session = fake.get(path(request, "id"), "checkout.session")
        if request.method == "POST":
            paid = await fake.pay(session["id"])
            target = paid["success_url"].replace("{CHECKOUT_SESSION_ID}", paid["id"])
            return RedirectResponse(target, status_code=303)
        price = session["line_items"]["data"][0]["price"]
        return _html(
            "Checkout",
            f"<p>{html.escape(session['mode'])}: {html.escape(price['id'])}, "
            f"${session['amount_total'] / 100:.2f}</p>"
            '<form method="post"><button type="submit">Pay</button></form>'
            f'<p><a href="{html.escape(session["cancel_url"] or "/")}">Cancel</a></p>',
        )

    async def portal_page(request: Request) -> Response:
        session = fake.get(path(request, "id"), "billing_portal.session")
        subscriptions = [
            obj
            for obj in fake.objects.values()
            if obj["object"] == "subscription"
            and obj["customer"] == session["customer"]
            and obj["status"] != "canceled"
        ]
        rows = "".join(
            f"<li>{html.escape(sub['id'])} ({html.escape(sub['status'])})"
            f'<form method="post" action="/portal/{session["id"]}/cancel/{sub["id"]}">'
            '<button type="submit">Cancel</button></form></li>'
            for sub in subscriptions
        )
        back = html.escape(session["return_url"] or "/")
        return _html("Billing portal", f'<ul>{rows}</ul><p><a href="{back}">Return</a></p>')

    async def portal_cancel(request: Request) -> Response:
        session = fake.get(path(request, "id"), "billing_portal.session")
        subscription = fake.get(path(request, "sub"), "subscription")
        if subscription["customer"] != session["customer"]:
            raise StripeApiError(404, "No such subscription", code="resource_missing")
        await fake.cancel(subscription["id"])
        return RedirectResponse(session["return_url"] or "/", status_code=303)

    async def fake_refund(request: Request) -> Response:
        amount = (await form(request)).get("amount")
        charge = await fake.refund(path(request, "id"), int(amount) if amount else None)
        return JSONResponse(charge)

    async def fake_renew(request: Request) -> Response:
        paid = (await form(request)).get("outcome", "paid") != "failed"
        return JSONResponse(await fake.renew(path(request, "id"), paid=paid))

    async def fake_events(request: Request) -> Response:
        return JSONResponse([{"event": s.event, "delivery_status": s.status} for s in fake.events])

    async def fake_resend(request: Request) -> Response:
        sent = fake.sent(path(request, "id"))
        await fake.redeliver(sent)
        return JSONResponse({"id": sent.event["id"], "delivery_status": sent.status})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if on_startup is not None:
            on_startup()
        yield

    routes = [
        Route("/v1/customers", api(customers), methods=["POST"]),
        Route("/v1/customers/{id}", api(getter("customer")), methods=["GET"]),
        Route("/v1/checkout/sessions", api(checkout_sessions), methods=["POST"]),
        Route("/v1/checkout/sessions/{id}", api(getter("checkout.session")), methods=["GET"]),
        Route("/v1/billing_portal/sessions", api(portal_sessions), methods=["POST"]),
        Route("/v1/subscriptions/{id}", api(subscription), methods=["GET", "DELETE"]),
        Route("/v1/charges/{id}", api(getter("charge")), methods=["GET"]),
        Route("/checkout/{id}", page(checkout_page), methods=["GET", "POST"]),
        Route("/portal/{id}", page(portal_page), methods=["GET"]),
        Route("/portal/{id}/cancel/{sub}", page(portal_cancel), methods=["POST"]),
        Route("/_fake/charges/{id}/refund", page(fake_refund), methods=["POST"]),
        Route("/_fake/subscriptions/{id}/renew", page(fake_renew), methods=["POST"]),
        Route("/_fake/events", page(fake_events), methods=["GET"]),
        Route("/_fake/events/{id}/resend", page(fake_resend), methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _html(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>{title} (Stripe fake)</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


@contextlib.contextmanager
def running(fake: FakeStripe, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``fake`` on a free port in a thread (tests, scripts); yields its base URL.
    ``fake.public_url`` is set to it, so the hosted pages' URLs point here."""
    sock = socket.socket()
    sock.bind((host, 0))
    fake.public_url = f"http://{host}:{sock.getsockname()[1]}"
    started = threading.Event()
    server = uvicorn.Server(
        uvicorn.Config(build_app(fake, on_startup=started.set), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not started.wait(30):
            raise RuntimeError("the Stripe fake did not start")
        yield fake.public_url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="globalpic-stripe-fake", description="A local stand-in for Stripe (billing's calls)"
    )
    parser.add_argument("--host", default=env("GLOBALPIC_STRIPE_FAKE_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env("GLOBALPIC_STRIPE_FAKE_PORT", str(DEFAULT_PORT)))
    )
    parser.add_argument("--api-key", default=env("GLOBALPIC_STRIPE_FAKE_API_KEY", DEFAULT_API_KEY))
    parser.add_argument(
        "--webhook-secret",
        default=env("GLOBALPIC_STRIPE_FAKE_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET),
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--webhook-url",
        default=env("GLOBALPIC_STRIPE_FAKE_WEBHOOK_URL"),
        help="POST the signed webhooks here (the gateway's Stripe endpoint)",
    )
    target.add_argument(
        "--billing-addr",
        default=env("GLOBALPIC_STRIPE_FAKE_BILLING_ADDR"),
        help="or hand them to billing's HandleWebhook at host:port",
    )
    parser.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="ID=CENTS[:recurring]",
        help="an extra price (the defaults are billing's)",
    )
    args = parser.parse_args(argv)
    deliver: Deliver | None = None
    if args.webhook_url:
        deliver = http_deliverer(args.webhook_url)
    elif args.billing_addr:
        deliver = grpc_deliverer(args.billing_addr)
    fake = FakeStripe(
        api_key=args.api_key,
        webhook_secret=args.webhook_secret,
        deliver=deliver,
        public_url=f"http://{args.host}:{args.port}",
    )
    for spec in args.price:
        price_id, _, amount = spec.partition("=")
        cents, _, kind = amount.partition(":")
        fake.prices[price_id] = Price(price_id, int(cents), kind == "recurring")
    logging.basicConfig(level=logging.INFO)
    log.info(
        "Stripe fake on %s (webhooks: %s)", fake.public_url, args.webhook_url or args.billing_addr
    )
    uvicorn.run(build_app(fake), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()

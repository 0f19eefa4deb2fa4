"""Stripe webhooks: verified, applied once, safe out of order.

Each delivery is checked against ``Stripe-Signature`` (``stripe.Webhook.construct_event``);
a bad one changes nothing. The event id is inserted first, in the same transaction that
applies the event, so a second delivery (or a concurrent one: the primary key makes it wait,
then fail) is acknowledged without effect, and a crash mid-apply leaves neither.

Ordering: a subscription row remembers the ``created`` time of the newest event applied to it
and ignores older ones; ``canceled`` is final for a subscription id. Credits are keyed by what
caused them (the checkout session, ``refund:<charge>``), so they converge whatever the order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import stripe
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from globalpic_billing import metrics
from globalpic_billing.db import transaction
from globalpic_billing.models import (
    ENTITLED_STATUSES,
    UNPAID_STATUSES,
    Account,
    CreditEntry,
    Invoice,
    StripeEvent,
    Subscription,
)
from globalpic_billing.plans import Catalog, PackSpec, PlanSpec
from globalpic_billing.standing import lock_account
from globalpic_billing.stripe_objects import (
    StripeObject,
    integer,
    invoice_metadata,
    invoice_price,
    invoice_subscription,
    metadata,
    ref_id,
    subscription_period_end,
    subscription_price,
    timestamp,
)
from globalpic_common import errors
from globalpic_common.errors import BadInputError, ServiceUnavailableError
from globalpic_db.clock import utcnow

log = logging.getLogger(__name__)

# Stripe's default: a signature older than this is refused (replay protection).
SIGNATURE_TOLERANCE_S = 300
CANCELED = "canceled"


def _status_rank(status: str) -> int:
    """Events of one second can arrive in any order: at equal ``created``, a subscription's
    status never moves backwards (incomplete -> live -> ended)."""
    if status == CANCELED or status == "incomplete_expired":
        return 2
    return 1 if status in ENTITLED_STATUSES + UNPAID_STATUSES else 0


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    applied: bool


@dataclass
class Effects:
    """What an applied event did, counted into the metrics once its transaction committed."""

    signups: int = 0
    conversions: list[str] = field(default_factory=list)
    credits_sold: list[tuple[str, int]] = field(default_factory=list)
    credits_refunded: int = 0
    failed_payments: int = 0
    refunds: int = 0

    def emit(self) -> None:
        metrics.SIGNUPS.inc(self.signups)
        for kind in self.conversions:
            metrics.CONVERSIONS.labels(kind=kind).inc()
        for pack, images in self.credits_sold:
            metrics.CREDITS_SOLD.labels(pack=pack).inc(images)
        metrics.CREDITS_REFUNDED.inc(self.credits_refunded)
        metrics.FAILED_PAYMENTS.inc(self.failed_payments)
        metrics.REFUNDS.inc(self.refunds)


@dataclass
class _Apply:
    """One event being applied: its transaction, time and what it did."""

    session: Session
    catalog: Catalog
    created: int
    now: datetime
    effects: Effects

    def account(self, team_id: str) -> Account:
        account, created = lock_account(self.session, team_id, self.now)
        self.effects.signups += int(created)
        return account

    def team_of(self, obj: StripeObject, meta: dict[str, str] | None = None) -> str | None:
        """The team an object belongs to: our metadata (set on every object billing
        creates), Checkout's client_reference_id, else the account holding its customer."""
        meta = metadata(obj) if meta is None else meta
        team = meta.get("team_id") or obj.get("client_reference_id")
        if isinstance(team, str) and team:
            return team
        customer = ref_id(obj.get("customer"))
        if customer is None:
            return None
        account = self.session.exec(
            select(Account).where(Account.stripe_customer_id == customer)
        ).first()
        return account.team_id if account is not None else None

    def remember_customer(self, account: Account, obj: StripeObject) -> None:
        customer = ref_id(obj.get("customer"))
        if customer and account.stripe_customer_id is None:
            owner = self.session.exec(
                select(Account).where(Account.stripe_customer_id == customer)
            ).first()
            if owner is None:
                account.stripe_customer_id = customer
                self.session.add(account)

    def plan(self, price: str | None, meta: dict[str, str]) -> PlanSpec | None:
        found = self.catalog.plan_for_price(price) if price else None
        if found is not None:
            return found
        try:
            plan = self.catalog.plan(meta.get("plan", ""))
        except BadInputError:
            return None
        return plan if plan.subscription else None

    def pack(self, pack_id: str | None) -> PackSpec | None:
        try:
            return self.catalog.pack(pack_id or "")
        except BadInputError:
            return None


def _checkout_completed(ctx: _Apply, session: StripeObject) -> bool:
    meta = metadata(session)
    team = ctx.team_of(session, meta)
    if team is None:
        log.warning("checkout session %s names no team", session.get("id"))
        return False
    account = ctx.account(team)
    ctx.remember_customer(account, session)
    mode = session.get("mode")
    if mode == "payment":
        applied = _credit_purchase(ctx, team, session, meta)
    elif mode == "subscription":
        applied = _subscription_started(ctx, team, session, meta)
    else:
        applied = False
    if applied and account.converted_at is None:
        account.converted_at = ctx.now
        ctx.session.add(account)
        ctx.effects.conversions.append("pack" if mode == "payment" else "plan")
    return applied


def _credit_purchase(ctx: _Apply, team: str, session: StripeObject, meta: dict[str, str]) -> bool:
    if session.get("payment_status") != "paid":
        # Delayed payment methods complete unpaid; billing sells only paid-at-once packs.
        log.warning("checkout session %s completed unpaid: no credits", session.get("id"))
        return False
    pack = ctx.pack(meta.get("pack"))
    session_id = str(session.get("id", ""))
    if pack is None or not session_id:
        log.warning("checkout session %s names no known pack", session_id)
        return False
    if _ledger_entry(ctx.session, session_id) is not None:
        return False
    ctx.session.add(
        CreditEntry(
            team_id=team,
            source_ref=session_id,
            kind="purchase",
            pack_id=pack.id,
            images=pack.images,
            payment_intent=ref_id(session.get("payment_intent")),
            created_at=ctx.now,
        )
    )
    ctx.effects.credits_sold.append((pack.id, pack.images))
    return True


def _subscription_started(
    ctx: _Apply, team: str, session: StripeObject, meta: dict[str, str]
) -> bool:
    subscription_id = ref_id(session.get("subscription"))
    plan = ctx.plan(None, meta)
    if subscription_id is None or plan is None:
        return False
    if ctx.session.get(Subscription, subscription_id) is None:
        # Checkout completed means it was paid. The subscription's own events (newer than
        # 0 whatever their time) say more when they come, in whichever order.
        ctx.session.add(
            Subscription(
                id=subscription_id, team_id=team, plan=plan.id, status="active", updated_at=ctx.now
            )
        )
    return True


def _subscription_changed(ctx: _Apply, sub: StripeObject, *, deleted: bool = False) -> bool:
    subscription_id = ref_id(sub.get("id"))
    if subscription_id is None:
        return False
    row = ctx.session.get(Subscription, subscription_id, with_for_update=True)
    status = CANCELED if deleted else str(sub.get("status", ""))
    if row is not None and not _newer(ctx.created, status, row):
        return False
    meta = metadata(sub)
    team = ctx.team_of(sub, meta) or (row.team_id if row is not None else None)
    plan = ctx.plan(subscription_price(sub), meta)
    if team is None or (plan is None and row is None):
        log.warning("subscription %s: no team or plan, ignored", subscription_id)
        return False
    ctx.remember_customer(ctx.account(team), sub)
    row = row or Subscription(id=subscription_id, team_id=team, plan="", status=status)
    row.plan = plan.id if plan is not None else row.plan
    row.status = status
    row.current_period_end = subscription_period_end(sub) or row.current_period_end
    row.last_event_created = ctx.created
    row.updated_at = ctx.now
    ctx.session.add(row)
    return True


def _newer(created: int, status: str, row: Subscription) -> bool:
    if row.status == CANCELED:
        return False  # final for this id
    if created != row.last_event_created:
        return created > row.last_event_created
    return _status_rank(status) >= _status_rank(row.status)


def _invoice_event(ctx: _Apply, invoice: StripeObject, *, paid: bool) -> bool:
    invoice_id = ref_id(invoice.get("id"))
    subscription_id = invoice_subscription(invoice)
    # Locks in the order every applier takes them: the subscription row, then the account.
    row = (
        ctx.session.get(Subscription, subscription_id, with_for_update=True)
        if subscription_id
        else None
    )
    meta = invoice_metadata(invoice)
    team = ctx.team_of(invoice, meta) or (row.team_id if row is not None else None)
    if invoice_id is None or team is None:
        log.warning("invoice %s names no team", invoice_id)
        return False
    ctx.remember_customer(ctx.account(team), invoice)
    _mirror_invoice(ctx, invoice_id, team, subscription_id, invoice, paid=paid)
    if not paid:
        ctx.effects.failed_payments += 1
    status = "active" if paid else "past_due"
    if row is None and subscription_id is not None:
        # The invoice came before any event of its subscription.
        plan = ctx.plan(invoice_price(invoice), meta)
        if plan is not None:
            row = Subscription(id=subscription_id, team_id=team, plan=plan.id, status=status)
    elif row is not None and not _newer(ctx.created, status, row):
        return True
    if row is not None:
        row.status = status
        row.last_event_created = ctx.created
        row.updated_at = ctx.now
        ctx.session.add(row)
    return True


def _mirror_invoice(
    ctx: _Apply,
    invoice_id: str,
    team: str,
    subscription_id: str | None,
    invoice: StripeObject,
    *,
    paid: bool,
) -> None:
    row = ctx.session.get(Invoice, invoice_id) or Invoice(
        id=invoice_id, team_id=team, status="open"
    )
    row.subscription_id = subscription_id
    row.amount_paid_cents = integer(invoice, "amount_paid")
    row.currency = str(invoice.get("currency") or "usd")
    # "paid" is final: a late payment_failed of a since-paid invoice does not reopen it.
    if row.status != "paid":
        row.status = str(invoice.get("status") or ("paid" if paid else "open"))
    row.created_at = timestamp(invoice.get("created")) or row.created_at
    row.hosted_invoice_url = str(invoice.get("hosted_invoice_url") or "")
    ctx.session.add(row)


def _charge_refunded(ctx: _Apply, charge: StripeObject) -> bool:
    ctx.effects.refunds += 1
    charge_id = ref_id(charge.get("id"))
    payment_intent = ref_id(charge.get("payment_intent"))
    meta = metadata(charge)
    purchase = (
        ctx.session.exec(
            select(CreditEntry)
            .where(CreditEntry.payment_intent == payment_intent)
            .where(CreditEntry.kind == "purchase")
        ).first()
        if payment_intent
        else None
    )
    team = meta.get("team_id") or (purchase.team_id if purchase else None)
    pack = ctx.pack(meta.get("pack") or (purchase.pack_id if purchase else None))
    if charge_id is None or team is None or pack is None:
        return False  # not a credit pack's charge (a subscription invoice's): nothing to take
    amount, refunded = integer(charge, "amount"), integer(charge, "amount_refunded")
    # A partial refund takes back its share of the pack, rounded down; the event carries the
    # charge's total refunded so far, so later (or reordered) partial refunds only grow it.
    images = pack.images if refunded >= amount else pack.images * refunded // amount
    entry = _ledger_entry(ctx.session, f"refund:{charge_id}")
    if entry is not None and -entry.images >= images:
        return False
    taken_before = -entry.images if entry is not None else 0
    entry = entry or CreditEntry(
        team_id=team,
        source_ref=f"refund:{charge_id}",
        kind="refund",
        pack_id=pack.id,
        images=0,
        payment_intent=payment_intent,
        created_at=ctx.now,
    )
    entry.images = -images
    ctx.session.add(entry)
    ctx.effects.credits_refunded += images - taken_before
    return True


def _ledger_entry(session: Session, source_ref: str) -> CreditEntry | None:
    return session.exec(select(CreditEntry).where(CreditEntry.source_ref == source_ref)).first()


Applier = Callable[[_Apply, StripeObject], bool]

APPLIERS: dict[str, Applier] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": lambda ctx, sub: _subscription_changed(ctx, sub, deleted=True),
    "invoice.paid": lambda ctx, invoice: _invoice_event(ctx, invoice, paid=True),
    "invoice.payment_failed": lambda ctx, invoice: _invoice_event(ctx, invoice, paid=False),
    "charge.refunded": _charge_refunded,
}
# What to enable on the Stripe webhook endpoint (README).
EVENT_TYPES = tuple(APPLIERS)


class WebhookHandler:
    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        secret: str | None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self._secret = secret
        self.clock = clock

    def handle(self, payload: bytes, signature: str) -> WebhookResult:
        event = self._verify(payload, signature)
        event_id, event_type = str(event["id"]), str(event["type"])
        created = integer(event, "created")
        obj = (event.get("data") or {}).get("object")
        applier = APPLIERS.get(event_type)
        effects = Effects()
        try:
            with transaction(self.engine) as session:
                if session.get(StripeEvent, event_id) is not None:
                    return self._seen(event_id, event_type, "duplicate")
                session.add(StripeEvent(event_id=event_id, type=event_type, event_created=created))
                # A concurrent delivery of this event waits on the key here, then fails.
                session.flush()
                ctx = _Apply(session, self.catalog, created, self.clock(), effects)
                applied = applier is not None and isinstance(obj, dict) and applier(ctx, obj)
        except IntegrityError:
            if self._recorded(event_id):
                return self._seen(event_id, event_type, "duplicate")
            # Another event created the same row meanwhile: nothing was kept, so an error
            # makes Stripe deliver this one again, to apply over the winner's row.
            raise ServiceUnavailableError(
                f"{event_type} {event_id} raced another event; retry",
                code=errors.STRIPE_UNAVAILABLE,
            ) from None
        effects.emit()
        metrics.WEBHOOKS.labels(type=event_type, result="applied" if applied else "ignored").inc()
        if applied:
            metrics.refresh_active_subscriptions(self.engine, [p.id for p in self.catalog.plans])
        return WebhookResult(event_id, event_type, applied)

    def _recorded(self, event_id: str) -> bool:
        with transaction(self.engine) as session:
            return session.get(StripeEvent, event_id) is not None

    def _seen(self, event_id: str, event_type: str, result: str) -> WebhookResult:
        metrics.WEBHOOKS.labels(type=event_type, result=result).inc()
        return WebhookResult(event_id, event_type, False)

    def _verify(self, payload: bytes, signature: str) -> StripeObject:
        if not self._secret:
            raise ServiceUnavailableError(
                "webhooks are not configured (GLOBALPIC_BILLING__STRIPE_WEBHOOK_SECRET)",
                code=errors.STRIPE_UNAVAILABLE,
            )
        try:
            stripe.Webhook.construct_event(
                payload, signature, self._secret, tolerance=SIGNATURE_TOLERANCE_S
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise BadInputError(
                f"webhook signature does not verify ({type(exc).__name__})",
                code=errors.BAD_SIGNATURE,
            ) from None
        event = json.loads(payload)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise BadInputError("webhook payload is not a Stripe event", code=errors.BAD_OPTION)
        return event

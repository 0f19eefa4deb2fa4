"""Business metrics for ops (``globalpic_billing_*``, prometheus_client's default registry).

Counters move only after the transaction that caused them committed, so a rolled-back or
replayed input (a webhook delivered twice, a ``done`` event redelivered) counts once. The
active-subscriptions gauge is recounted from the database after each webhook, which keeps it
right across restarts and replicas.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from globalpic_billing.db import transaction
from globalpic_billing.models import ENTITLED_STATUSES, Subscription
from globalpic_billing.plans import Pool

SIGNUPS = Counter("globalpic_billing_signups", "Billing accounts created (teams first seen)")
CONVERSIONS = Counter(
    "globalpic_billing_conversions", "Teams' first paid checkout, by what they bought", ("kind",)
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "globalpic_billing_active_subscriptions", "Active or trialing subscriptions", ("plan",)
)
FAILED_PAYMENTS = Counter("globalpic_billing_failed_payments", "invoice.payment_failed applied")
REFUNDS = Counter("globalpic_billing_refunds", "Charge refunds applied")
CREDITS_SOLD = Counter("globalpic_billing_credits_sold", "Prepaid image credits sold", ("pack",))
CREDITS_REFUNDED = Counter("globalpic_billing_credits_refunded", "Prepaid image credits refunded")
CREDITS_USED = Counter("globalpic_billing_credits_used", "Prepaid image credits charged")
IMAGES_CHARGED = Counter(
    "globalpic_billing_images_charged", "Images billed (completed, not cached), by pool", ("pool",)
)
RESERVATIONS = Counter(
    "globalpic_billing_reservations",
    "Reserve answers: granted, or the reason refused",
    ("outcome",),
)
WEBHOOKS = Counter(
    "globalpic_billing_webhooks",
    "Webhook deliveries by event type and result (applied, duplicate, ignored)",
    ("type", "result"),
)


def account_created(created: bool) -> None:
    if created:
        SIGNUPS.inc()


def reserved(granted: bool, reason: str) -> None:
    RESERVATIONS.labels(outcome="granted" if granted else reason).inc()


def charged(pool: Pool) -> None:
    IMAGES_CHARGED.labels(pool=pool.value).inc()
    if pool is Pool.CREDITS:
        CREDITS_USED.inc()


def refresh_active_subscriptions(engine: Engine, plans: list[str]) -> None:
    with transaction(engine) as session:
        rows = session.exec(
            select(Subscription.plan, func.count())
            .where(col(Subscription.status).in_(ENTITLED_STATUSES))
            .group_by(col(Subscription.plan))
        ).all()
    counts = {plan: int(n) for plan, n in rows}
    for plan in {*plans, *counts}:
        ACTIVE_SUBSCRIPTIONS.labels(plan=plan).set(counts.get(plan, 0))

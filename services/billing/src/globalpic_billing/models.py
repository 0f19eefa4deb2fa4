"""SQLModel tables (prefix ``billing_``): accounts, subscriptions, reservations, the credit
ledger, Stripe events seen, invoices.

Balances are never stored as running totals: credits left, trial images left and images this
month are counted from the ledger and the reservations, so a replayed or reordered input can
only add a row that a unique key refuses, never skew a counter.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from globalpic_db.clock import utcnow


class ReservationState(StrEnum):
    RESERVED = "reserved"  # held by a running job
    CHARGED = "charged"  # completed (not from the cache): billed, final
    RELEASED = "released"  # failed, cancelled, cached or given back: final


# Stripe subscription statuses under which the plan applies, and those that want a payment.
ENTITLED_STATUSES = ("active", "trialing")
UNPAID_STATUSES = ("past_due", "unpaid")


class Account(SQLModel, table=True):
    """One per team, created the first time billing sees the team (plan ``free``)."""

    __tablename__ = "billing_account"

    team_id: str = Field(primary_key=True, max_length=64)
    stripe_customer_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    # The first paid checkout (the conversions metric counts it once).
    converted_at: datetime | None = None
    # Personal fair use: past the monthly allowance, the next image is allowed from then.
    throttle_next_at: datetime | None = None


class Subscription(SQLModel, table=True):
    """Stripe's subscription mirrored, one row per subscription id.

    ``last_event_created`` is the ``created`` time of the newest event applied to the row: an
    older event arriving late is ignored. ``canceled`` is final for the id.
    """

    __tablename__ = "billing_subscription"

    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(index=True, max_length=64)
    plan: str = Field(max_length=32)
    status: str = Field(max_length=32)
    current_period_end: datetime | None = None
    last_event_created: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Reservation(SQLModel, table=True):
    """One image of one job: held at Reserve, settled once from the job's events."""

    __tablename__ = "billing_reservation"
    __table_args__ = (
        sa.UniqueConstraint("job_id", "image_index", name="uq_billing_reservation_image"),
        sa.Index("ix_billing_reservation_team_state", "team_id", "pool", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64)
    image_index: int
    team_id: str = Field(max_length=64)
    pool: str = Field(max_length=16)
    state: str = Field(default=ReservationState.RESERVED.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    settled_at: datetime | None = None


class CreditEntry(SQLModel, table=True):
    """Prepaid credits bought (+) or refunded (-), keyed by what caused the entry: the
    checkout session of a purchase, ``refund:<charge id>`` of a refund. Usage is not in the
    ledger: it is the charged reservations of the ``credits`` pool."""

    __tablename__ = "billing_credit_entry"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=64)
    source_ref: str = Field(unique=True, max_length=255)
    kind: str = Field(max_length=16, description="purchase or refund")
    pack_id: str | None = Field(default=None, max_length=32)
    images: int
    payment_intent: str | None = Field(default=None, index=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class StripeEvent(SQLModel, table=True):
    """Every webhook event applied, by id: a second delivery finds its row and does nothing."""

    __tablename__ = "billing_stripe_event"

    event_id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=64)
    event_created: int
    received_at: datetime = Field(default_factory=utcnow)


class Invoice(SQLModel, table=True):
    __tablename__ = "billing_invoice"

    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(index=True, max_length=64)
    subscription_id: str | None = Field(default=None, max_length=64)
    amount_paid_cents: int = 0
    currency: str = Field(default="usd", max_length=8)
    status: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    hosted_invoice_url: str = Field(default="", max_length=2000)


# This service's tables, for its migrations and its schema check (globalpic_db.own_tables).
TABLES: tuple[type[SQLModel], ...] = (
    Account,
    Subscription,
    Reservation,
    CreditEntry,
    StripeEvent,
    Invoice,
)

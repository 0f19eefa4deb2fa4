"""A team's standing: its account row (created on first sight), the plan in force and what is
left, counted from the reservations and the credit ledger inside the caller's transaction.

The effective plan: an ``active`` / ``trialing`` subscription's plan; else a ``past_due`` /
``unpaid`` one's (Reserve answers ``payment_required``); else ``payg`` once credits were ever
bought; else ``free``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from globalpic_billing.models import (
    ENTITLED_STATUSES,
    UNPAID_STATUSES,
    Account,
    CreditEntry,
    Reservation,
    ReservationState,
    Subscription,
)
from globalpic_billing.plans import FREE, PAYG, Catalog, PlanSpec, Pool, pool_for

UNLIMITED = -1


def month_start(now: datetime) -> datetime:
    """The calendar month (UTC) ``now`` is in starts here."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def ensure_account(session: Session, team_id: str, now: datetime) -> bool:
    """Create the team's account unless it exists; True when this call created it. Two
    transactions racing for a new team both succeed: the loser's insert does nothing."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Account)
        .values(team_id=team_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["team_id"])
    )
    result = session.execute(statement)
    return bool(getattr(result, "rowcount", 0) == 1)


def lock_account(
    session: Session, team_id: str, now: datetime, *, for_update: bool = True
) -> tuple[Account, bool]:
    """The team's account row, locked until the transaction ends (``FOR UPDATE`` on
    PostgreSQL; SQLite's transaction already holds the database's write lock), created when
    missing; True when this call created it. Everything that spends the team's allowance
    goes through this lock; a read (``for_update=False``) does not wait for it."""
    query = select(Account).where(Account.team_id == team_id)
    if for_update:
        query = query.with_for_update()
    account = session.exec(query).first()
    if account is not None:
        return account, False
    created = ensure_account(session, team_id, now)
    return session.exec(query).one(), created


def current_subscription(session: Session, team_id: str) -> Subscription | None:
    """The subscription that decides the plan: an entitled one first, else one that wants a
    payment; the newest by its last event when a team has several."""
    rows = session.exec(
        select(Subscription)
        .where(Subscription.team_id == team_id)
        .where(col(Subscription.status).in_(ENTITLED_STATUSES + UNPAID_STATUSES))
        .order_by(col(Subscription.last_event_created).desc())
    ).all()
    entitled = [row for row in rows if row.status in ENTITLED_STATUSES]
    candidates = entitled or list(rows)
    return candidates[0] if candidates else None


def latest_subscription(session: Session, team_id: str) -> Subscription | None:
    return session.exec(
        select(Subscription)
        .where(Subscription.team_id == team_id)
        .order_by(col(Subscription.last_event_created).desc())
    ).first()


@dataclass(frozen=True)
class Standing:
    team_id: str
    plan: PlanSpec
    # The subscription deciding the plan (entitled or wanting a payment), if any.
    subscription: Subscription | None
    # What the account shows: that one, else the latest (a canceled one, say).
    shown_subscription: Subscription | None
    trial_remaining: int
    credits_bought: int  # purchases net of refunds
    credits_used: int  # charged from credits
    credits_held: int  # reserved from credits by running jobs
    images_charged: int
    images_reserved: int
    images_this_month: int
    # Fair use counts what a subscription used this month, held images included, so a
    # burst of jobs cannot slip past the threshold before they settle.
    subscription_month_used: int

    @property
    def pool(self) -> Pool:
        return pool_for(self.plan)

    @property
    def credits(self) -> int:
        # A refund may take back credits already spent: the balance stops at 0.
        return max(0, self.credits_bought - self.credits_used - self.credits_held)

    @property
    def payment_required(self) -> bool:
        return self.subscription is not None and self.subscription.status in UNPAID_STATUSES

    @property
    def throttled(self) -> bool:
        fair_use = self.plan.fair_use_images
        return bool(fair_use) and self.subscription_month_used >= fair_use

    @property
    def remaining_images(self) -> int:
        if self.payment_required:
            return 0
        if self.pool is Pool.SUBSCRIPTION:
            return UNLIMITED
        return self.credits if self.pool is Pool.CREDITS else self.trial_remaining


def standing_of(session: Session, team_id: str, catalog: Catalog, now: datetime) -> Standing:
    counts: dict[tuple[str, str], int] = {
        (pool, state): int(n)
        for pool, state, n in session.exec(
            select(Reservation.pool, Reservation.state, func.count())
            .where(Reservation.team_id == team_id)
            .group_by(col(Reservation.pool), col(Reservation.state))
        ).all()
    }
    charged, reserved = ReservationState.CHARGED.value, ReservationState.RESERVED.value
    start = month_start(now)
    # This month: charged since it began, or held by a job submitted since.
    this_month: dict[tuple[str, str], int] = {
        (pool, state): int(n)
        for pool, state, n in session.exec(
            select(Reservation.pool, Reservation.state, func.count())
            .where(Reservation.team_id == team_id)
            .where(
                sa.or_(
                    sa.and_(
                        col(Reservation.state) == charged, col(Reservation.settled_at) >= start
                    ),
                    sa.and_(
                        col(Reservation.state) == reserved, col(Reservation.created_at) >= start
                    ),
                )
            )
            .group_by(col(Reservation.pool), col(Reservation.state))
        ).all()
    }
    ledger = session.exec(
        select(
            func.coalesce(func.sum(CreditEntry.images), 0),
            func.count(sa.case((col(CreditEntry.kind) == "purchase", 1))),
        ).where(CreditEntry.team_id == team_id)
    ).one()
    credits_bought, purchases = int(ledger[0]), int(ledger[1])
    subscription = current_subscription(session, team_id)
    if subscription is not None:
        plan = catalog.plan(subscription.plan)
    else:
        plan = catalog.plan(PAYG if purchases else FREE)
    trial, credits, sub = Pool.TRIAL.value, Pool.CREDITS.value, Pool.SUBSCRIPTION.value
    trial_used = counts.get((trial, charged), 0) + counts.get((trial, reserved), 0)
    return Standing(
        team_id=team_id,
        plan=plan,
        subscription=subscription,
        shown_subscription=subscription or latest_subscription(session, team_id),
        trial_remaining=max(0, catalog.plan(FREE).included_images - trial_used),
        credits_bought=credits_bought,
        credits_used=counts.get((credits, charged), 0),
        credits_held=counts.get((credits, reserved), 0),
        images_charged=sum(n for (_, state), n in counts.items() if state == charged),
        images_reserved=sum(n for (_, state), n in counts.items() if state == reserved),
        images_this_month=sum(n for (_, state), n in this_month.items() if state == charged),
        subscription_month_used=this_month.get((sub, charged), 0)
        + this_month.get((sub, reserved), 0),
    )

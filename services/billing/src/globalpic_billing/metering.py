"""Reserve, settle, release: how a job's images are held and billed.

* ``reserve`` holds all of a job's images or none (a batch larger than what is left is
  refused whole, saying how many remain and what would unlock it), under the account's row
  lock, so concurrent submissions cannot spend the same image twice.
* ``settle`` runs once per image ``done`` event: a held image becomes ``charged`` (completed,
  not from the cache) or ``released`` (failed, cancelled, cached). Both are final, so a
  redelivered event or a retried image is billed once.
* ``release`` gives back what a job still holds (its submission failed after Reserve).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from globalpic_billing import metrics
from globalpic_billing.db import transaction
from globalpic_billing.models import Account, Invoice, Reservation, ReservationState
from globalpic_billing.plans import Catalog, Pool
from globalpic_billing.standing import Standing, lock_account, standing_of
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_db.clock import utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

QUOTA_EXCEEDED = "quota_exceeded"
BATCH_TOO_LARGE = "batch_too_large"
THROTTLED = "throttled"
PAYMENT_REQUIRED = "payment_required"


@dataclass(frozen=True)
class ReserveOutcome:
    granted: bool
    remaining_images: int
    reason: str = ""
    message: str = ""
    retry_after_s: int = 0
    unlock: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    standing: Standing
    invoices: list[Invoice] = field(default_factory=list)


class Settled(StrEnum):
    CHARGED = "charged"
    RELEASED = "released"
    UNCHANGED = "unchanged"  # settled before: a redelivery
    UNMETERED = "unmetered"  # no reservation: the job's tenant is not metered


class Meter:
    def __init__(self, engine: Engine, catalog: Catalog, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.catalog = catalog
        self.clock = clock

    # --- reads ---------------------------------------------------------------------------

    def standing(self, team_id: str) -> Standing:
        """The team's plan and balances (its account is created the first time)."""
        _require(team_id=team_id)
        now = self.clock()
        with transaction(self.engine) as session:
            _, created = lock_account(session, team_id, now, for_update=False)
            standing = standing_of(session, team_id, self.catalog, now)
        metrics.account_created(created)
        return standing

    def usage(self, team_id: str) -> Usage:
        standing = self.standing(team_id)
        with transaction(self.engine) as session:
            invoices = session.exec(
                select(Invoice)
                .where(Invoice.team_id == team_id)
                .order_by(col(Invoice.created_at).desc())
            ).all()
        return Usage(standing, list(invoices))

    def customer_id(self, team_id: str) -> str | None:
        """The team's Stripe customer, once it paid (or started a checkout with one)."""
        _require(team_id=team_id)
        with transaction(self.engine) as session:
            account = session.get(Account, team_id)
        return account.stripe_customer_id if account is not None else None

    # --- reserve -------------------------------------------------------------------------

    def reserve(self, team_id: str, job_id: str, images: int) -> ReserveOutcome:
        _require(team_id=team_id, job_id=job_id)
        if images < 1:
            raise BadInputError("Reserve: images must be at least 1", code=errors.BAD_OPTION)
        now = self.clock()
        with transaction(self.engine) as session:
            account, created = lock_account(session, team_id, now)
            held = session.exec(
                select(func.count()).select_from(Reservation).where(Reservation.job_id == job_id)
            ).one()
            standing = standing_of(session, team_id, self.catalog, now)
            if held:
                # Asked again for the same job (a retried call): the same answer, nothing new.
                outcome = ReserveOutcome(True, standing.remaining_images)
            else:
                outcome = self._decide(standing, account, images, now)
                if outcome.granted:
                    pool = standing.pool.value
                    session.add_all(
                        Reservation(
                            job_id=job_id, image_index=n, team_id=team_id, pool=pool, created_at=now
                        )
                        for n in range(images)
                    )
                    if standing.throttled:
                        throttle = timedelta(seconds=standing.plan.throttle_seconds)
                        account.throttle_next_at = now + throttle
                        session.add(account)
        metrics.account_created(created)
        metrics.reserved(outcome.granted, outcome.reason)
        return outcome

    def _decide(
        self, standing: Standing, account: Account, images: int, now: datetime
    ) -> ReserveOutcome:
        """Grant (with what will be left) or refuse (why, and what would unlock it)."""
        plan, remaining = standing.plan, standing.remaining_images
        if standing.payment_required:
            return ReserveOutcome(
                False,
                0,
                PAYMENT_REQUIRED,
                f"The last payment of your {plan.name} subscription failed: update your "
                "payment method in the billing portal to continue.",
            )
        unlock = tuple(self.catalog.unlocks(images, plan))
        if images > plan.max_batch:
            return ReserveOutcome(
                False,
                remaining,
                BATCH_TOO_LARGE,
                f"{plan.name} takes at most {plan.max_batch} images per job; this one has "
                f"{images}.{_offer(unlock)}",
                unlock=unlock,
            )
        if remaining >= 0 and images > remaining:
            left = "no images" if remaining == 0 else _images(remaining)
            return ReserveOutcome(
                False,
                remaining,
                QUOTA_EXCEEDED,
                f"{plan.name}: {left} left, this job has {images}.{_offer(unlock)}",
                unlock=unlock,
            )
        if standing.throttled:
            wait = _seconds_until(account.throttle_next_at, now)
            if images > 1 or wait:
                return ReserveOutcome(
                    False,
                    remaining,
                    THROTTLED,
                    f"{plan.name} fair use: past {plan.fair_use_images} images this month, "
                    f"one image every {plan.throttle_seconds} s; submit one image"
                    f"{f' in {wait} s' if wait else ''}.{_offer(unlock)}",
                    retry_after_s=wait or plan.throttle_seconds,
                    unlock=unlock,
                )
        after = remaining if remaining < 0 else remaining - images
        return ReserveOutcome(True, after)

    # --- settle / release ------------------------------------------------------------------

    def settle(self, job_id: str, image: int, *, completed: bool, cached: bool) -> Settled:
        """One image finished (its ``done`` event): charge it once or give it back."""
        with transaction(self.engine) as session:
            row = session.exec(
                select(Reservation)
                .where(Reservation.job_id == job_id)
                .where(Reservation.image_index == image)
                .with_for_update()
            ).first()
            if row is None:
                return Settled.UNMETERED
            if row.state != ReservationState.RESERVED:
                return Settled.UNCHANGED
            charge = completed and not cached
            row.state = (ReservationState.CHARGED if charge else ReservationState.RELEASED).value
            row.settled_at = self.clock()
            session.add(row)
            pool = row.pool
        if charge:
            metrics.charged(Pool(pool))
            return Settled.CHARGED
        return Settled.RELEASED

    def release(self, job_id: str, images: Sequence[int] = ()) -> int:
        """Give back the job's images still held (only ``images`` when given); charged and
        released ones stay as they are. How many were released."""
        _require(job_id=job_id)
        query = (
            select(Reservation)
            .where(Reservation.job_id == job_id)
            .where(Reservation.state == ReservationState.RESERVED.value)
        )
        if images:
            query = query.where(col(Reservation.image_index).in_(list(images)))
        return self._release_held(query)

    def release_stale(self, max_age_s: float) -> int:
        """Give back images held longer than ``max_age_s`` without a ``done`` event: their
        job never got queued (the gateway died between Reserve and publishing) or its events
        are gone. The customer keeps the images; a ``done`` arriving later changes nothing."""
        cutoff = self.clock() - timedelta(seconds=max_age_s)
        query = (
            select(Reservation)
            .where(Reservation.state == ReservationState.RESERVED.value)
            .where(Reservation.created_at < cutoff)
        )
        released = self._release_held(query)
        if released:
            log.warning("released %d image(s) held %.0f s without an event", released, max_age_s)
        return released

    def _release_held(self, query: SelectOfScalar[Reservation]) -> int:
        """Mark the held reservations ``query`` selects released (row-locked), now."""
        with transaction(self.engine) as session:
            rows = session.exec(query.with_for_update()).all()
            now = self.clock()
            for row in rows:
                row.state = ReservationState.RELEASED.value
                row.settled_at = now
                session.add(row)
        return len(rows)


def _require(**values: str) -> None:
    for name, value in values.items():
        if not value.strip():
            raise BadInputError(f"{name} is required", code=errors.BAD_OPTION)


def _images(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


def _offer(unlock: Sequence[str]) -> str:
    return f" Unlock it with: {', '.join(unlock)}." if unlock else ""


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    if moment is None or moment <= now:
        return 0
    return math.ceil((moment - now).total_seconds())

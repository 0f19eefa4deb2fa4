"""50 Reserve calls at once for a new team's 3 free-trial images, on PostgreSQL: exactly 3
granted (the account row lock serialises them; each thread has its own connection)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from globalpic_billing import db
from globalpic_billing.metering import QUOTA_EXCEEDED, Meter, ReserveOutcome
from globalpic_billing.settings import BillingSettings
from globalpic_db.engine import normalize_url

CALLERS = 50


def test_fifty_concurrent_reservations_get_exactly_the_three_trial_images(
    postgres_url: str,
) -> None:
    db.migrate(postgres_url)
    # A connection per caller (the default pool would make them queue for connections
    # instead of racing for the row); all start together.
    engine = sa.create_engine(normalize_url(postgres_url), pool_size=CALLERS, max_overflow=0)
    meter = Meter(engine, BillingSettings().catalog())
    start = threading.Barrier(CALLERS)

    def reserve(n: int) -> ReserveOutcome:
        start.wait()
        return meter.reserve("new-team", f"job-{n}", 1)

    try:
        with ThreadPoolExecutor(CALLERS) as pool:
            outcomes = list(pool.map(reserve, range(CALLERS)))
        standing = meter.standing("new-team")
    finally:
        engine.dispose()
    granted = [o for o in outcomes if o.granted]
    assert len(granted) == 3
    assert sorted(o.remaining_images for o in granted) == [0, 1, 2]
    assert {o.reason for o in outcomes if not o.granted} == {QUOTA_EXCEEDED}
    assert (standing.trial_remaining, standing.images_reserved) == (0, 3)

"""Fixtures: billing's database (migrated, on SQLite and PostgreSQL via ``database_url``), a
meter and a webhook handler on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from globalpic_billing import db
from globalpic_billing.metering import Meter
from globalpic_billing.plans import Catalog
from globalpic_billing.settings import BillingSettings
from globalpic_billing.webhooks import WebhookHandler
from services.billing.tests.helpers import SECRET, ManualClock


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def catalog() -> Catalog:
    return BillingSettings().catalog()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def meter(engine: Engine, catalog: Catalog, clock: ManualClock) -> Meter:
    return Meter(engine, catalog, clock=clock)


@pytest.fixture
def webhooks(engine: Engine, catalog: Catalog, clock: ManualClock) -> WebhookHandler:
    return WebhookHandler(engine, catalog, SECRET, clock=clock)

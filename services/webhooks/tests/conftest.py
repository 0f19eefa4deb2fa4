"""Fixtures: the webhooks database (migrated, on SQLite and PostgreSQL via ``database_url``),
a store with a DNS table, an outbox with a retry policy without jitter, all on a manual
clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from globalpic_webhooks import db
from globalpic_webhooks.outbox import Outbox, RetryPolicy
from globalpic_webhooks.settings import DAY_S, DEFAULT_RETRY_SCHEDULE_S
from globalpic_webhooks.store import WebhookStore
from globalpic_webhooks.urls import UrlPolicy
from services.webhooks.tests.helpers import FakeDns, ManualClock


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
def store(engine: Engine, clock: ManualClock, dns: FakeDns) -> WebhookStore:
    return WebhookStore(engine, UrlPolicy(allow_loopback=False, resolver=dns), clock=clock)


@pytest.fixture
def outbox(engine: Engine, clock: ManualClock) -> Outbox:
    return Outbox(engine, RetryPolicy(DEFAULT_RETRY_SCHEDULE_S, DAY_S), clock=clock)

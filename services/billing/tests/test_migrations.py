"""The hand-written migration creates exactly the tables the models describe (on SQLite and
PostgreSQL), in billing's own version table."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from globalpic_billing import models
from globalpic_db.migrations import own_tables


def test_the_migration_matches_the_models(engine: Engine) -> None:
    billing = own_tables(*models.TABLES)
    assert {t.name for t in billing.tables.values()} == {
        models.Account.__tablename__,
        models.Subscription.__tablename__,
        models.Reservation.__tablename__,
        models.CreditEntry.__tablename__,
        models.StripeEvent.__tablename__,
        models.Invoice.__tablename__,
    }
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "alembic_version_billing"}
        )
        diff = [
            change
            for change in compare_metadata(context, billing)
            # other services' tables may share a development database
            if not (change[0] == "remove_table" and not change[1].name.startswith("billing_"))
        ]
        tables = set(sa.inspect(connection).get_table_names())
    assert diff == []
    assert "alembic_version_billing" in tables

"""The hand-written migration creates exactly the tables the models describe (on SQLite and
PostgreSQL), in the service's own version table."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from globalpic_db.migrations import own_tables
from globalpic_webhooks import models


def test_the_migration_matches_the_models(engine: Engine) -> None:
    webhooks = own_tables(*models.TABLES)
    assert {t.name for t in webhooks.tables.values()} == {
        models.Endpoint.__tablename__,
        models.Delivery.__tablename__,
    }
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "alembic_version_webhooks"}
        )
        diff = [
            change
            for change in compare_metadata(context, webhooks)
            # other services' tables may share a development database
            if not (change[0] == "remove_table" and not change[1].name.startswith("webhooks_"))
        ]
        tables = set(sa.inspect(connection).get_table_names())
    assert diff == []
    assert "alembic_version_webhooks" in tables

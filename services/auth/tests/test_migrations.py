"""The hand-written migrations: upgrade and downgrade on SQLite and PostgreSQL, and a schema
that is exactly what the models declare (no create_all anywhere to paper over a drift)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from globalpic_auth import models
from globalpic_auth.db import MIGRATIONS_DIR, VERSION_TABLE, make_engine, migrate
from globalpic_db.migrations import alembic_config, own_tables

AUTH_TABLES = {
    "auth_user",
    "auth_team",
    "auth_membership",
    "auth_invitation",
    "auth_session",
    "auth_refresh_token",
    "auth_api_key",
    "auth_email_token",
    "auth_login_failure",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_matches_the_models_and_downgrade_removes_everything(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # idempotent
    assert _tables(database_url) == AUTH_TABLES | {VERSION_TABLE}

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            auth_metadata = own_tables(*models.TABLES)
            assert set(auth_metadata.tables) == AUTH_TABLES
            assert compare_metadata(context, auth_metadata) == []
    finally:
        engine.dispose()
    assert models.User.__tablename__ == "auth_user"

    command.downgrade(alembic_config(database_url, MIGRATIONS_DIR, VERSION_TABLE), "base")
    assert _tables(database_url) & AUTH_TABLES == set()

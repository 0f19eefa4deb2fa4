"""Billing's database: the shared engine recipe (``globalpic_db``) and its own migrations.

The schema is owned by Alembic (``migrations/``, version table ``alembic_version_billing``);
nothing calls ``create_all``. The server runs ``upgrade head`` at startup
(``migrate_on_startup``).
"""

from __future__ import annotations

from pathlib import Path

from globalpic_db import migrations
from globalpic_db.engine import make_engine
from globalpic_db.session import transaction

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "make_engine", "migrate", "transaction"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_billing"


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (idempotent)."""
    migrations.migrate(url, MIGRATIONS_DIR, VERSION_TABLE)

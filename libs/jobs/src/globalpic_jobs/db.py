"""The job store's database: the shared engine recipe (``globalpic_db``) and its migrations.

The schema is owned by Alembic (``migrations/``); nothing calls ``create_all``. The gateway and
the orchestrator run ``upgrade head`` at startup (``migrate_on_startup``), and
``globalpic-gateway-migrate`` does it by hand.
"""

from __future__ import annotations

from pathlib import Path

from globalpic_db import migrations
from globalpic_db.engine import make_engine, normalize_url, reads_engine

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "make_engine",
    "migrate",
    "normalize_url",
    "reads_engine",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic's default name: databases migrated before the services had tables of their own keep
# their history.
VERSION_TABLE = "alembic_version"


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (idempotent)."""
    migrations.migrate(url, MIGRATIONS_DIR, VERSION_TABLE)

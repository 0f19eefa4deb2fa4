"""The webhooks service's database: the shared engine recipe (``globalpic_db``) and its own
migrations.

The schema is owned by Alembic (``migrations/``, version table ``alembic_version_webhooks``);
nothing calls ``create_all``. The server runs ``upgrade head`` at startup
(``migrate_on_startup``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from globalpic_db import migrations
from globalpic_db.engine import make_engine

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "make_engine", "migrate", "transaction"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_webhooks"


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (idempotent)."""
    migrations.migrate(url, MIGRATIONS_DIR, VERSION_TABLE)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises. On SQLite it
    holds the write lock from BEGIN (``globalpic_db.engine``), so transactions serialise."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session

"""One unit of work on a service's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises. On SQLite it
    holds the write lock from BEGIN (``globalpic_db.engine``), so transactions serialise."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session

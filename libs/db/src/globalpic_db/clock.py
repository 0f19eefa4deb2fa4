"""The one clock of the stored rows."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Aware UTC: SQLModel's ``UTCDateTime`` columns store and return UTC on SQLite and
    PostgreSQL alike, so expiries, TTLs and ordering compare the same on both."""
    return datetime.now(UTC)

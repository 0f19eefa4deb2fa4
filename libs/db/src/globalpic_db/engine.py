"""The SQLAlchemy engine: SQLite by default, PostgreSQL (psycopg 3) by URL.

Every stateful service (the job store, auth, billing) builds its engine here, so SQLite gets the
same multi-process settings everywhere and ``postgresql://`` means psycopg 3 everywhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event start transactions (pysqlite's own BEGIN is deferred).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # Several processes write one file: WAL lets readers proceed during a write, and
    # busy_timeout makes a writer wait instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # A deferred transaction that reads, then writes, fails with SQLITE_BUSY when another
    # process wrote in between (busy_timeout does not apply to that upgrade). Taking the write
    # lock up front serialises transactions instead: what PostgreSQL's row locks give us there.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def reads_engine(engine: Engine) -> Engine:
    """``engine`` (its pool) for hot reads: on PostgreSQL in autocommit, so a read is its
    SELECTs alone, without the BEGIN and ROLLBACK round trips of a transaction. Each statement
    of a READ COMMITTED transaction sees its own snapshot anyway: nothing is lost. SQLite keeps
    ``engine`` (a local file, no round trips; its connections' transaction mode is set up by
    ``_sqlite_connect`` and must not be reset by an isolation-level switch)."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")

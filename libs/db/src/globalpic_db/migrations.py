"""Running a service's Alembic migrations, and the body of its ``env.py``.

Each service owns its tables and its migration history (``<package>/migrations``) and records
its revision in a version table of its own (``alembic_version_auth``, ...), so services may
share one database in development without stepping on each other's history.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from globalpic_db.engine import make_engine, normalize_url

VERSION_TABLE_OPTION = "globalpic_version_table"


def own_tables(*models: type[SQLModel]) -> MetaData:
    """The tables of ``models`` alone. ``SQLModel.metadata`` holds every table any imported
    service declared (a test process imports several): a service's migrations and its
    schema check must see its own tables only."""
    metadata = MetaData()
    for model in models:
        table = getattr(model, "__table__", None)
        if table is None:
            raise TypeError(f"{model.__name__} is not a table model")
        table.to_metadata(metadata)
    return metadata


def alembic_config(url: str, script_location: Path, version_table: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    # ConfigParser interpolation: a password with % must be escaped
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    cfg.set_main_option(VERSION_TABLE_OPTION, version_table)
    return cfg


def migrate(url: str, script_location: Path, version_table: str) -> None:
    """``alembic upgrade head`` of one service's migrations on ``url`` (idempotent)."""
    # Create the SQLite file's folder before Alembic connects.
    make_engine(url).dispose()
    command.upgrade(alembic_config(url, script_location, version_table), "head")


def run_env(metadata: MetaData, default_version_table: str) -> None:
    """What a service's ``migrations/env.py`` runs. The URL comes from the Config (``migrate``)
    or, run by hand (``alembic -c <service>/alembic.ini -x url=<database url> upgrade head``),
    from ``-x url=``."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or context.get_x_argument(
        as_dictionary=True
    ).get("url")
    if not url:
        raise SystemExit("no database URL: run alembic with -x url=<database url>")
    version_table = config.get_main_option(VERSION_TABLE_OPTION) or default_version_table
    if context.is_offline_mode():
        context.configure(
            url=normalize_url(url),
            target_metadata=metadata,
            literal_binds=True,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

"""Alembic environment: the URL comes from the Config (set by ``db.alembic_config``) or, when
run by hand as ``alembic -c libs/jobs/alembic.ini -x url=<database url> upgrade head``, from
``-x url=``. (The services migrate at startup, ``globalpic-gateway-migrate`` from its settings.)
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from globalpic_jobs import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from globalpic_jobs.db import make_engine, normalize_url

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("no database URL: run alembic with -x url=<database url>")
    return normalize_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

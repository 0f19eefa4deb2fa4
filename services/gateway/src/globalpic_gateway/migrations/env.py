"""Alembic environment: the URL comes from the Config (set by ``core.db.alembic_config``) or,
when run as ``alembic -c services/gateway/alembic.ini``, from ``GLOBALPIC_GATEWAY__DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from globalpic_gateway import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from globalpic_gateway.core.db import make_engine, normalize_url

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from globalpic_gateway.core.config import GatewaySettings

        url = GatewaySettings().database_url
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

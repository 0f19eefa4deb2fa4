"""Alembic environment of the auth service (``globalpic_db.migrations.run_env``): run by hand as
``alembic -c services/auth/alembic.ini -x url=<database url> upgrade head``."""

from __future__ import annotations

from sqlmodel import SQLModel

from globalpic_auth import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from globalpic_auth.db import VERSION_TABLE
from globalpic_db.migrations import run_env

run_env(SQLModel.metadata, VERSION_TABLE)

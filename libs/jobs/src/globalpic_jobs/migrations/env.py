"""Alembic environment of the job store (``globalpic_db.migrations.run_env``): run by hand as
``alembic -c libs/jobs/alembic.ini -x url=<database url> upgrade head``."""

from __future__ import annotations

from sqlmodel import SQLModel

from globalpic_db.migrations import run_env
from globalpic_jobs import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from globalpic_jobs.db import VERSION_TABLE

run_env(SQLModel.metadata, VERSION_TABLE)

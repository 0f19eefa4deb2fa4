"""Alembic environment of the job store (``globalpic_db.migrations.run_env``): run by hand as
``alembic -c libs/jobs/alembic.ini -x url=<database url> upgrade head``."""

from __future__ import annotations

from globalpic_db.migrations import own_tables, run_env
from globalpic_jobs.db import VERSION_TABLE
from globalpic_jobs.models import TABLES

run_env(own_tables(*TABLES), VERSION_TABLE)

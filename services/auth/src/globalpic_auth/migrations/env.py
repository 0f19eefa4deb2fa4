"""Alembic environment of the auth service (``globalpic_db.migrations.run_env``): run by hand as
``alembic -c services/auth/alembic.ini -x url=<database url> upgrade head``."""

from __future__ import annotations

from globalpic_auth.db import VERSION_TABLE
from globalpic_auth.models import TABLES
from globalpic_db.migrations import own_tables, run_env

run_env(own_tables(*TABLES), VERSION_TABLE)

"""Alembic environment of webhooks (``globalpic_db.migrations.run_env``): run by hand as
``alembic -c services/webhooks/alembic.ini -x url=<database url> upgrade head``."""

from __future__ import annotations

from globalpic_db.migrations import own_tables, run_env
from globalpic_webhooks.db import VERSION_TABLE
from globalpic_webhooks.models import TABLES

run_env(own_tables(*TABLES), VERSION_TABLE)

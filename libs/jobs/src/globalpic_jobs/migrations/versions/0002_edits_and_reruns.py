"""Edits, re-runs and cancel: a job's extra options, parent and cancel time, an image's brush
masks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("extras", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("parent_job_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("parent_image", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("job_image") as batch:
        batch.add_column(sa.Column("mask_key", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("keep_mask_key", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("reference_key", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("options_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_image") as batch:
        for name in ("options_hash", "reference_key", "keep_mask_key", "mask_key"):
            batch.drop_column(name)
    with op.batch_alter_table("job") as batch:
        for name in ("canceled_at", "parent_image", "parent_job_id", "extras"):
            batch.drop_column(name)

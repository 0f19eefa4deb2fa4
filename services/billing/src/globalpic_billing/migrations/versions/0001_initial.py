"""Initial schema: billing_account, billing_subscription, billing_reservation,
billing_credit_entry, billing_stripe_event, billing_invoice.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "billing_account",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=True),
        _when("created_at"),
        _when("converted_at", nullable=True),
        _when("throttle_next_at", nullable=True),
        sa.PrimaryKeyConstraint("team_id"),
        sa.UniqueConstraint("stripe_customer_id"),
    )
    op.create_table(
        "billing_subscription",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        _when("current_period_end", nullable=True),
        sa.Column("last_event_created", sa.Integer(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_billing_subscription_team_id", "billing_subscription", ["team_id"])
    op.create_table(
        "billing_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("image_index", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("pool", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("settled_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "image_index", name="uq_billing_reservation_image"),
    )
    op.create_index(
        "ix_billing_reservation_team_state", "billing_reservation", ["team_id", "pool", "state"]
    )
    op.create_table(
        "billing_credit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pack_id", sa.String(length=32), nullable=True),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("payment_intent", sa.String(length=64), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_ref"),
    )
    op.create_index("ix_billing_credit_entry_team_id", "billing_credit_entry", ["team_id"])
    op.create_index(
        "ix_billing_credit_entry_payment_intent", "billing_credit_entry", ["payment_intent"]
    )
    op.create_table(
        "billing_stripe_event",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("event_created", sa.Integer(), nullable=False),
        _when("received_at"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "billing_invoice",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("amount_paid_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        _when("created_at"),
        sa.Column("hosted_invoice_url", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_billing_invoice_team_id", "billing_invoice", ["team_id"])


def downgrade() -> None:
    op.drop_table("billing_invoice")
    op.drop_table("billing_stripe_event")
    op.drop_table("billing_credit_entry")
    op.drop_table("billing_reservation")
    op.drop_table("billing_subscription")
    op.drop_table("billing_account")

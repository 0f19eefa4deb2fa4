"""Initial schema: users, teams, memberships, invitations, sessions, refresh tokens, API keys,
email tokens, login failures.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str = "id", *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "auth_user",
        _id(),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _at("locked_until", nullable=True),
        _id("current_team_id", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_auth_user_email"),
    )
    op.create_table(
        "auth_team",
        _id(),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "auth_membership",
        _id("team_id"),
        _id("user_id"),
        sa.Column("role", sa.String(length=16), nullable=False),
        _at("joined_at"),
        sa.ForeignKeyConstraint(["team_id"], ["auth_team.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"]),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.create_index("ix_auth_membership_user_id", "auth_membership", ["user_id"])
    op.create_table(
        "auth_invitation",
        _id(),
        _id("team_id"),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        _at("expires_at"),
        _at("accepted_at", nullable=True),
        _id("invited_by"),
        _at("created_at"),
        sa.ForeignKeyConstraint(["team_id"], ["auth_team.id"]),
        sa.ForeignKeyConstraint(["invited_by"], ["auth_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256", name="uq_auth_invitation_token_sha256"),
    )
    op.create_index("ix_auth_invitation_team_id", "auth_invitation", ["team_id"])
    op.create_table(
        "auth_session",
        _id(),
        _id("user_id"),
        _id("team_id"),
        _at("created_at"),
        _at("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["auth_team.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auth_session_user_id", "auth_session", ["user_id"])
    op.create_table(
        "auth_refresh_token",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        _id("session_id"),
        _at("expires_at"),
        _at("used_at", nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["session_id"], ["auth_session.id"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_auth_refresh_token_session_id", "auth_refresh_token", ["session_id"])
    op.create_table(
        "auth_api_key",
        _id(),
        _id("team_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        _id("created_by"),
        _at("created_at"),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["auth_team.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["auth_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_sha256", name="uq_auth_api_key_key_sha256"),
    )
    op.create_index("ix_auth_api_key_team_id", "auth_api_key", ["team_id"])
    op.create_table(
        "auth_email_token",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        _id("user_id"),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        _at("expires_at"),
        _at("used_at", nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_auth_email_token_user_id", "auth_email_token", ["user_id"])
    op.create_table(
        "auth_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        _at("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auth_login_failure_at", "auth_login_failure", ["at"])
    op.create_index("ix_auth_login_failure_ip_at", "auth_login_failure", ["client_ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_auth_login_failure_ip_at", table_name="auth_login_failure")
    op.drop_index("ix_auth_login_failure_at", table_name="auth_login_failure")
    op.drop_table("auth_login_failure")
    op.drop_index("ix_auth_email_token_user_id", table_name="auth_email_token")
    op.drop_table("auth_email_token")
    op.drop_index("ix_auth_api_key_team_id", table_name="auth_api_key")
    op.drop_table("auth_api_key")
    op.drop_index("ix_auth_refresh_token_session_id", table_name="auth_refresh_token")
    op.drop_table("auth_refresh_token")
    op.drop_index("ix_auth_session_user_id", table_name="auth_session")
    op.drop_table("auth_session")
    op.drop_index("ix_auth_invitation_team_id", table_name="auth_invitation")
    op.drop_table("auth_invitation")
    op.drop_index("ix_auth_membership_user_id", table_name="auth_membership")
    op.drop_table("auth_membership")
    op.drop_table("auth_team")
    op.drop_table("auth_user")

"""SQLModel tables of the auth service (all named ``auth_*``: the service may share a database).

Secrets are never stored: passwords as argon2id hashes, every random token (refresh, email,
invitation) and API key as its SHA-256. The schema is owned by the migrations
(``migrations/versions``); nothing calls ``create_all``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from globalpic_db.clock import utcnow


def new_id() -> str:
    return uuid.uuid4().hex


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def manages_team(self) -> bool:
        """Owners and admins invite, remove members and handle API keys."""
        return self in (Role.OWNER, Role.ADMIN)


class EmailPurpose(StrEnum):
    VERIFY = "verify"
    RESET = "reset"


class User(SQLModel, table=True):
    __tablename__ = "auth_user"
    __table_args__ = (sa.UniqueConstraint("email", name="uq_auth_user_email"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=254, description="Lowercased")
    password_hash: str = Field(max_length=255)
    email_verified: bool = False
    failed_logins: int = Field(default=0, description="Wrong passwords since the last success")
    locked_until: datetime | None = None
    # No foreign key: the user row exists before its personal team.
    current_team_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class Team(SQLModel, table=True):
    __tablename__ = "auth_team"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=300)
    personal: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    __tablename__ = "auth_membership"

    team_id: str = Field(foreign_key="auth_team.id", primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="auth_user.id", primary_key=True, max_length=32, index=True)
    role: str = Field(max_length=16)
    joined_at: datetime = Field(default_factory=utcnow)


class Invitation(SQLModel, table=True):
    __tablename__ = "auth_invitation"
    __table_args__ = (sa.UniqueConstraint("token_sha256", name="uq_auth_invitation_token_sha256"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    team_id: str = Field(foreign_key="auth_team.id", max_length=32, index=True)
    email: str = Field(max_length=254)
    role: str = Field(max_length=16)
    token_sha256: str = Field(max_length=64)
    expires_at: datetime
    accepted_at: datetime | None = None
    invited_by: str = Field(foreign_key="auth_user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A login: the family of refresh tokens rotated from it, and the access tokens they
    issued (their ``sid``). Revoking it ends them all."""

    __tablename__ = "auth_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="auth_user.id", max_length=32, index=True)
    team_id: str = Field(foreign_key="auth_team.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class RefreshToken(SQLModel, table=True):
    __tablename__ = "auth_refresh_token"

    token_sha256: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="auth_session.id", max_length=32, index=True)
    expires_at: datetime
    # Spent (rotated). Presenting a spent token again revokes its session.
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "auth_api_key"
    __table_args__ = (sa.UniqueConstraint("key_sha256", name="uq_auth_api_key_key_sha256"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    team_id: str = Field(foreign_key="auth_team.id", max_length=32, index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=12, description="The key's first characters, to tell apart")
    key_sha256: str = Field(max_length=64)
    scopes: str = Field(max_length=200, description="Comma list")
    created_by: str = Field(foreign_key="auth_user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class EmailToken(SQLModel, table=True):
    """A mailed link's token: verify an address, or reset a password."""

    __tablename__ = "auth_email_token"

    token_sha256: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="auth_user.id", max_length=32, index=True)
    purpose: str = Field(max_length=16)
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class LoginFailure(SQLModel, table=True):
    """One wrong login from a client address, for the per-address limit (pruned once older
    than the window)."""

    __tablename__ = "auth_login_failure"
    __table_args__ = (sa.Index("ix_auth_login_failure_ip_at", "client_ip", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_ip: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


# This service's tables, for its migrations and its schema check (globalpic_db.own_tables).
TABLES: tuple[type[SQLModel], ...] = (
    User,
    Team,
    Membership,
    Invitation,
    AuthSession,
    RefreshToken,
    ApiKey,
    EmailToken,
    LoginFailure,
)

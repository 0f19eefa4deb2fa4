"""What the domain calls return: plain frozen dataclasses, independent of the proto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from globalpic_auth.models import Role, Team, User


class CredentialKind(StrEnum):
    ACCESS_TOKEN = "access_token"
    API_KEY = "api_key"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


@dataclass(frozen=True)
class UserView:
    id: str
    email: str
    email_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(user.id, user.email, user.email_verified, user.created_at)


@dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    personal: bool

    @classmethod
    def of(cls, team: Team) -> TeamView:
        return cls(team.id, team.name, team.personal)


@dataclass(frozen=True)
class Principal:
    team_id: str
    user_id: str  # "" for an API key
    role: Role
    scopes: tuple[str, ...]
    kind: CredentialKind
    session_id: str  # the access token's session, or the API key's id
    email_verified: bool


@dataclass(frozen=True)
class Me:
    user: UserView
    team: TeamView
    role: Role
    teams: tuple[TeamView, ...]


@dataclass(frozen=True)
class MemberView:
    user_id: str
    email: str
    role: Role
    joined_at: datetime


@dataclass(frozen=True)
class InvitationView:
    id: str
    email: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class Members:
    members: tuple[MemberView, ...]
    invitations: tuple[InvitationView, ...]  # pending: neither accepted nor expired


@dataclass(frozen=True)
class ApiKeyView:
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedApiKey:
    key: ApiKeyView
    secret: str  # shown this once

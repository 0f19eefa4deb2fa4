"""The domain's results <-> ``globalpic.auth.v1`` messages. Times travel as RFC 3339 strings
(UTC, ``Z``); an absent time is ``""``."""

from __future__ import annotations

from globalpic.auth.v1 import auth_pb2
from globalpic_auth.models import Role
from globalpic_auth.results import (
    ApiKeyView,
    CredentialKind,
    InvitationView,
    Me,
    Members,
    MemberView,
    Principal,
    TeamView,
    TokenPair,
    UserView,
)
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.wire import rfc3339

ROLE_TO_PROTO: dict[Role, auth_pb2.Role.ValueType] = {
    Role.OWNER: auth_pb2.ROLE_OWNER,
    Role.ADMIN: auth_pb2.ROLE_ADMIN,
    Role.MEMBER: auth_pb2.ROLE_MEMBER,
}
ROLE_FROM_PROTO = {value: role for role, value in ROLE_TO_PROTO.items()}
KIND_TO_PROTO: dict[CredentialKind, auth_pb2.CredentialKind.ValueType] = {
    CredentialKind.ACCESS_TOKEN: auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN,
    CredentialKind.API_KEY: auth_pb2.CREDENTIAL_KIND_API_KEY,
}


def role_from_proto(value: auth_pb2.Role.ValueType, *, default: Role = Role.MEMBER) -> Role:
    """ROLE_UNSPECIFIED is ``default``; a number the proto does not know is ``bad_option``."""
    if value == auth_pb2.ROLE_UNSPECIFIED:
        return default
    role = ROLE_FROM_PROTO.get(value)
    if role is None:
        raise BadInputError(f"unknown role {value}", code=errors.BAD_OPTION)
    return role


def token_pair(pair: TokenPair) -> auth_pb2.TokenPair:
    return auth_pb2.TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


def user(view: UserView) -> auth_pb2.User:
    return auth_pb2.User(
        id=view.id,
        email=view.email,
        email_verified=view.email_verified,
        created_at=rfc3339(view.created_at),
    )


def team(view: TeamView) -> auth_pb2.Team:
    return auth_pb2.Team(id=view.id, name=view.name, personal=view.personal)


def principal(view: Principal) -> auth_pb2.Principal:
    return auth_pb2.Principal(
        team_id=view.team_id,
        user_id=view.user_id,
        role=ROLE_TO_PROTO[view.role],
        scopes=list(view.scopes),
        kind=KIND_TO_PROTO[view.kind],
        session_id=view.session_id,
        email_verified=view.email_verified,
    )


def me(view: Me) -> auth_pb2.Me:
    return auth_pb2.Me(
        user=user(view.user),
        team=team(view.team),
        role=ROLE_TO_PROTO[view.role],
        teams=[team(each) for each in view.teams],
    )


def api_key(view: ApiKeyView) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        id=view.id,
        name=view.name,
        prefix=view.prefix,
        scopes=list(view.scopes),
        created_at=rfc3339(view.created_at),
        last_used_at=rfc3339(view.last_used_at),
        revoked_at=rfc3339(view.revoked_at),
    )


def member(view: MemberView) -> auth_pb2.Member:
    return auth_pb2.Member(
        user_id=view.user_id,
        email=view.email,
        role=ROLE_TO_PROTO[view.role],
        joined_at=rfc3339(view.joined_at),
    )


def invitation(view: InvitationView) -> auth_pb2.Invitation:
    return auth_pb2.Invitation(
        id=view.id,
        email=view.email,
        role=ROLE_TO_PROTO[view.role],
        expires_at=rfc3339(view.expires_at),
    )


def members(view: Members) -> auth_pb2.ListMembersResponse:
    return auth_pb2.ListMembersResponse(
        members=[member(each) for each in view.members],
        invitations=[invitation(each) for each in view.invitations],
    )

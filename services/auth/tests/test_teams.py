"""Teams: invitations by mail, roles from the database, removal and the last owner."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from globalpic_auth.models import Membership, Role
from globalpic_common import errors
from globalpic_common.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

from .conftest import Auth, token_of


def _invite(auth: Auth, team_id: str, actor: str, email: str, role: Role) -> str:
    """The token of the mailed invitation."""
    auth.service.teams.invite(team_id, actor, email, role)
    link = auth.mailer.last_to(email.lower()).link
    assert link.startswith("https://app.example.test/invitations/")
    return token_of(link)


def test_invite_then_accept_joins_the_team_with_the_invited_role(auth: Auth) -> None:
    owner, team = auth.sign_up("owner@example.com")
    token = _invite(auth, team.id, owner.id, "Admin@Example.com", Role.ADMIN)
    pending = auth.service.teams.list_members(team.id)
    assert [(each.email, each.role) for each in pending.invitations] == [
        ("admin@example.com", Role.ADMIN)
    ]

    admin, _ = auth.sign_up("admin@example.com")
    stranger, _ = auth.sign_up("stranger@example.com")
    with pytest.raises(PermissionDeniedError) as other_email:
        auth.service.teams.accept(token, stranger.id)
    assert other_email.value.code == errors.FORBIDDEN

    auth.clock.advance(1)  # members are listed by when they joined
    pair = auth.service.teams.accept(token, admin.id)
    principal = auth.service.authenticator.authenticate(pair.access_token)
    assert principal.team_id == team.id and principal.role == Role.ADMIN
    assert auth.service.accounts.get_me(admin.id).team.id == team.id  # the current team now
    assert auth.service.teams.accept(token, admin.id)  # again: harmless
    members = auth.service.teams.list_members(team.id)
    assert [(each.email, each.role) for each in members.members] == [
        ("owner@example.com", Role.OWNER),
        ("admin@example.com", Role.ADMIN),
    ]
    assert members.invitations == ()
    assert len(auth.service.accounts.get_me(admin.id).teams) == 2


def test_invitation_rules(auth: Auth) -> None:
    owner, team = auth.sign_up("boss@example.com")
    admin, _ = auth.sign_up("adm@example.com")
    member, _ = auth.sign_up("mem@example.com")
    auth.service.teams.accept(
        _invite(auth, team.id, owner.id, "adm@example.com", Role.ADMIN), admin.id
    )
    auth.service.teams.accept(
        _invite(auth, team.id, owner.id, "mem@example.com", Role.MEMBER), member.id
    )

    with pytest.raises(PermissionDeniedError) as by_member:
        auth.service.teams.invite(team.id, member.id, "x@example.com", Role.MEMBER)
    assert by_member.value.code == errors.FORBIDDEN
    with pytest.raises(PermissionDeniedError) as admin_invites_owner:
        auth.service.teams.invite(team.id, admin.id, "x@example.com", Role.OWNER)
    assert admin_invites_owner.value.code == errors.FORBIDDEN
    with pytest.raises(ConflictError) as already:
        auth.service.teams.invite(team.id, admin.id, "MEM@example.com", Role.MEMBER)
    assert already.value.code == errors.EMAIL_TAKEN

    first = _invite(auth, team.id, admin.id, "new@example.com", Role.MEMBER)
    second = _invite(auth, team.id, admin.id, "new@example.com", Role.ADMIN)
    newcomer, _ = auth.sign_up("new@example.com")
    with pytest.raises(UnauthenticatedError) as replaced:
        auth.service.teams.accept(first, newcomer.id)
    assert replaced.value.code == errors.TOKEN_INVALID
    auth.clock.advance(7 * 86400)
    with pytest.raises(UnauthenticatedError) as expired:
        auth.service.teams.accept(second, newcomer.id)
    assert expired.value.code == errors.TOKEN_EXPIRED
    assert auth.service.teams.list_members(team.id).invitations == ()


def test_a_removed_member_token_stops_authenticating(auth: Auth) -> None:
    owner, team = auth.sign_up("own@example.com")
    member, personal = auth.sign_up("gone@example.com")
    pair = auth.service.teams.accept(
        _invite(auth, team.id, owner.id, "gone@example.com", Role.MEMBER), member.id
    )
    personal_pair = auth.login("gone@example.com")  # signs into the current team: `team`
    assert auth.service.authenticator.authenticate(personal_pair.access_token).team_id == team.id

    auth.service.teams.remove(team.id, owner.id, member.id)
    for token in (pair.access_token, personal_pair.access_token):
        with pytest.raises(UnauthenticatedError) as refused:
            auth.service.authenticator.authenticate(token)
        assert refused.value.code == errors.TOKEN_INVALID
    with pytest.raises(UnauthenticatedError):
        auth.service.sessions.refresh(pair.refresh_token)
    # Their next login lands in the team they still have.
    after = auth.service.authenticator.authenticate(auth.login("gone@example.com").access_token)
    assert after.team_id == personal.id
    with pytest.raises(NotFoundError):
        auth.service.teams.remove(team.id, owner.id, member.id)


def test_removal_rules_and_the_last_owner(auth: Auth) -> None:
    owner, team = auth.sign_up("first@example.com")
    second, _ = auth.sign_up("second@example.com")
    admin, _ = auth.sign_up("ad@example.com")
    member, _ = auth.sign_up("me@example.com")
    for user, role in ((second, Role.OWNER), (admin, Role.ADMIN), (member, Role.MEMBER)):
        auth.service.teams.accept(_invite(auth, team.id, owner.id, user.email, role), user.id)

    with pytest.raises(PermissionDeniedError) as by_member:
        auth.service.teams.remove(team.id, member.id, admin.id)
    assert by_member.value.code == errors.FORBIDDEN
    with pytest.raises(PermissionDeniedError) as admin_removes_owner:
        auth.service.teams.remove(team.id, admin.id, owner.id)
    assert admin_removes_owner.value.code == errors.FORBIDDEN

    auth.service.teams.remove(team.id, owner.id, second.id)  # one of two owners
    with pytest.raises(PermissionDeniedError) as last:
        auth.service.teams.remove(team.id, owner.id, owner.id)
    assert last.value.code == errors.LAST_OWNER
    auth.service.teams.remove(team.id, member.id, member.id)  # anyone may leave
    auth.service.teams.remove(team.id, admin.id, admin.id)
    assert [each.email for each in auth.service.teams.list_members(team.id).members] == [
        "first@example.com"
    ]


def test_a_role_change_in_the_database_shows_at_once(sqlite_auth: Auth) -> None:
    owner, team = sqlite_auth.sign_up("o@example.com")
    member, _ = sqlite_auth.sign_up("m@example.com")
    pair = sqlite_auth.service.teams.accept(
        _invite(sqlite_auth, team.id, owner.id, "m@example.com", Role.MEMBER), member.id
    )
    assert sqlite_auth.service.authenticator.authenticate(pair.access_token).role == Role.MEMBER
    with Session(sqlite_auth.engine) as db:
        row = db.get(Membership, (team.id, member.id))
        assert row is not None
        row.role = Role.ADMIN.value
        db.add(row)
        db.commit()
    assert sqlite_auth.service.authenticator.authenticate(pair.access_token).role == Role.ADMIN

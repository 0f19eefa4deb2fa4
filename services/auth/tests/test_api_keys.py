"""API keys: shown once, stored hashed, scoped to one team, revocable."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from globalpic_auth.models import ApiKey, Role
from globalpic_auth.results import CredentialKind
from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

from .conftest import Auth, token_of


def test_a_key_authenticates_as_its_team_until_revoked(auth: Auth) -> None:
    owner, team = auth.sign_up("keys@example.com")
    created = auth.service.api_keys.create(team.id, owner.id, "  CI uploads ", ["jobs:write"])
    assert created.secret.startswith("gp_live_") and len(created.secret) > 40
    assert created.key.prefix == created.secret[:12] and created.key.name == "CI uploads"

    principal = auth.service.authenticator.authenticate(created.secret)
    assert principal.kind == CredentialKind.API_KEY and principal.team_id == team.id
    assert principal.user_id == "" and principal.role == Role.MEMBER
    assert principal.scopes == ("jobs:write",) and principal.session_id == created.key.id

    listed = auth.service.api_keys.list(team.id)
    assert [key.id for key in listed] == [created.key.id]
    assert listed[0].last_used_at == auth.clock.now and listed[0].revoked_at is None

    auth.service.api_keys.revoke(team.id, owner.id, created.key.id)
    auth.service.api_keys.revoke(team.id, owner.id, created.key.id)  # twice is harmless
    with pytest.raises(UnauthenticatedError) as revoked:
        auth.service.authenticator.authenticate(created.secret)
    assert revoked.value.code == errors.TOKEN_INVALID
    assert auth.service.api_keys.list(team.id)[0].revoked_at == auth.clock.now
    with pytest.raises(UnauthenticatedError) as unknown:
        auth.service.authenticator.authenticate("gp_live_" + "x" * 43)
    assert unknown.value.code == errors.TOKEN_INVALID


def test_a_key_never_speaks_for_another_team(auth: Auth) -> None:
    alice, team_a = auth.sign_up("a@example.com")
    bob, team_b = auth.sign_up("b@example.com")
    key_b = auth.service.api_keys.create(team_b.id, bob.id, "b's key")
    assert auth.service.authenticator.authenticate(key_b.secret).team_id == team_b.id
    assert auth.service.api_keys.list(team_a.id) == []
    # Neither Alice on her team nor Bob naming team A can touch it.
    with pytest.raises(NotFoundError) as not_found:
        auth.service.api_keys.revoke(team_a.id, alice.id, key_b.key.id)
    assert not_found.value.code == errors.NOT_FOUND
    with pytest.raises(PermissionDeniedError):
        auth.service.api_keys.create(team_a.id, bob.id, "sneaky")
    with pytest.raises(PermissionDeniedError):
        auth.service.api_keys.revoke(team_a.id, bob.id, key_b.key.id)
    assert auth.service.authenticator.authenticate(key_b.secret).team_id == team_b.id


def test_only_owners_and_admins_handle_keys_and_options_are_checked(auth: Auth) -> None:
    owner, team = auth.sign_up("boss@example.com")
    member, _ = auth.sign_up("staff@example.com")
    auth.service.teams.invite(team.id, owner.id, "staff@example.com", Role.MEMBER)
    auth.service.teams.accept(token_of(auth.mailer.last_to("staff@example.com").link), member.id)
    with pytest.raises(PermissionDeniedError) as forbidden:
        auth.service.api_keys.create(team.id, member.id, "mine")
    assert forbidden.value.code == errors.FORBIDDEN
    for name, scopes in (("", []), ("x" * 101, []), ("ok", ["jobs:delete"])):
        with pytest.raises(BadInputError) as bad:
            auth.service.api_keys.create(team.id, owner.id, name, scopes)
        assert bad.value.code == errors.BAD_OPTION
    default = auth.service.api_keys.create(team.id, owner.id, "x" * 100)
    assert default.key.scopes == ("jobs:read", "jobs:write")
    with pytest.raises(PermissionDeniedError):
        auth.service.api_keys.revoke(team.id, member.id, default.key.id)
    with pytest.raises(NotFoundError):
        auth.service.api_keys.revoke(team.id, owner.id, "no-such-key")


def test_last_used_is_written_at_most_once_a_minute(sqlite_auth: Auth) -> None:
    owner, team = sqlite_auth.sign_up("busy@example.com")
    created = sqlite_auth.service.api_keys.create(team.id, owner.id, "busy")
    first_use = sqlite_auth.clock.now
    sqlite_auth.service.authenticator.authenticate(created.secret)
    sqlite_auth.clock.advance(59)
    sqlite_auth.service.authenticator.authenticate(created.secret)
    assert sqlite_auth.service.api_keys.list(team.id)[0].last_used_at == first_use
    sqlite_auth.clock.advance(1)
    sqlite_auth.service.authenticator.authenticate(created.secret)
    assert sqlite_auth.service.api_keys.list(team.id)[0].last_used_at == sqlite_auth.clock.now


def test_only_the_hash_of_a_key_is_stored(sqlite_auth: Auth) -> None:
    owner, team = sqlite_auth.sign_up("hash@example.com")
    created = sqlite_auth.service.api_keys.create(team.id, owner.id, "k")
    with Session(sqlite_auth.engine) as db:
        row = db.exec(select(ApiKey)).one()
    assert created.secret not in repr(row.model_dump())
    assert len(row.key_sha256) == 64 and row.prefix == created.secret[:12]

"""The service over gRPC with ``AuthClient``: every refusal arrives as the class and code the
domain raised, and the mailed-link flows work end to end through a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from globalpic.auth.v1 import auth_pb2
from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    ConflictError,
    GlobalPicError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnauthenticatedError,
)
from globalpic_dev.mail_sink import first_link

from .conftest import PASSWORD, Remote, serve, token_of


@pytest.fixture
def remote(sqlite_url: str, tmp_path: Path) -> Iterator[Remote]:
    with serve(sqlite_url, tmp_path / "mail") as running:
        yield running


def _signed_up(remote: Remote, email: str) -> auth_pb2.SignUpResponse:
    reply = remote.client.sign_up(email, PASSWORD)
    remote.client.verify_email(remote.next_mail_token())
    return reply


def _raises(call: Callable[[], object]) -> GlobalPicError:
    with pytest.raises(GlobalPicError) as caught:
        call()
    return caught.value


def test_every_refusal_keeps_its_class_and_code(remote: Remote) -> None:
    client = remote.client
    owner = _signed_up(remote, "owner@example.com")
    team_id, owner_id = owner.team.id, owner.user.id
    client.sign_up("unverified@example.com", PASSWORD)
    remote.next_mail()
    first = client.login("owner@example.com", PASSWORD)
    client.refresh(first.refresh_token)

    cases: list[tuple[Callable[[], object], type[GlobalPicError], str]] = [
        (lambda: client.sign_up("owner@example.com", PASSWORD), ConflictError, "email_taken"),
        (lambda: client.sign_up("x@example.com", "short"), BadInputError, "weak_password"),
        (lambda: client.sign_up("not-an-email", PASSWORD), BadInputError, "bad_email"),
        (
            lambda: client.create_api_key(team_id, owner_id, "k", ["admin:all"]),
            BadInputError,
            "bad_option",
        ),
        (
            lambda: client.login("owner@example.com", "wrong"),
            UnauthenticatedError,
            "bad_credentials",
        ),
        (lambda: client.authenticate("garbage"), UnauthenticatedError, "token_invalid"),
        (lambda: client.refresh(first.refresh_token), UnauthenticatedError, "token_reused"),
        (
            lambda: client.login("unverified@example.com", PASSWORD),
            PermissionDeniedError,
            "email_not_verified",
        ),
        (
            lambda: client.create_api_key(team_id, "someone-else", "k"),
            PermissionDeniedError,
            "forbidden",
        ),
        (
            lambda: client.remove_member(team_id, owner_id, owner_id),
            PermissionDeniedError,
            "last_owner",
        ),
        (lambda: client.revoke_api_key(team_id, owner_id, "nope"), NotFoundError, "not_found"),
    ]
    for call, cls, code in cases:
        error = _raises(call)
        assert type(error) is cls and error.code == code, (cls, code, error)

    access = client.login("owner@example.com", PASSWORD).access_token
    remote.clock.advance(900)
    expired = _raises(lambda: client.authenticate(access))
    assert type(expired) is UnauthenticatedError and expired.code == errors.TOKEN_EXPIRED

    for _ in range(5):
        _raises(lambda: client.login("owner@example.com", "wrong"))
    locked = _raises(lambda: client.login("owner@example.com", PASSWORD))
    assert isinstance(locked, RateLimitedError) and locked.code == errors.ACCOUNT_LOCKED
    assert locked.retry_after_s == 900


def test_sign_up_verify_login_refresh_reuse_logout(remote: Remote) -> None:
    client = remote.client
    signed = client.sign_up("flow@example.com", PASSWORD)
    assert signed.user.email == "flow@example.com" and not signed.user.email_verified
    assert signed.user.created_at.endswith("Z") and signed.team.personal
    mail = remote.next_mail()
    assert mail["To"] == "flow@example.com" and "Confirm" in mail["Subject"]
    assert list(Path(remote.sink.directory).glob("*.eml"))
    client.verify_email(token_of(first_link(mail)))

    pair = client.login("flow@example.com", PASSWORD, client_ip="192.0.2.1")
    assert pair.expires_in == 900
    principal = client.authenticate(pair.access_token)
    assert principal.user_id == signed.user.id and principal.team_id == signed.team.id
    assert principal.role == auth_pb2.ROLE_OWNER
    assert principal.kind == auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN and principal.email_verified
    assert list(principal.scopes) == ["jobs:read", "jobs:write"]

    second = client.refresh(pair.refresh_token)
    third = client.refresh(second.refresh_token)
    reused = _raises(lambda: client.refresh(pair.refresh_token))
    assert reused.code == errors.TOKEN_REUSED
    assert _raises(lambda: client.refresh(third.refresh_token)).code == errors.TOKEN_INVALID
    assert _raises(lambda: client.authenticate(third.access_token)).code == errors.TOKEN_INVALID

    fresh = client.login("flow@example.com", PASSWORD)
    client.logout(fresh.access_token)
    ended = _raises(lambda: client.authenticate(fresh.access_token))
    assert type(ended) is UnauthenticatedError and ended.code == errors.TOKEN_INVALID

    me = client.get_me(signed.user.id)
    assert me.user.email_verified and me.role == auth_pb2.ROLE_OWNER and len(me.teams) == 1

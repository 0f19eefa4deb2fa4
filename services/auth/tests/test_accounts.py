"""Accounts: sign-up and verification, login and its limits, passwords (change, reset)."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select

from globalpic_auth.models import Membership, Role, User
from globalpic_auth.passwords import Passwords
from globalpic_auth.service import AuthService
from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    ConflictError,
    PermissionDeniedError,
    RateLimitedError,
    UnauthenticatedError,
)

from .conftest import PASSWORD, Auth, build_auth, token_of


def test_sign_up_makes_a_personal_team_and_mails_a_verification_link(auth: Auth) -> None:
    user, team = auth.service.accounts.sign_up("  Ada@Example.COM ", PASSWORD)
    assert user.email == "ada@example.com" and not user.email_verified
    assert team.personal and team.name == "ada@example.com's team"
    with Session(auth.engine) as db:
        membership = db.get(Membership, (team.id, user.id))
        stored = db.get(User, user.id)
    assert membership is not None and membership.role == Role.OWNER
    assert stored is not None and stored.current_team_id == team.id
    mail = auth.mailer.last_to("ada@example.com")
    assert mail.link.startswith("https://app.example.test/verify-email?token=")
    assert mail.link in mail.body

    with pytest.raises(PermissionDeniedError) as unverified:
        auth.login("ada@example.com")
    assert unverified.value.code == errors.EMAIL_NOT_VERIFIED
    auth.service.accounts.verify_email(token_of(mail.link))
    assert auth.login("ADA@example.com").access_token
    with pytest.raises(UnauthenticatedError) as again:
        auth.service.accounts.verify_email(token_of(mail.link))
    assert again.value.code == errors.TOKEN_INVALID


def test_without_required_verification_the_account_is_verified_at_once(tmp_path: Path) -> None:
    auth = build_auth(f"sqlite:///{tmp_path / 'auth.db'}", require_email_verification=False)
    user, _ = auth.service.accounts.sign_up("bob@example.com", PASSWORD)
    assert user.email_verified and auth.mailer.sent == []
    assert auth.login("bob@example.com").refresh_token


def test_sign_up_refuses_a_taken_email_a_bad_email_and_weak_passwords(auth: Auth) -> None:
    accounts = auth.service.accounts
    accounts.sign_up("taken@example.com", PASSWORD)
    with pytest.raises(ConflictError) as taken:
        accounts.sign_up("TAKEN@example.com", PASSWORD)
    assert taken.value.code == errors.EMAIL_TAKEN
    for email in ("no-at-sign", "two@@example.com", "a b@example.com", "a@nodot"):
        with pytest.raises(BadInputError) as bad:
            accounts.sign_up(email, PASSWORD)
        assert bad.value.code == errors.BAD_EMAIL, email
    for password in ("short", "weak@example.com"):
        with pytest.raises(BadInputError) as weak:
            accounts.sign_up("weak@example.com", password)
        assert weak.value.code == errors.WEAK_PASSWORD, password


def test_unknown_email_and_wrong_password_are_the_same_answer(auth: Auth) -> None:
    auth.sign_up("carol@example.com")
    with pytest.raises(UnauthenticatedError) as unknown:
        auth.login("nobody@example.com")
    with pytest.raises(UnauthenticatedError) as wrong:
        auth.login("carol@example.com", "not the password")
    assert unknown.value.code == wrong.value.code == errors.BAD_CREDENTIALS
    assert unknown.value.message == wrong.value.message


def test_five_wrong_passwords_lock_the_account_until_the_lock_ends(auth: Auth) -> None:
    auth.sign_up("dave@example.com")
    for _ in range(4):
        with pytest.raises(UnauthenticatedError):
            auth.login("dave@example.com", "wrong password")
    assert auth.login("dave@example.com").access_token  # a success starts the count again
    for _ in range(5):
        with pytest.raises(UnauthenticatedError):
            auth.login("dave@example.com", "wrong password")
    with pytest.raises(RateLimitedError) as locked:
        auth.login("dave@example.com")  # the right password, refused while locked
    assert locked.value.code == errors.ACCOUNT_LOCKED
    assert locked.value.retry_after_s == 900
    auth.clock.advance(899)
    with pytest.raises(RateLimitedError) as still:
        auth.login("dave@example.com")
    assert still.value.retry_after_s == 1
    auth.clock.advance(1)
    assert auth.login("dave@example.com").access_token


def test_too_many_failures_from_one_address_are_rate_limited(sqlite_auth: Auth) -> None:
    accounts = sqlite_auth.service.accounts
    sqlite_auth.sign_up("erin@example.com")
    for index in range(20):  # spread over accounts: no single account locks
        with pytest.raises(UnauthenticatedError):
            accounts.login(f"guess{index}@example.com", "password123", client_ip="203.0.113.9")
    with pytest.raises(RateLimitedError) as limited:
        accounts.login("erin@example.com", PASSWORD, client_ip="203.0.113.9")
    assert limited.value.code == "rate_limited" and limited.value.retry_after_s == 900
    # Another address is not affected, and the window slides.
    assert accounts.login("erin@example.com", PASSWORD, client_ip="198.51.100.7")
    sqlite_auth.clock.advance(900)
    assert accounts.login("erin@example.com", PASSWORD, client_ip="203.0.113.9")


def test_login_rehashes_a_password_stored_with_older_parameters(sqlite_auth: Auth) -> None:
    sqlite_auth.sign_up("fay@example.com")
    with Session(sqlite_auth.engine) as db:
        old_hash = db.exec(select(User.password_hash)).one()
    stronger = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    service = AuthService(
        sqlite_auth.engine,
        sqlite_auth.service.ctx.settings,
        sqlite_auth.mailer,
        clock=sqlite_auth.clock,
        passwords=stronger,
    )
    service.accounts.login("fay@example.com", PASSWORD)
    with Session(sqlite_auth.engine) as db:
        new_hash = db.exec(select(User.password_hash)).one()
    assert new_hash != old_hash and "m=1024" in new_hash and new_hash.startswith("$argon2id$")
    assert service.accounts.login("fay@example.com", PASSWORD)


def test_password_reset_by_mailed_link_ends_every_session(auth: Auth) -> None:
    auth.sign_up("gus@example.com")
    pair = auth.login("gus@example.com")
    for _ in range(5):
        with pytest.raises(UnauthenticatedError):
            auth.login("gus@example.com", "wrong password")

    auth.service.accounts.request_password_reset("nobody@example.com")  # silently nothing
    auth.service.accounts.request_password_reset("GUS@example.com")
    link = auth.mailer.last_to("gus@example.com").link
    assert link.startswith("https://app.example.test/reset-password?token=")
    with pytest.raises(BadInputError):
        auth.service.accounts.confirm_password_reset(token_of(link), "short")
    auth.service.accounts.confirm_password_reset(token_of(link), "a brand new password")

    with pytest.raises(UnauthenticatedError) as ended:
        auth.service.authenticator.authenticate(pair.access_token)
    assert ended.value.code == errors.TOKEN_INVALID
    with pytest.raises(UnauthenticatedError):
        auth.login("gus@example.com")  # the old password, and the lockout was lifted
    assert auth.login("gus@example.com", "a brand new password")
    with pytest.raises(UnauthenticatedError) as spent:
        auth.service.accounts.confirm_password_reset(token_of(link), "another new password")
    assert spent.value.code == errors.TOKEN_INVALID
    assert [mail.to for mail in auth.mailer.sent].count("nobody@example.com") == 0


def test_reset_and_verification_links_expire(sqlite_auth: Auth) -> None:
    accounts = sqlite_auth.service.accounts
    accounts.sign_up("hal@example.com", PASSWORD)
    verify_link = sqlite_auth.mailer.last_to("hal@example.com").link
    accounts.request_password_reset("hal@example.com")
    reset_link = sqlite_auth.mailer.last_to("hal@example.com").link
    sqlite_auth.clock.advance(3600)
    with pytest.raises(UnauthenticatedError) as expired:
        accounts.confirm_password_reset(token_of(reset_link), "a brand new password")
    assert expired.value.code == errors.TOKEN_EXPIRED
    with pytest.raises(UnauthenticatedError) as wrong_purpose:
        accounts.confirm_password_reset(token_of(verify_link), "a brand new password")
    assert wrong_purpose.value.code == errors.TOKEN_INVALID
    sqlite_auth.clock.advance(3 * 86400)
    with pytest.raises(UnauthenticatedError) as too_late:
        accounts.verify_email(token_of(verify_link))
    assert too_late.value.code == errors.TOKEN_EXPIRED


def test_an_unverified_login_mails_a_fresh_link_now_and_then(sqlite_auth: Auth) -> None:
    sqlite_auth.service.accounts.sign_up("ivy@example.com", PASSWORD)
    assert len(sqlite_auth.mailer.sent) == 1
    with pytest.raises(PermissionDeniedError):
        sqlite_auth.login("ivy@example.com")
    assert len(sqlite_auth.mailer.sent) == 1  # the first link is minutes old
    sqlite_auth.clock.advance(601)
    with pytest.raises(PermissionDeniedError):
        sqlite_auth.login("ivy@example.com")
    assert len(sqlite_auth.mailer.sent) == 2
    sqlite_auth.service.accounts.verify_email(token_of(sqlite_auth.mailer.sent[-1].link))
    assert sqlite_auth.login("ivy@example.com")


def test_change_password_keeps_only_the_current_session(auth: Auth) -> None:
    user, _ = auth.sign_up("jay@example.com")
    here = auth.login("jay@example.com")
    elsewhere = auth.login("jay@example.com")
    session_id = auth.service.authenticator.authenticate(here.access_token).session_id

    with pytest.raises(UnauthenticatedError) as wrong:
        auth.service.accounts.change_password(user.id, "not it at all", "new password!", "")
    assert wrong.value.code == errors.BAD_CREDENTIALS
    pair = auth.service.accounts.change_password(
        user.id, PASSWORD, "a new password here", session_id
    )

    principal = auth.service.authenticator.authenticate(pair.access_token)
    assert principal.session_id == session_id
    assert auth.service.authenticator.authenticate(here.access_token).session_id == session_id
    with pytest.raises(UnauthenticatedError):
        auth.service.authenticator.authenticate(elsewhere.access_token)
    with pytest.raises(UnauthenticatedError):
        auth.service.sessions.refresh(elsewhere.refresh_token)
    assert auth.service.sessions.refresh(pair.refresh_token).access_token
    assert auth.login("jay@example.com", "a new password here")


def test_get_me_lists_every_team(auth: Auth) -> None:
    user, team = auth.sign_up("kim@example.com")
    me = auth.service.accounts.get_me(user.id)
    assert me.user.email == "kim@example.com" and me.team == team and me.role == Role.OWNER
    assert me.teams == (team,)

"""Accounts: sign up, log in, passwords (change, reset by mail), email verification, "me".

argon2 runs outside database transactions: on SQLite every transaction takes the write lock,
and tens of milliseconds of hashing under it would serialise every login.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from globalpic_auth import email_tokens
from globalpic_auth.context import AuthContext
from globalpic_auth.login_limits import LoginLimits
from globalpic_auth.mails import Mail
from globalpic_auth.memberships import home_team_id, role_of, teams_of
from globalpic_auth.models import EmailPurpose, Membership, Role, Team, User
from globalpic_auth.passwords import Verified
from globalpic_auth.policy import check_password, normalize_email
from globalpic_auth.results import Me, TeamView, TokenPair, UserView
from globalpic_auth.sessions import Sessions
from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    ConflictError,
    GlobalPicError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

log = logging.getLogger(__name__)

# A login of an unverified account mails a fresh link (the first may be lost), at most this
# often.
VERIFICATION_RESEND_S = 600


def _bad_credentials() -> UnauthenticatedError:
    # One message for an unknown email and a wrong password: no account enumeration.
    return UnauthenticatedError("wrong email or password", code=errors.BAD_CREDENTIALS)


class Accounts:
    def __init__(self, ctx: AuthContext, sessions: Sessions) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.limits = LoginLimits(ctx)

    def _send(self, outbox: list[Mail]) -> None:
        # After the commit: a mail never carries a token the database does not have.
        for mail in outbox:
            self.ctx.mailer.send(mail)

    def _user_by_email(self, db: Session, email: str) -> User | None:
        return db.exec(select(User).where(User.email == email)).first()

    def _verification_mail(self, db: Session, user: User) -> Mail:
        ttl = self.ctx.settings.verify_ttl_seconds
        token = email_tokens.issue(self.ctx, db, user.id, EmailPurpose.VERIFY, ttl)
        return self.ctx.mails.verification(user.email, token, ttl)

    def sign_up(self, email: str, password: str) -> tuple[UserView, TeamView]:
        """The user, their personal team (owner) and, when verification is on, the mail."""
        email = normalize_email(email)
        check_password(password, email=email, min_length=self.ctx.settings.password_min_length)
        taken = ConflictError("an account with this email exists", code=errors.EMAIL_TAKEN)
        with self.ctx.db() as db:
            if self._user_by_email(db, email) is not None:
                raise taken
        password_hash = self.ctx.passwords.hash(password)
        verify = self.ctx.settings.require_email_verification
        now = self.ctx.now()
        outbox: list[Mail] = []
        with self.ctx.db() as db:
            team = Team(name=f"{email}'s team", personal=True, created_at=now)
            user = User(
                email=email,
                password_hash=password_hash,
                email_verified=not verify,
                current_team_id=team.id,
                created_at=now,
            )
            db.add_all([user, team])
            try:
                # Flushed first: without ORM relationships the unit of work does not order
                # the membership's insert after the rows it points at.
                db.flush()
            except IntegrityError:  # a concurrent sign-up with the same address won
                raise taken from None
            db.add(
                Membership(team_id=team.id, user_id=user.id, role=Role.OWNER.value, joined_at=now)
            )
            if verify:
                outbox.append(self._verification_mail(db, user))
            db.commit()
        self._send(outbox)
        log.info("user %s signed up (%s), personal team %s", user.id, email, team.id)
        return UserView.of(user), TeamView.of(team)

    def login(self, email: str, password: str, client_ip: str = "") -> TokenPair:
        try:
            email = normalize_email(email)
        except BadInputError:
            email = ""  # no such account; still costs a hash like any other
        with self.ctx.db() as db:
            self.limits.check_address(db, client_ip)
            user = self._user_by_email(db, email) if email else None
            if user is not None:
                self.limits.check_account(user)
        if user is None:
            self.ctx.passwords.burn_time(password)
            verified = Verified(ok=False)
        else:
            verified = self.ctx.passwords.verify(user.password_hash, password)
        rehashed = self.ctx.passwords.hash(password) if verified.needs_rehash else None
        outbox: list[Mail] = []
        with self.ctx.db() as db:
            outcome = self._finish_login(db, user, verified, rehashed, client_ip, outbox)
            # Committed even when refused: the failure counts must stick.
            db.commit()
        self._send(outbox)
        if isinstance(outcome, GlobalPicError):
            raise outcome
        return outcome

    def _finish_login(
        self,
        db: Session,
        user: User | None,
        verified: Verified,
        rehashed: str | None,
        client_ip: str,
        outbox: list[Mail],
    ) -> TokenPair | GlobalPicError:
        if not verified.ok or user is None:
            self.limits.record_address_failure(db, client_ip)
            if user is not None:
                self.limits.record_account_failure(db, user.id)
                log.info("login of user %s: wrong password", user.id)
            return _bad_credentials()
        fresh = db.get(User, user.id)
        if fresh is None:
            return _bad_credentials()
        try:  # a concurrent attempt may have locked the account since we read it
            self.limits.check_account(fresh)
        except GlobalPicError as exc:
            return exc
        self.limits.clear_account(db, fresh.id)
        if rehashed is not None:
            fresh.password_hash = rehashed
            db.add(fresh)
        if self.ctx.settings.require_email_verification and not fresh.email_verified:
            since = self.ctx.now() - timedelta(seconds=VERIFICATION_RESEND_S)
            if not email_tokens.issued_since(db, fresh.id, EmailPurpose.VERIFY, since):
                outbox.append(self._verification_mail(db, fresh))
            return PermissionDeniedError(
                "confirm your email address first (a link was mailed to you)",
                code=errors.EMAIL_NOT_VERIFIED,
            )
        pair = self.sessions.start(db, fresh.id, home_team_id(db, fresh))
        log.info("user %s logged in", fresh.id)
        return pair

    def change_password(
        self, user_id: str, current_password: str, new_password: str, session_id: str
    ) -> TokenPair:
        """Every other session of the user ends; ``session_id``'s (a new one when it is not
        live) gets a new pair and its older refresh tokens are spent."""
        with self.ctx.db() as db:
            user = db.get(User, user_id)
        if user is None:
            raise NotFoundError("no such user", code=errors.NOT_FOUND)
        self.limits.check_account(user)
        check_password(
            new_password, email=user.email, min_length=self.ctx.settings.password_min_length
        )
        verified = self.ctx.passwords.verify(user.password_hash, current_password)
        if not verified.ok:
            # Counted like a login: a stolen access token must not be a password oracle.
            with self.ctx.db() as db:
                self.limits.record_account_failure(db, user.id)
                db.commit()
            raise _bad_credentials()
        new_hash = self.ctx.passwords.hash(new_password)
        with self.ctx.db() as db:
            self._set_password(db, user.id, new_hash)
            session = self.sessions.live_session(db, session_id, user.id)
            if session is not None:
                self.sessions.revoke_all(db, user.id, keep=session.id)
                self.sessions.retire_refresh_tokens(db, session.id)
                pair = self.sessions.issue(db, session)
            else:
                self.sessions.revoke_all(db, user.id)
                pair = self.sessions.start(db, user.id, home_team_id(db, user))
            db.commit()
        log.info("user %s changed their password; other sessions ended", user.id)
        return pair

    def _set_password(self, db: Session, user_id: str, password_hash: str) -> None:
        db.connection().execute(
            update(User).where(col(User.id) == user_id).values(password_hash=password_hash)
        )
        email_tokens.retire(self.ctx, db, user_id, EmailPurpose.RESET)

    def request_password_reset(self, email: str) -> None:
        """Mails a reset link when the account exists; says nothing either way."""
        try:
            email = normalize_email(email)
        except BadInputError:
            return
        ttl = self.ctx.settings.reset_ttl_seconds
        with self.ctx.db() as db:
            user = self._user_by_email(db, email)
            if user is None:
                log.info("password reset asked for %s: no such account", email)
                return
            token = email_tokens.issue(self.ctx, db, user.id, EmailPurpose.RESET, ttl)
            db.commit()
        self.ctx.mailer.send(self.ctx.mails.password_reset(email, token, ttl))
        log.info("password reset link mailed to user %s", user.id)

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        """The new password; every session ends and a lockout is lifted."""
        with self.ctx.db() as db:
            row = email_tokens.peek(self.ctx, db, token, EmailPurpose.RESET)
            user = db.get(User, row.user_id)
        if user is None:
            raise UnauthenticatedError("unknown reset link", code=errors.TOKEN_INVALID)
        check_password(
            new_password, email=user.email, min_length=self.ctx.settings.password_min_length
        )
        new_hash = self.ctx.passwords.hash(new_password)
        with self.ctx.db() as db:
            email_tokens.spend(self.ctx, db, token, EmailPurpose.RESET)
            self._set_password(db, user.id, new_hash)
            self.limits.clear_account(db, user.id)
            self.sessions.revoke_all(db, user.id)
            # The link came by mail: whoever used it reads that mailbox.
            db.connection().execute(
                update(User).where(col(User.id) == user.id).values(email_verified=True)
            )
            db.commit()
        log.info("user %s reset their password; every session ended", user.id)

    def verify_email(self, token: str) -> None:
        with self.ctx.db() as db:
            row = email_tokens.spend(self.ctx, db, token, EmailPurpose.VERIFY)
            db.connection().execute(
                update(User).where(col(User.id) == row.user_id).values(email_verified=True)
            )
            db.commit()
        log.info("user %s verified their email address", row.user_id)

    def get_me(self, user_id: str, team_id: str = "") -> Me:
        """The user, the team (their current one when ``team_id`` is empty), their role there
        and all their teams; ``not_found`` when they do not belong to the team."""
        with self.ctx.db() as db:
            user = db.get(User, user_id)
            if user is None:
                raise NotFoundError("no such user", code=errors.NOT_FOUND)
            team_id = team_id or home_team_id(db, user)
            role = role_of(db, team_id, user.id)
            team = db.get(Team, team_id)
            if role is None or team is None:
                raise NotFoundError("not a member of this team", code=errors.NOT_FOUND)
            teams = tuple(TeamView.of(each) for each, _ in teams_of(db, user.id))
        return Me(UserView.of(user), TeamView.of(team), role, teams)

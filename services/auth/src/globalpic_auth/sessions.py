"""Sessions: a login's family of rotating refresh tokens, and the access tokens they issue.

Each refresh token works once. ``refresh`` spends it and hands out the next one of the same
session; a spent token presented again means two parties hold the family (one of them stole
it), so the whole session is revoked (``token_reused``) and the newest token dies too.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, update

from globalpic_auth.context import AuthContext
from globalpic_auth.memberships import role_of
from globalpic_auth.models import AuthSession, RefreshToken
from globalpic_auth.results import TokenPair
from globalpic_auth.tokens import digest, new_token, require_live
from globalpic_common import errors
from globalpic_common.errors import GlobalPicError, UnauthenticatedError

log = logging.getLogger(__name__)


class Sessions:
    def __init__(self, ctx: AuthContext) -> None:
        self.ctx = ctx

    def start(self, db: Session, user_id: str, team_id: str) -> TokenPair:
        """A new session of the user on the team and its first pair (the caller commits)."""
        session = AuthSession(user_id=user_id, team_id=team_id, created_at=self.ctx.now())
        db.add(session)
        db.flush()
        log.info("session %s started for user %s on team %s", session.id, user_id, team_id)
        return self.issue(db, session)

    def issue(self, db: Session, session: AuthSession) -> TokenPair:
        """A new access token and refresh token of ``session``."""
        now = self.ctx.now()
        refresh = new_token()
        db.add(
            RefreshToken(
                token_sha256=digest(refresh),
                session_id=session.id,
                expires_at=self.ctx.after(self.ctx.settings.refresh_token_ttl_seconds),
                created_at=now,
            )
        )
        access = self.ctx.access_tokens.issue(session.user_id, session.team_id, session.id, now)
        return TokenPair(access, refresh, self.ctx.access_tokens.ttl_s)

    def refresh(self, refresh_token: str) -> TokenPair:
        with self.ctx.db() as db:
            outcome = self._rotate(db, digest(refresh_token))
            # Committed even when refused: a reuse's revocation must stick.
            db.commit()
        if isinstance(outcome, GlobalPicError):
            raise outcome
        return outcome

    def _rotate(self, db: Session, token_sha256: str) -> TokenPair | GlobalPicError:
        now = self.ctx.now()
        row = db.get(RefreshToken, token_sha256)
        if row is None:
            return UnauthenticatedError("unknown refresh token", code=errors.TOKEN_INVALID)
        # Spending is one conditional UPDATE, so two concurrent refreshes with the same
        # token cannot both win: the loser is a reuse.
        spent = db.connection().execute(
            update(RefreshToken)
            .where(col(RefreshToken.token_sha256) == token_sha256)
            .where(col(RefreshToken.used_at).is_(None))
            .values(used_at=now)
        )
        if row.used_at is not None or spent.rowcount == 0:
            self.revoke(db, row.session_id)
            log.warning("refresh token reused: session %s revoked", row.session_id)
            return UnauthenticatedError(
                "the refresh token was already used; the session is ended",
                code=errors.TOKEN_REUSED,
            )
        try:
            require_live(used_at=None, expires_at=row.expires_at, now=now, what="refresh token")
        except UnauthenticatedError as exc:
            return exc
        session = db.get(AuthSession, row.session_id)
        if (
            session is None
            or session.revoked_at is not None
            or role_of(db, session.team_id, session.user_id) is None
        ):
            return UnauthenticatedError("the session has ended", code=errors.TOKEN_INVALID)
        return self.issue(db, session)

    def logout(self, access_token: str) -> None:
        # An expired access token still names its session: logging out must work after it.
        claims = self.ctx.access_tokens.decode(access_token, self.ctx.now(), allow_expired=True)
        with self.ctx.db() as db:
            self.revoke(db, claims.session_id)
            db.commit()
        log.info("session %s logged out (user %s)", claims.session_id, claims.user_id)

    def revoke(self, db: Session, session_id: str) -> None:
        db.connection().execute(
            update(AuthSession)
            .where(col(AuthSession.id) == session_id)
            .where(col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=self.ctx.now())
        )

    def revoke_all(
        self,
        db: Session,
        user_id: str,
        *,
        team_id: str | None = None,
        keep: str | None = None,
    ) -> None:
        """End the user's sessions (on one team only with ``team_id``), but ``keep``."""
        statement = (
            update(AuthSession)
            .where(col(AuthSession.user_id) == user_id)
            .where(col(AuthSession.revoked_at).is_(None))
        )
        if team_id is not None:
            statement = statement.where(col(AuthSession.team_id) == team_id)
        if keep is not None:
            statement = statement.where(col(AuthSession.id) != keep)
        db.connection().execute(statement.values(revoked_at=self.ctx.now()))

    def retire_refresh_tokens(self, db: Session, session_id: str) -> None:
        """Spend the session's outstanding refresh tokens (a pair issued in their place)."""
        db.connection().execute(
            update(RefreshToken)
            .where(col(RefreshToken.session_id) == session_id)
            .where(col(RefreshToken.used_at).is_(None))
            .values(used_at=self.ctx.now())
        )

    def live_session(self, db: Session, session_id: str, user_id: str) -> AuthSession | None:
        session = db.get(AuthSession, session_id) if session_id else None
        if session is None or session.user_id != user_id or session.revoked_at is not None:
            return None
        return session

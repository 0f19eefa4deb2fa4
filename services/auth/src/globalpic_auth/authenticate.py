"""``Authenticate``: a bearer credential -> who is calling (a ``Principal``).

An API key (``gp_live_...``) speaks for its team with its own scopes and the member role. An
access token speaks for its user on its session's team, and only while the session is live
and the user still belongs to the team: the role is read from the database on every call, so
a demotion or a removal takes effect at once (the gateway caches answers only briefly).
"""

from __future__ import annotations

from globalpic_auth.api_keys import SCOPES, ApiKeys
from globalpic_auth.context import AuthContext
from globalpic_auth.memberships import role_of
from globalpic_auth.models import AuthSession, Role, User
from globalpic_auth.results import CredentialKind, Principal
from globalpic_auth.tokens import API_KEY_PREFIX
from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError

# Every role has every job scope today; roles differ in managing the team, not in jobs.
USER_SCOPES = SCOPES


class Authenticator:
    def __init__(self, ctx: AuthContext, api_keys: ApiKeys) -> None:
        self.ctx = ctx
        self.api_keys = api_keys

    def authenticate(self, credential: str) -> Principal:
        credential = credential.strip()
        if credential.startswith(API_KEY_PREFIX):
            return self._api_key(credential)
        return self._access_token(credential)

    def _api_key(self, secret: str) -> Principal:
        key = self.api_keys.resolve(secret)
        return Principal(
            team_id=key.team_id,
            user_id="",
            role=Role.MEMBER,
            scopes=tuple(key.scopes.split(",")),
            kind=CredentialKind.API_KEY,
            session_id=key.id,
            email_verified=False,  # no user behind a key
        )

    def _access_token(self, token: str) -> Principal:
        claims = self.ctx.access_tokens.decode(token, self.ctx.now())
        ended = UnauthenticatedError("the session has ended", code=errors.TOKEN_INVALID)
        with self.ctx.db() as db:
            session = db.get(AuthSession, claims.session_id)
            if (
                session is None
                or session.revoked_at is not None
                or session.user_id != claims.user_id
                or session.team_id != claims.team_id
            ):
                raise ended
            role = role_of(db, session.team_id, session.user_id)
            user = db.get(User, session.user_id)
            if role is None or user is None:
                raise ended
        return Principal(
            team_id=session.team_id,
            user_id=user.id,
            role=role,
            scopes=USER_SCOPES,
            kind=CredentialKind.ACCESS_TOKEN,
            session_id=session.id,
            email_verified=user.email_verified,
        )

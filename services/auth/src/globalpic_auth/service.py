"""``AuthService``: the whole domain over one engine, what the gRPC servicer calls.

Usable without gRPC (the tests drive it directly): ``AuthService(engine, settings, mailer)``,
with ``clock`` and ``passwords`` injectable (a fake clock; a cheap argon2 profile).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from globalpic_auth.accounts import Accounts
from globalpic_auth.api_keys import ApiKeys
from globalpic_auth.authenticate import Authenticator
from globalpic_auth.context import AuthContext, Clock
from globalpic_auth.mailer import Mailer
from globalpic_auth.passwords import Passwords
from globalpic_auth.sessions import Sessions
from globalpic_auth.settings import AuthSettings
from globalpic_auth.teams import Teams
from globalpic_db.clock import utcnow


class AuthService:
    def __init__(
        self,
        engine: Engine,
        settings: AuthSettings,
        mailer: Mailer,
        *,
        clock: Clock = utcnow,
        passwords: Passwords | None = None,
    ) -> None:
        self.ctx = AuthContext(engine, settings, mailer, passwords or Passwords(), clock)
        self.sessions = Sessions(self.ctx)
        self.accounts = Accounts(self.ctx, self.sessions)
        self.teams = Teams(self.ctx, self.sessions)
        self.api_keys = ApiKeys(self.ctx)
        self.authenticator = Authenticator(self.ctx, self.api_keys)

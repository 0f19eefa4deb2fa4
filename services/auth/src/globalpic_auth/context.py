"""What every part of the domain shares: the engine, the settings, the clock, the mailer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from globalpic_auth.mailer import Mailer
from globalpic_auth.mails import MailComposer
from globalpic_auth.passwords import Passwords
from globalpic_auth.settings import AuthSettings
from globalpic_auth.tokens import AccessTokens
from globalpic_db.clock import utcnow

Clock = Callable[[], datetime]


@dataclass
class AuthContext:
    engine: Engine
    settings: AuthSettings
    mailer: Mailer
    passwords: Passwords
    # Injectable so the tests move time (lockouts, expiries) without sleeping.
    clock: Clock = utcnow
    access_tokens: AccessTokens = field(init=False)
    mails: MailComposer = field(init=False)

    def __post_init__(self) -> None:
        self.access_tokens = AccessTokens(
            self.settings.jwt_key(),
            self.settings.jwt_issuer,
            self.settings.access_token_ttl_seconds,
        )
        self.mails = MailComposer(self.settings.public_url)

    def db(self) -> Session:
        """One unit of work; rows stay readable after the commit."""
        return Session(self.engine, expire_on_commit=False)

    def now(self) -> datetime:
        return self.clock()

    def after(self, seconds: int) -> datetime:
        return self.clock() + timedelta(seconds=seconds)

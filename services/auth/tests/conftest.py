"""Fixtures of the auth tests: the domain on a migrated database (SQLite and PostgreSQL), a
clock the tests move instead of sleeping, the mails it sent, and a cheap argon2 profile (the
real one costs ~0.1 s and 64 MiB a hash)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy.engine import Engine

from globalpic_auth.db import make_engine, migrate
from globalpic_auth.mailer import build_mailer
from globalpic_auth.mails import Mail
from globalpic_auth.passwords import Passwords
from globalpic_auth.results import TeamView, TokenPair, UserView
from globalpic_auth.server import HEALTH_NAME, registrar
from globalpic_auth.service import AuthService
from globalpic_auth.settings import AuthSettings
from globalpic_clients.auth import AuthClient
from globalpic_common.grpc_server import ServiceServer
from globalpic_dev.mail_sink import MailSink, first_link

JWT_SECRET = "auth-tests-jwt-secret-0123456789abcdef"
PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        # Whole seconds: JWT times are whole seconds too.
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordingMailer:
    sent: list[Mail] = field(default_factory=list)

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    def close(self) -> None:
        pass

    def last_to(self, email: str) -> Mail:
        mails = [mail for mail in self.sent if mail.to == email]
        assert mails, f"no mail to {email}"
        return mails[-1]


def token_of(link: str) -> str:
    """The token of a mailed link: ``?token=`` or the last path segment (invitations)."""
    parsed = urlparse(link)
    tokens = parse_qs(parsed.query).get("token")
    return tokens[0] if tokens else parsed.path.rsplit("/", 1)[-1]


def cheap_passwords() -> Passwords:
    return Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))


def make_settings(url: str = "sqlite://", **overrides: Any) -> AuthSettings:
    values: dict[str, Any] = {
        "database_url": url,
        "jwt_secret": JWT_SECRET,
        "require_email_verification": True,
        "public_url": "https://app.example.test",
    }
    values.update(overrides)
    return AuthSettings(**values)


@dataclass
class Auth:
    """The service under test and its fakes, with the steps most tests start with."""

    service: AuthService
    engine: Engine
    clock: FakeClock
    mailer: RecordingMailer

    def sign_up(self, email: str, *, verify: bool = True) -> tuple[UserView, TeamView]:
        user, team = self.service.accounts.sign_up(email, PASSWORD)
        if verify and not user.email_verified:
            self.service.accounts.verify_email(token_of(self.mailer.last_to(email).link))
        return user, team

    def login(self, email: str, password: str = PASSWORD) -> TokenPair:
        return self.service.accounts.login(email, password)


def build_auth(url: str, **settings: Any) -> Auth:
    migrate(url)
    engine = make_engine(url)
    clock = FakeClock()
    mailer = RecordingMailer()
    service = AuthService(
        engine, make_settings(url, **settings), mailer, clock=clock, passwords=cheap_passwords()
    )
    return Auth(service, engine, clock, mailer)


@pytest.fixture
def auth(database_url: str) -> Iterator[Auth]:
    """The domain on SQLite, then on PostgreSQL."""
    built = build_auth(database_url)
    yield built
    built.engine.dispose()


@pytest.fixture
def sqlite_auth(tmp_path: Path) -> Iterator[Auth]:
    built = build_auth(f"sqlite:///{tmp_path / 'auth.db'}")
    yield built
    built.engine.dispose()


@dataclass
class Remote:
    """The service behind a real gRPC server on loopback, mailing through a real SMTP sink."""

    client: AuthClient
    service: AuthService
    engine: Engine
    clock: FakeClock
    sink: MailSink
    mails_read: int = 0

    def next_mail(self) -> EmailMessage:
        """The next mail not read yet (waiting for it to arrive), in the order sent."""
        self.mails_read += 1
        return self.sink.wait_for(self.mails_read)[self.mails_read - 1]

    def next_mail_token(self) -> str:
        """The token of the link in the next mail."""
        return token_of(first_link(self.next_mail()))


@contextmanager
def serve(url: str, mail_dir: Path) -> Iterator[Remote]:
    migrate(url)
    engine = make_engine(url)
    clock = FakeClock()
    with MailSink(mail_dir) as sink:
        settings = make_settings(url, smtp_host=sink.host, smtp_port=sink.port, smtp_starttls=False)
        mailer = build_mailer(settings)
        service = AuthService(engine, settings, mailer, clock=clock, passwords=cheap_passwords())
        server = ServiceServer(
            "auth", registrar(service), port=0, host="127.0.0.1", health_services=[HEALTH_NAME]
        )
        server.start()
        server.set_serving()
        client = AuthClient(f"127.0.0.1:{server.port}")
        try:
            client.wait_until_serving()
            yield Remote(client, service, engine, clock, sink)
        finally:
            client.close()
            server.stop()
            mailer.close()
            engine.dispose()

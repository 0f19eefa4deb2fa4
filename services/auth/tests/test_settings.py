"""Settings refuse what would be unsafe outside development; the mailers say what they may."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from globalpic_auth.mailer import BackgroundMailer, LogMailer, SmtpMailer, build_mailer
from globalpic_auth.mails import MailComposer
from globalpic_auth.settings import AuthSettings
from globalpic_dev.mail_sink import MailSink, first_link
from globalpic_dev.natsd import free_port

STRONG_SECRET = "s" * 40


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"smtp_host": "mail"}, "JWT_SECRET is required"),
        ({"jwt_secret": "changeme", "smtp_host": "mail"}, "placeholder"),
        ({"jwt_secret": "too-short-a-secret", "smtp_host": "mail"}, "at least 32"),
        ({"jwt_secret": STRONG_SECRET}, "SMTP_HOST is required"),
    ],
)
def test_production_refuses_unsafe_settings(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        AuthSettings(**values)


@pytest.mark.usefixtures("production")
def test_production_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_AUTH__JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("GLOBALPIC_AUTH__SMTP_HOST", "smtp.example.com")
    settings = AuthSettings()
    assert settings.require_email_verification and settings.jwt_key() == STRONG_SECRET
    assert settings.port == 50061 and settings.access_token_ttl_seconds == 900
    # Verification off: no mail server needed.
    monkeypatch.delenv("GLOBALPIC_AUTH__SMTP_HOST")
    monkeypatch.setenv("GLOBALPIC_AUTH__REQUIRE_EMAIL_VERIFICATION", "false")
    assert not AuthSettings().require_email_verification


def test_development_makes_up_a_secret_per_process(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first, second = AuthSettings(), AuthSettings()
    assert len(first.jwt_key()) >= 32 and first.jwt_key() != second.jwt_key()
    assert "will not survive a restart" in caplog.text
    assert first.jwt_key() not in caplog.text
    assert not first.require_email_verification
    assert AuthSettings(jwt_secret=SecretStr("fixed")).jwt_key() == "fixed"


def test_without_smtp_the_link_is_logged_in_development_only(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = MailComposer("http://localhost:8000").password_reset("a@example.com", "TOKEN123", 60)
    assert mail.link == "http://localhost:8000/reset-password?token=TOKEN123"
    with caplog.at_level(logging.INFO):
        LogMailer(show_links=True).send(mail)
        assert "TOKEN123" in caplog.text
        caplog.clear()
        LogMailer(show_links=False).send(mail)
        assert "a@example.com" in caplog.text and "TOKEN123" not in caplog.text
    inner = build_mailer(AuthSettings())
    assert isinstance(inner, BackgroundMailer) and isinstance(inner.inner, LogMailer)
    assert inner.inner.show_links
    inner.close()
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    settings = AuthSettings(jwt_secret=SecretStr(STRONG_SECRET), require_email_verification=False)
    quiet = build_mailer(settings)
    assert isinstance(quiet, BackgroundMailer) and isinstance(quiet.inner, LogMailer)
    assert not quiet.inner.show_links
    quiet.close()


def test_smtp_delivers_and_a_failure_is_logged_without_the_body(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mail = MailComposer("https://app.example").invitation(
        "new@example.com", "INVITE-TOKEN", 86400, team="Acme", inviter="boss@example.com"
    )
    with MailSink(tmp_path / "mail") as sink:
        SmtpMailer(sink.host, sink.port, "GlobalPic <no-reply@x.test>", starttls=False).send(mail)
        received = sink.wait_for(1)[0]
    assert received["To"] == "new@example.com" and received["Subject"] == "Join Acme on GlobalPic"
    assert first_link(received) == "https://app.example/invitations/INVITE-TOKEN"
    assert (tmp_path / "mail" / "1.eml").is_file()

    unreachable = SmtpMailer("127.0.0.1", free_port(), "x@x.test", starttls=False, timeout_s=2)
    background = BackgroundMailer(unreachable)
    with caplog.at_level(logging.INFO):
        background.send(mail)
        background.close()
    assert "mail to new@example.com" in caplog.text and "failed" in caplog.text
    assert "INVITE-TOKEN" not in caplog.text

"""Sending mails: SMTP (``smtplib``) off the request thread, or the log when no server is set.

Mails go out on one background thread: a slow or failing SMTP server never holds a call, and
``RequestPasswordReset`` answers as fast for an unknown address as for a known one (no account
enumeration by timing). A mail that fails is logged (recipient and subject, never the body)
and dropped; the user asks again (another reset; for verification, a login mails a new link).
"""

from __future__ import annotations

import logging
import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Protocol

from globalpic_auth.mails import Mail
from globalpic_auth.settings import AuthSettings
from globalpic_common.settings import current_environment

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...

    def close(self) -> None: ...


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self.starttls = starttls
        self.timeout_s = timeout_s

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(message)
        log.info("mail sent to %s: %s", mail.to, mail.subject)

    def close(self) -> None:
        pass


class LogMailer:
    """No SMTP server: the mail is logged. The link (a live token) only in development, where
    it is the way to click through signup without a mail server."""

    def __init__(self, *, show_links: bool) -> None:
        self.show_links = show_links

    def send(self, mail: Mail) -> None:
        if self.show_links:
            log.info("no SMTP server: mail to %s: %s: %s", mail.to, mail.subject, mail.link)
        else:
            log.warning("no SMTP server: would send to %s: %s", mail.to, mail.subject)

    def close(self) -> None:
        pass


class BackgroundMailer:
    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auth-mail")

    def send(self, mail: Mail) -> None:
        self._pool.submit(self._send, mail)

    def _send(self, mail: Mail) -> None:
        try:
            self.inner.send(mail)
        except Exception as exc:
            # The exception's type only: an SMTP server's error text may quote the message.
            log.error("mail to %s (%s) failed: %s", mail.to, mail.subject, type(exc).__name__)

    def close(self) -> None:
        """Waits for the mails already queued."""
        self._pool.shutdown(wait=True)
        self.inner.close()


def build_mailer(settings: AuthSettings) -> Mailer:
    """SMTP when ``smtp_host`` is set, else the log; on the background thread either way."""
    if settings.smtp_host:
        inner: Mailer = SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            starttls=settings.smtp_starttls,
            timeout_s=settings.smtp_timeout_seconds,
        )
    else:
        inner = LogMailer(show_links=current_environment() == "development")
    return BackgroundMailer(inner)

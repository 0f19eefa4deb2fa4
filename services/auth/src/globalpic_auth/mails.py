"""What each mail says: a subject and a plain-text body around one link to the web app."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    # The body's link (it holds a token: only the development log mailer ever prints it).
    link: str


class MailComposer:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def _link(self, path: str, token: str, *, in_path: bool = False) -> str:
        if in_path:
            return f"{self.public_url}{path}/{quote(token, safe='')}"
        return f"{self.public_url}{path}?token={quote(token, safe='')}"

    def verification(self, to: str, token: str, ttl_s: int) -> Mail:
        link = self._link("/verify-email", token)
        body = (
            "Welcome to GlobalPic.\n\n"
            f"Confirm your email address by opening this link:\n\n{link}\n\n"
            f"The link works for {_duration(ttl_s)}. If you did not sign up, ignore this mail.\n"
        )
        return Mail(to, "Confirm your GlobalPic email address", body, link)

    def password_reset(self, to: str, token: str, ttl_s: int) -> Mail:
        link = self._link("/reset-password", token)
        body = (
            "Someone asked to reset the password of your GlobalPic account.\n\n"
            f"Choose a new password here:\n\n{link}\n\n"
            f"The link works once, for {_duration(ttl_s)}. If it was not you, ignore this "
            "mail: your password stays as it is.\n"
        )
        return Mail(to, "Reset your GlobalPic password", body, link)

    def invitation(self, to: str, token: str, ttl_s: int, *, team: str, inviter: str) -> Mail:
        link = self._link("/invitations", token, in_path=True)
        body = (
            f"{inviter} invited you to the team \u201c{team}\u201d on GlobalPic.\n\n"
            f"Join it here (sign up first with this address if you have no account):\n\n"
            f"{link}\n\nThe invitation is valid for {_duration(ttl_s)}.\n"
        )
        return Mail(to, f"Join {team} on GlobalPic", body, link)


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{max(1, seconds // 60)} minutes"

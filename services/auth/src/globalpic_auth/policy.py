"""What an email address and a password must be (``bad_email``, ``weak_password``)."""

from __future__ import annotations

import re

from globalpic_common import errors
from globalpic_common.errors import BadInputError

# Deliberately simple: one @, no spaces, a dot in the domain. The verification mail is the
# real test of an address.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_EMAIL_CHARS = 254
# argon2 hashes anything, but a megabyte "password" is a way to burn our CPU.
MAX_PASSWORD_CHARS = 1024


def normalize_email(email: str) -> str:
    """The address as stored: trimmed and lowercased; ``bad_email`` when it is not one."""
    normalized = email.strip().lower()
    if len(normalized) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(normalized):
        raise BadInputError("not a valid email address", code=errors.BAD_EMAIL)
    return normalized


def check_password(password: str, *, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise BadInputError(
            f"the password must have at least {min_length} characters", code=errors.WEAK_PASSWORD
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadInputError(
            f"the password must have at most {MAX_PASSWORD_CHARS} characters",
            code=errors.WEAK_PASSWORD,
        )
    if password.strip().lower() == email.strip().lower():
        raise BadInputError("the password must not be the email address", code=errors.WEAK_PASSWORD)

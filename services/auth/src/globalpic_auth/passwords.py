"""Password hashing: argon2id (argon2-cffi's ``PasswordHasher``), rehashed on login when the
parameters changed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class Verified:
    ok: bool
    # The stored hash uses older parameters: store a new one while the password is at hand.
    needs_rehash: bool = False


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against for an unknown email, so that answer takes as long as a wrong
        # password does (no account enumeration by timing).
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> Verified:
        try:
            self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Verified(ok=False)
        return Verified(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))

    def burn_time(self, password: str) -> None:
        """The cost of one verification, for an account that does not exist."""
        self.verify(self._dummy_hash, password)

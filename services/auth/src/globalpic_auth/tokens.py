"""Access tokens (HS256 JWTs) and opaque random tokens (refresh, email, invitation, API key).

An opaque token is 32 random bytes and is stored as its SHA-256 alone: with that much entropy
a slow KDF adds nothing, and a plain digest is what lets us look the token up.

Access tokens are checked against the service's clock, not the machine's (PyJWT's own
``exp`` / ``iat`` checks read ``time.time()``), so the tests can move time.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError

ALGORITHM = "HS256"
AUDIENCE = "globalpic-api"
API_KEY_PREFIX = "gp_live_"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "team", "jti"]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + new_token()


def digest(token: str) -> str:
    """What is stored of a random token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    team_id: str
    session_id: str
    expires_at: datetime


class AccessTokens:
    def __init__(self, key: str, issuer: str, ttl_s: int) -> None:
        self._key = key
        self.issuer = issuer
        self.ttl_s = ttl_s

    def issue(self, user_id: str, team_id: str, session_id: str, now: datetime) -> str:
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": user_id,
            "team": team_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_s)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, now: datetime, *, allow_expired: bool = False) -> AccessClaims:
        """The claims of a token we signed: ``token_invalid`` when it is not one (bad
        signature, issuer, audience, malformed), ``token_expired`` past its ``exp`` unless
        ``allow_expired`` (logout: an expired token still names its session)."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            expires_at = datetime.fromtimestamp(int(payload["exp"]), now.tzinfo)
        except (jwt.InvalidTokenError, TypeError, ValueError, OverflowError):
            raise UnauthenticatedError(
                "not a valid access token", code=errors.TOKEN_INVALID
            ) from None
        if not allow_expired and expires_at <= now:
            raise UnauthenticatedError("the access token has expired", code=errors.TOKEN_EXPIRED)
        return AccessClaims(
            user_id=str(payload["sub"]),
            team_id=str(payload["team"]),
            session_id=str(payload["sid"]),
            expires_at=expires_at,
        )


def require_live(
    *, used_at: datetime | None, expires_at: datetime, now: datetime, what: str
) -> None:
    """A mailed or refresh token's row is usable: unused (``token_invalid``) and unexpired
    (``token_expired``)."""
    if used_at is not None:
        raise UnauthenticatedError(f"the {what} was already used", code=errors.TOKEN_INVALID)
    if expires_at <= now:
        raise UnauthenticatedError(f"the {what} has expired", code=errors.TOKEN_EXPIRED)

"""Signed download URLs for the local-disk backend (S3 signs its own).

``<base_url>/<key>?expires=<unix seconds>&signature=<HMAC-SHA256>``: the gateway serves
``base_url``, calls ``verify_signed`` on the request URL, and streams the key it gets back from
storage under the tenant it gets back. The signature covers the key and the expiry, so neither
can be changed, and the verified key is parsed again, so even a validly signed URL can only
ever name a well-formed key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.quantities import IntegerParseError, parse_int
from globalpic_storage.keys import ObjectKey, parse_key

DEFAULT_BASE_URL = "/v1/files"
# Versioned so that a change of message layout can never verify an old signature by accident.
_DOMAIN = b"globalpic-storage-url-v1"


@dataclass(frozen=True)
class SignedObject:
    tenant_id: str
    key: str
    expires_at: int


def _signature(signing_key: bytes, key: str, expires_at: int) -> str:
    message = b"\n".join([_DOMAIN, b"GET", key.encode(), str(expires_at).encode()])
    mac = hmac.new(signing_key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _key_bytes(signing_key: bytes | str) -> bytes:
    raw = signing_key.encode() if isinstance(signing_key, str) else signing_key
    if not raw:
        raise ValueError("an empty signing key would sign nothing")
    return raw


def _base_path(base_url: str) -> str:
    return urlsplit(base_url).path.rstrip("/") + "/"


def sign_url(
    key: ObjectKey,
    expires_in: int,
    *,
    signing_key: bytes | str,
    base_url: str = DEFAULT_BASE_URL,
    now: float | None = None,
) -> str:
    expires_at = int(now if now is not None else time.time()) + expires_in
    signature = _signature(_key_bytes(signing_key), key.key, expires_at)
    return f"{base_url.rstrip('/')}/{key.key}?expires={expires_at}&signature={signature}"


def verify_signed(
    url: str,
    *,
    signing_key: bytes | str,
    base_url: str = DEFAULT_BASE_URL,
    now: float | None = None,
) -> SignedObject:
    """The tenant and key a signed URL (absolute, or path + query) grants until it expires.

    ``BadInputError``: ``bad_signature`` for anything malformed or tampered with,
    ``url_expired`` for a genuine URL past its expiry.
    """
    parts = urlsplit(url)
    base_path = _base_path(base_url)
    if not parts.path.startswith(base_path):
        raise _bad(f"not under {base_path}")
    key = parts.path[len(base_path) :]
    try:
        query = parse_qs(parts.query, strict_parsing=True)
    except ValueError:
        raise _bad("malformed query") from None
    if set(query) != {"expires", "signature"} or any(len(v) != 1 for v in query.values()):
        raise _bad("needs exactly one 'expires' and one 'signature'")
    expires_raw, given = query["expires"][0], query["signature"][0]
    try:
        expires_at = parse_int(expires_raw)
    except IntegerParseError:
        raise _bad("'expires' is not a unix time") from None
    expected = _signature(_key_bytes(signing_key), key, expires_at)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise _bad("signature does not match")
    if (now if now is not None else time.time()) >= expires_at:
        raise BadInputError("signed URL has expired", code=errors.URL_EXPIRED)
    tenant_id = key.split("/")[1] if key.count("/") >= 2 else ""
    parsed = parse_key(tenant_id, key)  # a valid signature over a malformed key still fails
    return SignedObject(tenant_id=parsed.tenant_id, key=parsed.key, expires_at=expires_at)


def _bad(why: str) -> BadInputError:
    return BadInputError(f"invalid signed URL: {why}", code=errors.BAD_SIGNATURE)

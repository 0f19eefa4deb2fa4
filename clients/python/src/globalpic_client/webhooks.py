"""Verifying webhooks signed per Standard Webhooks (https://www.standardwebhooks.com).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` signatures of
``"{id}.{timestamp}.{body}"`` (more than one while a secret is being rotated). The secret is
``whsec_`` + base64 of the key bytes. ``verify`` checks the timestamp is within ``tolerance``
of now (a replayed old delivery fails) and that one ``v1`` signature matches, in constant
time, then returns the parsed JSON body::

    from globalpic_client.webhooks import WebhookVerificationError, verify

    try:
        event = verify(request.body, request.headers, secret="whsec_...")
    except WebhookVerificationError:
        return 400
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "sign", "verify"]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 5 * 60  # seconds either way


class WebhookVerificationError(Exception):
    """The delivery is not one signed with this secret (or is too old / too new)."""


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            # some senders drop the padding: add it back (extra padding is ignored)
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("webhook secret is not whsec_<base64>") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # a plain dict of any case (httpx / Starlette headers are case-insensitive already)
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value


def _signature(key: bytes, msg_id: str, timestamp: str, payload: bytes) -> bytes:
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + payload
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(msg_id: str, timestamp: int, payload: bytes | str, secret: str | bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of a delivery: what a sender (or a
    test) puts in the header."""
    body = payload.encode() if isinstance(payload, str) else payload
    digest = _signature(_key(secret), msg_id, str(int(timestamp)), body)
    return "v1," + base64.b64encode(digest).decode()


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON body once its signature and timestamp check out; raises
    ``WebhookVerificationError`` otherwise. ``payload`` must be the body exactly as received
    (not re-serialised JSON)."""
    key = _key(secret)
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    current = time.time() if now is None else now
    sent = int(timestamp)
    if sent < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if sent > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    expected = _signature(key, msg_id, timestamp, body)
    for entry in signatures.split(" "):
        version, comma, encoded = entry.partition(",")
        if not comma or version != "v1":
            continue  # another scheme (v1a: asymmetric) or junk
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(candidate, expected):
            break
    else:
        raise WebhookVerificationError("no matching signature")
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("the signed body is not JSON") from exc
    if not isinstance(parsed, dict):
        raise WebhookVerificationError("the signed body is not a JSON object")
    return parsed

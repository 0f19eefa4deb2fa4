"""Standard Webhooks signatures (``standardwebhooks``, the spec's reference library).

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC-SHA256 key is the decoded bytes.
Each attempt is signed over ``"{webhook-id}.{webhook-timestamp}.{body}"`` and sent as
``webhook-signature: v1,<base64 of the HMAC>`` beside ``webhook-id`` and ``webhook-timestamp``
(unix seconds of the attempt). A receiver verifies with any Standard Webhooks library:
``standardwebhooks.Webhook(secret).verify(body, headers)``.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "GlobalPic-Webhooks/1.0"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return Webhook(secret).sign(msg_id=message_id, timestamp=moment, data=body)


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of one attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }

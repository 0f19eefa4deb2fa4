"""Signatures follow the Standard Webhooks spec: its published test vector, an independent
HMAC computation, and the reference library's verifier accepting what we send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from globalpic_webhooks.signing import new_secret, sign, signed_headers

# The spec repository's test vector (libraries/*/tests: "test_sign_function").
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_spec_test_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == SPEC_SIGNATURE


def test_the_signature_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_secret() -> None:
    secret = new_secret()
    body = b'{"type":"job.completed","timestamp":"2026-03-10T12:05:00Z","data":{}}'
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"msg_abc.1773144300." + body, hashlib.sha256).digest()
    assert sign(secret, "msg_abc", 1773144300, body) == "v1," + base64.b64encode(expected).decode()


def test_secrets_are_32_random_bytes_in_base64() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_a_receiver_verifies_our_headers_with_the_reference_library() -> None:
    secret = new_secret()
    body = b'{"type":"image.completed","data":{"image":0}}'
    headers = signed_headers(secret, "msg_0123", int(time.time()), body)
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers) == {
        "type": "image.completed",
        "data": {"image": 0},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)

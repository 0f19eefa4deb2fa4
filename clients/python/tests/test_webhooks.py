"""Standard Webhooks signatures: the spec libraries' published test vector and the rules."""

from __future__ import annotations

import base64
import time

import pytest

from globalpic_client.webhooks import WebhookVerificationError, sign, verify

# The test vector of the Standard Webhooks reference libraries (libraries/*/tests): secret,
# message id, timestamp and body, and the signature they must give.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(signature: str = SIGNATURE, ts: int = TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_the_published_vector() -> None:
    assert sign(MSG_ID, TIMESTAMP, PAYLOAD, SECRET) == SIGNATURE
    assert verify(PAYLOAD, _headers(), SECRET, now=TIMESTAMP) == {"test": 2432232314}
    # the secret without its prefix, or as raw key bytes, is the same key
    raw = base64.b64decode(SECRET.removeprefix("whsec_"))
    assert verify(PAYLOAD, _headers(), SECRET.removeprefix("whsec_"), now=TIMESTAMP)
    assert verify(PAYLOAD.decode(), _headers(), raw, now=TIMESTAMP)


def test_header_names_of_any_case() -> None:
    headers = {k.title(): v for k, v in _headers().items()}
    assert verify(PAYLOAD, headers, SECRET, now=TIMESTAMP)["test"] == 2432232314


def test_one_matching_signature_among_several() -> None:
    others = [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v2," + SIGNATURE[3:],  # the right digest under another version: not v1
        "v1a,bm90IGEgc2lnbmF0dXJl",
        "garbage",
        "v1,not base64!",
    ]
    assert verify(PAYLOAD, _headers(" ".join([*others, SIGNATURE])), SECRET, now=TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(PAYLOAD, _headers(" ".join(others)), SECRET, now=TIMESTAMP)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p, h: (p + b" ", h),
        lambda p, h: (p, {**h, "webhook-id": "msg_other"}),
        lambda p, h: (p, {**h, "webhook-timestamp": str(TIMESTAMP + 1)}),
        lambda p, h: (p, {**h, "webhook-signature": SIGNATURE[:10] + "A" + SIGNATURE[11:]}),
    ],
)
def test_any_change_breaks_the_signature(tamper: object) -> None:
    payload, headers = tamper(PAYLOAD, _headers())  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify(payload, headers, SECRET, now=TIMESTAMP)


def test_timestamp_tolerance_is_five_minutes_either_way() -> None:
    assert verify(PAYLOAD, _headers(), SECRET, now=TIMESTAMP + 300)
    assert verify(PAYLOAD, _headers(), SECRET, now=TIMESTAMP - 300)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(PAYLOAD, _headers(), SECRET, now=TIMESTAMP + 301)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(PAYLOAD, _headers(), SECRET, now=TIMESTAMP - 301)
    # by default against the clock: the vector is from 2021
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(PAYLOAD, _headers(), SECRET)
    now = int(time.time())
    fresh = _headers(sign(MSG_ID, now, PAYLOAD, SECRET), now)
    assert verify(PAYLOAD, fresh, SECRET) == {"test": 2432232314}


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(PAYLOAD, headers, SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("ts", ["hello", "1614265330.5", "-1614265330", "9" * 40])
def test_unreadable_timestamps(ts: str) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(PAYLOAD, {**_headers(), "webhook-timestamp": ts}, SECRET, now=TIMESTAMP)


def test_bad_secrets_and_bodies() -> None:
    with pytest.raises(ValueError):
        verify(PAYLOAD, _headers(), "whsec_", now=TIMESTAMP)
    with pytest.raises(ValueError):
        verify(PAYLOAD, _headers(), "whsec_not*base64", now=TIMESTAMP)
    body = b"[1, 2]"
    signed = _headers(sign(MSG_ID, TIMESTAMP, body, SECRET))
    with pytest.raises(WebhookVerificationError, match="JSON object"):
        verify(body, signed, SECRET, now=TIMESTAMP)


def test_interoperates_with_the_reference_library() -> None:
    """Against ``standardwebhooks`` (what the webhooks service signs with; installed with
    it in this repository's environment)."""
    from datetime import UTC, datetime

    import standardwebhooks as reference

    now = int(time.time())
    body = '{"type": "job.completed", "data": {"id": "杯子"}}'.encode()
    theirs = reference.Webhook(SECRET).sign(
        msg_id=MSG_ID, timestamp=datetime.fromtimestamp(now, UTC), data=body
    )
    headers = _headers(theirs, now)
    assert verify(body, headers, SECRET) == {"type": "job.completed", "data": {"id": "杯子"}}
    mine = _headers(sign(MSG_ID, now, body, SECRET), now)
    assert reference.Webhook(SECRET).verify(body, mine) == {
        "type": "job.completed",
        "data": {"id": "杯子"},
    }

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage import signing
from globalpic_storage.keys import build_key
from globalpic_storage.signing import sign_url, verify_signed

KEY = "k" * 40
OBJ = build_key("acme", "results", "cd" * 32, "image/png")
NOW = 1_800_000_000.0


def _code(url: str, *, now: float = NOW, key: str = KEY, base: str = "/v1/files") -> str:
    with pytest.raises(BadInputError) as excinfo:
        verify_signed(url, signing_key=key, base_url=base, now=now)
    return excinfo.value.code


def test_round_trip() -> None:
    url = sign_url(OBJ, 60, signing_key=KEY, now=NOW)
    assert url.startswith(f"/v1/files/{OBJ.key}?expires=")
    signed = verify_signed(url, signing_key=KEY, now=NOW + 59)
    assert (signed.tenant_id, signed.key, signed.expires_at) == ("acme", OBJ.key, int(NOW) + 60)


def test_absolute_base_url_and_full_request_url() -> None:
    base = "https://api.example.com/v1/files"
    url = sign_url(OBJ, 60, signing_key=KEY, base_url=base, now=NOW)
    assert url.startswith("https://api.example.com/v1/files/tenants/acme/")
    # The gateway may pass the absolute URL or just path + query.
    assert verify_signed(url, signing_key=KEY, base_url=base, now=NOW).key == OBJ.key
    path_only = url.removeprefix("https://api.example.com")
    assert verify_signed(path_only, signing_key=KEY, base_url=base, now=NOW).key == OBJ.key


def test_expired() -> None:
    url = sign_url(OBJ, 60, signing_key=KEY, now=NOW)
    assert _code(url, now=NOW + 60) == errors.URL_EXPIRED


def test_tampering_is_detected() -> None:
    url = sign_url(OBJ, 60, signing_key=KEY, now=NOW)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    expires, signature = query["expires"][0], query["signature"][0]
    other = build_key("globex", "results", "cd" * 32, "image/png").key
    forged = [
        url.replace("tenants/acme", "tenants/globex"),  # another tenant's object
        f"/v1/files/{other}?expires={expires}&signature={signature}",
        url.replace(f"expires={expires}", f"expires={int(expires) + 3600}"),  # longer life
        url.replace(signature, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")),
        url + "&signature=x",  # duplicated parameter
        url.split("&signature")[0],  # unsigned
        url.replace("/v1/files/", "/v1/other/"),
        url.replace("expires=", "expires=-"),
    ]
    for bad in forged:
        assert _code(bad) == errors.BAD_SIGNATURE, bad
    assert _code(url, key="another-key-" * 3) == errors.BAD_SIGNATURE


def test_a_valid_signature_over_a_malformed_key_still_fails() -> None:
    # Defence in depth: even with the signing key, a URL cannot name a path outside the layout.
    evil = "tenants/acme/../../etc/passwd"
    expires = int(NOW) + 60
    sig = signing._signature(KEY.encode(), evil, expires)
    assert _code(f"/v1/files/{evil}?expires={expires}&signature={sig}") == errors.BAD_KEY


def test_empty_signing_key_refused() -> None:
    with pytest.raises(ValueError, match="empty signing key"):
        sign_url(OBJ, 60, signing_key="", now=NOW)

from __future__ import annotations

import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.keys import (
    build_key,
    check_tenant_id,
    extension_for,
    is_key,
    list_prefix,
    parse_key,
)

SHA = "ab" * 32


def test_build_and_parse_round_trip() -> None:
    key = build_key("acme", "results", SHA, "image/webp")
    assert key.key == f"tenants/acme/results/{SHA}.webp"
    assert key.content_type == "image/webp"
    assert parse_key("acme", key.key) == key


@pytest.mark.parametrize("tenant", ["acme", "Acme-2", "t_1.eu", "0", "a" * 64])
def test_valid_tenant_ids(tenant: str) -> None:
    assert check_tenant_id(tenant) == tenant


@pytest.mark.parametrize("tenant", ["", ".", "..", ".hidden", "a/b", "a" * 65, "a b", "a\n"])
def test_invalid_tenant_ids(tenant: str) -> None:
    with pytest.raises(BadInputError) as excinfo:
        check_tenant_id(tenant)
    assert excinfo.value.code == errors.BAD_TENANT_ID


def test_another_tenants_key_is_forbidden_not_malformed() -> None:
    key = f"tenants/globex/originals/{SHA}.png"
    with pytest.raises(BadInputError) as excinfo:
        parse_key("acme", key)
    assert excinfo.value.code == errors.FORBIDDEN_KEY
    # A tenant id that is a prefix of another's is still another tenant.
    with pytest.raises(BadInputError) as excinfo:
        parse_key("acm", f"tenants/acme/originals/{SHA}.png")
    assert excinfo.value.code == errors.FORBIDDEN_KEY


def test_uppercase_digest_is_not_a_key() -> None:
    # One spelling per object: an uppercase twin would be a second key for the same bytes.
    assert not is_key(f"tenants/acme/originals/{SHA.upper()}.png")
    assert is_key(f"tenants/acme/originals/{SHA}.png")


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [("image/jpeg", "jpg"), ("IMAGE/PNG", "png"), ("text/plain; charset=utf-8", "txt")],
)
def test_extensions(content_type: str, ext: str) -> None:
    assert extension_for(content_type) == ext


def test_list_prefix_is_inside_the_tenant() -> None:
    assert list_prefix("acme", "") == "tenants/acme/"
    assert list_prefix("acme", "results/ab") == "tenants/acme/results/ab"
    for bad in ("..", "../globex", "/x", "a b", "originals/%2e"):
        with pytest.raises(BadInputError):
            list_prefix("acme", bad)

"""API keys: only their hash is configured; a key resolves to its tenant and plan."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from globalpic_common.errors import UnauthenticatedError
from globalpic_gateway.core.auth import ApiKeyAuthenticator, Tenant
from globalpic_gateway.core.config import ApiKeyEntry, GatewaySettings, hash_api_key, new_api_key


def test_keys_resolve_to_their_tenant() -> None:
    a, b = new_api_key(), new_api_key()
    auth = ApiKeyAuthenticator(
        [
            ApiKeyEntry(tenant_id="acme", key_sha256=hash_api_key(a)),
            ApiKeyEntry(tenant_id="big-co", key_sha256=hash_api_key(b), plan="enterprise"),
        ]
    )
    assert auth.lookup(a) == Tenant("acme", "default")
    assert auth.lookup(b) == Tenant("big-co", "enterprise")
    assert auth.lookup(a + "x") is None
    assert auth.lookup(hash_api_key(a)) is None  # the stored hash is not a key
    assert asyncio.run(auth.authenticate(b)) == Tenant("big-co", "enterprise")
    with pytest.raises(UnauthenticatedError) as refused:
        asyncio.run(auth.authenticate(a + "x"))
    assert refused.value.code == "unauthorized"
    assert not Tenant("acme").metered  # settings keys are not billed


def test_keys_are_random_and_prefixed() -> None:
    keys = {new_api_key() for _ in range(50)}
    assert len(keys) == 50 and all(k.startswith("gp_") and len(k) > 40 for k in keys)


def test_settings_read_keys_and_batch_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = hash_api_key("gp_secret")
    monkeypatch.setenv(
        "GLOBALPIC_GATEWAY__API_KEYS", f'[{{"tenant_id": "acme", "key_sha256": "{digest}"}}]'
    )
    monkeypatch.setenv("GLOBALPIC_GATEWAY__BATCH_LIMITS", '{"default": 10, "enterprise": 99}')
    settings = GatewaySettings()
    assert settings.api_keys[0].tenant_id == "acme"
    assert settings.batch_limit("enterprise") == 99 and settings.batch_limit("startup") == 10


def test_default_batch_limits_follow_the_plans() -> None:
    settings = GatewaySettings()
    assert settings.batch_limit("default") == 50 and settings.batch_limit("enterprise") == 500


def test_production_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    with pytest.raises(ValidationError, match="API_KEYS"):
        GatewaySettings()


def test_production_accounts_need_billing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    monkeypatch.setenv("GLOBALPIC_GATEWAY__AUTH_ADDR", "auth:50061")
    with pytest.raises(ValidationError, match="BILLING_ADDR"):
        GatewaySettings()
    monkeypatch.setenv("GLOBALPIC_GATEWAY__BILLING_ADDR", "billing:50062")
    assert GatewaySettings().api_keys == []  # accounts alone are enough to sign in


def test_the_auth_cache_cannot_outlive_the_revocation_bound() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(auth_cache_seconds=31)


def test_a_plaintext_key_is_not_accepted_as_a_hash() -> None:
    with pytest.raises(ValidationError):
        ApiKeyEntry(tenant_id="acme", key_sha256="gp_not_a_hash")

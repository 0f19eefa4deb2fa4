"""The gateway's authenticator in front of the auth service: settings keys without a call,
answers cached for the configured time, refusals briefly, one call for a burst of requests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from globalpic.auth.v1 import auth_pb2
from globalpic_common.errors import UnauthenticatedError
from globalpic_gateway.core.auth import (
    ApiKeyAuthenticator,
    AuthServiceAuthenticator,
    Tenant,
)
from globalpic_gateway.core.config import ApiKeyEntry, hash_api_key, new_api_key


class CountingAuth:
    """Stands in for ``AuthClient`` (the real one is tested against the real service in
    tests/integration); counts calls and can hold them until released."""

    def __init__(self, valid: dict[str, auth_pb2.Principal]) -> None:
        self.valid = valid
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()

    def authenticate(self, credential: str) -> auth_pb2.Principal:
        self.calls += 1
        self.gate.wait(10)
        if credential not in self.valid:
            raise UnauthenticatedError("no such credential", code="token_invalid")
        return self.valid[credential]


PRINCIPAL = auth_pb2.Principal(
    team_id="team-a",
    user_id="user-1",
    role=auth_pb2.ROLE_ADMIN,
    scopes=["jobs:read"],
    kind=auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN,
    session_id="s1",
)


def _authenticator(
    client: CountingAuth, settings_key: str | None = None, **kwargs: Any
) -> AuthServiceAuthenticator:
    entries = (
        [ApiKeyEntry(tenant_id="dev", key_sha256=hash_api_key(settings_key))]
        if settings_key
        else []
    )
    return AuthServiceAuthenticator(
        client,  # type: ignore[arg-type]
        ApiKeyAuthenticator(entries),
        ttl_seconds=kwargs.pop("ttl_seconds", 60),
        **kwargs,
    )


def test_a_principal_becomes_a_metered_tenant_and_is_cached() -> None:
    client = CountingAuth({"tok": PRINCIPAL})
    auth = _authenticator(client)

    async def twice() -> tuple[Tenant, Tenant]:
        return await auth.authenticate("tok"), await auth.authenticate("tok")

    first, second = asyncio.run(twice())
    assert (
        first
        == second
        == Tenant(
            id="team-a",
            plan="",
            user_id="user-1",
            role="admin",
            scopes=frozenset({"jobs:read"}),
            kind="access_token",
            session_id="s1",
        )
    )
    assert first.metered and client.calls == 1


def test_settings_keys_never_reach_the_service() -> None:
    key = new_api_key()
    client = CountingAuth({})
    tenant = asyncio.run(_authenticator(client, key).authenticate(key))
    assert tenant == Tenant("dev") and client.calls == 0


def test_a_refusal_keeps_its_code_and_is_not_asked_again_at_once() -> None:
    client = CountingAuth({})
    auth = _authenticator(client)

    async def refused() -> list[str]:
        codes = []
        for _ in range(3):
            with pytest.raises(UnauthenticatedError) as exc:
                await auth.authenticate("stolen")
            codes.append(exc.value.code)
        return codes

    assert asyncio.run(refused()) == ["token_invalid"] * 3
    assert client.calls == 1


def test_a_burst_of_one_new_credential_makes_one_call() -> None:
    client = CountingAuth({"tok": PRINCIPAL})
    client.gate.clear()
    auth = _authenticator(client)

    async def burst() -> list[Tenant]:
        tasks = [asyncio.create_task(auth.authenticate("tok")) for _ in range(20)]
        while client.calls == 0:  # the first call is in flight, held at the gate
            await asyncio.sleep(0.001)
        await asyncio.sleep(0)  # every other task has reached the pending future
        client.gate.set()
        return await asyncio.gather(*tasks)

    tenants = asyncio.run(burst())
    assert len(set(tenants)) == 1 and client.calls == 1


def test_forget_and_expiry_ask_the_service_again() -> None:
    client = CountingAuth({"tok": PRINCIPAL})
    auth = _authenticator(client)
    asyncio.run(auth.authenticate("tok"))
    auth.forget("tok")
    del client.valid["tok"]  # logged out
    with pytest.raises(UnauthenticatedError):
        asyncio.run(auth.authenticate("tok"))
    assert client.calls == 2

    uncached = _authenticator(CountingAuth({"tok": PRINCIPAL}), ttl_seconds=0)
    asyncio.run(uncached.authenticate("tok"))
    asyncio.run(uncached.authenticate("tok"))
    assert uncached._client.calls == 2  # type: ignore[attr-defined]


def test_a_revoked_session_or_key_is_forgotten_here_at_once() -> None:
    client = CountingAuth({"tok": PRINCIPAL})
    auth = _authenticator(client)
    asyncio.run(auth.authenticate("tok"))
    auth.forget_session("other")
    asyncio.run(auth.authenticate("tok"))
    assert client.calls == 1
    auth.forget_session("s1")
    asyncio.run(auth.authenticate("tok"))
    assert client.calls == 2

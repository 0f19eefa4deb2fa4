"""Tenancy: every route resolves ``Authorization: Bearer <key>`` to a tenant.

Routes depend on the ``Authenticator`` interface only; ``ApiKeyAuthenticator`` (keys from
settings, stored as SHA-256) is the first implementation, and the auth service's JWT check will
be another behind the same interface.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from globalpic_gateway.core.config import ApiKeyEntry, hash_api_key


@dataclass(frozen=True)
class Tenant:
    id: str
    plan: str = "default"


class Authenticator(Protocol):
    def authenticate(self, credential: str) -> Tenant | None:
        """The tenant the credential belongs to, or None when it is not valid.

        Called on the event loop for every request: it must be quick and must not block (a
        lookup or a signature check, not a round trip or a slow KDF)."""
        ...


class ApiKeyAuthenticator:
    def __init__(self, entries: list[ApiKeyEntry]) -> None:
        self._by_hash = {entry.key_sha256: entry for entry in entries}

    def authenticate(self, credential: str) -> Tenant | None:
        digest = hash_api_key(credential)
        entry = self._by_hash.get(digest)
        # compare_digest: the lookup above is by hash, but keep the final check constant-time
        if entry is None or not hmac.compare_digest(entry.key_sha256, digest):
            return None
        return Tenant(entry.tenant_id, entry.plan)

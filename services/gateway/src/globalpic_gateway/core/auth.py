"""Who is calling: every route resolves ``Authorization: Bearer <credential>`` to a ``Tenant``.

A credential is one of three things:

* an operator-configured key from settings (``GLOBALPIC_GATEWAY__API_KEYS``, stored as
  SHA-256): ``make dev``'s key and self-hosted tenants; not metered by billing;
* an API key a team created (``gp_live_...``), or
* a web-app access token (a JWT),

the last two resolved by the auth service (``AuthServiceAuthenticator``). Its answers are
cached for ``auth_cache_seconds`` (a revoked key or a logged-out token is refused within that
time; the issue's bound is 30 s), and a burst of requests with one new credential makes one
call, not one each.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from cachetools import TTLCache

from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError
from globalpic_gateway.core.config import ApiKeyEntry, hash_api_key

if TYPE_CHECKING:
    from globalpic.auth.v1 import auth_pb2
    from globalpic_clients.auth import AuthClient

JOBS_READ = "jobs:read"
JOBS_WRITE = "jobs:write"
ALL_SCOPES = frozenset({JOBS_READ, JOBS_WRITE})

Role = Literal["owner", "admin", "member"]
CredentialKind = Literal["settings_key", "api_key", "access_token"]


@dataclass(frozen=True)
class Tenant:
    """The caller: a team (``id``, the tenant of jobs, results and keys) and, for the web
    app, the signed-in user and their role in that team."""

    id: str
    plan: str = "default"  # a settings key's plan; billing knows a metered team's
    user_id: str | None = None
    role: Role = "owner"
    scopes: frozenset[str] = ALL_SCOPES
    kind: CredentialKind = "settings_key"
    session_id: str | None = None  # the access token's session, or the API key's id

    @property
    def metered(self) -> bool:
        """Teams of the auth service are metered by billing; settings keys are not."""
        return self.kind != "settings_key"


class Authenticator(Protocol):
    async def authenticate(self, credential: str) -> Tenant:
        """The tenant the credential belongs to; ``UnauthenticatedError`` when it is not valid
        (its code says why: ``unauthorized``, ``token_expired``, ...)."""
        ...


class ApiKeyAuthenticator:
    """Keys from settings: a dictionary lookup by SHA-256, nothing else."""

    def __init__(self, entries: list[ApiKeyEntry]) -> None:
        self._by_hash = {entry.key_sha256: entry for entry in entries}

    def lookup(self, credential: str) -> Tenant | None:
        digest = hash_api_key(credential)
        entry = self._by_hash.get(digest)
        # compare_digest: the lookup above is by hash, but keep the final check constant-time
        if entry is None or not hmac.compare_digest(entry.key_sha256, digest):
            return None
        return Tenant(entry.tenant_id, entry.plan)

    async def authenticate(self, credential: str) -> Tenant:
        tenant = self.lookup(credential)
        if tenant is None:
            raise UnauthenticatedError("the API key is not valid", code=errors.UNAUTHORIZED)
        return tenant


_ROLES: dict[int, Role] = {1: "owner", 2: "admin", 3: "member"}
_KINDS: dict[int, CredentialKind] = {1: "access_token", 2: "api_key"}


def tenant_from_principal(principal: auth_pb2.Principal) -> Tenant:
    return Tenant(
        id=principal.team_id,
        plan="",  # billing's to say
        user_id=principal.user_id or None,
        role=_ROLES.get(principal.role, "member"),
        scopes=frozenset(principal.scopes),
        kind=_KINDS.get(principal.kind, "api_key"),
        session_id=principal.session_id or None,
    )


class AuthServiceAuthenticator:
    """Settings keys first (no round trip), then the auth service, behind a short TTL cache."""

    def __init__(
        self,
        client: AuthClient,
        settings_keys: ApiKeyAuthenticator,
        *,
        ttl_seconds: float,
        refused_ttl_seconds: float = 2.0,
        max_entries: int = 100_000,
    ) -> None:
        self._client = client
        self._settings_keys = settings_keys
        # Keyed by the credential's SHA-256: the cache never holds a credential itself.
        self._known: TTLCache[str, Tenant] = TTLCache(max_entries, ttl_seconds)
        # Refusals are kept briefly too, so a flood of bad credentials does not become a
        # flood of calls; a credential is never refused before it existed, so this delays
        # nothing legitimate.
        self._refused: TTLCache[str, UnauthenticatedError] = TTLCache(
            max_entries, refused_ttl_seconds
        )
        self._pending: dict[str, asyncio.Future[Tenant]] = {}

    async def authenticate(self, credential: str) -> Tenant:
        tenant = self._settings_keys.lookup(credential)
        if tenant is not None:
            return tenant
        key = hashlib.sha256(credential.encode()).hexdigest()
        known = self._known.get(key)
        if known is not None:
            return known
        refused = self._refused.get(key)
        if refused is not None:
            raise refused
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Tenant] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            principal = await asyncio.to_thread(self._client.authenticate, credential)
            tenant = tenant_from_principal(principal)
        except UnauthenticatedError as exc:
            self._refused[key] = exc
            future.set_exception(exc)
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            self._known[key] = tenant
            future.set_result(tenant)
            return tenant
        finally:
            del self._pending[key]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning when none waited

    def forget(self, credential: str) -> None:
        """Drop a credential this gateway itself just revoked (logout), so it is refused here
        at once rather than after the cache time."""
        key = hashlib.sha256(credential.encode()).hexdigest()
        self._known.pop(key, None)

    def forget_session(self, session_id: str) -> None:
        """Drop every cached answer of a session or API key (by id) this gateway revoked."""
        for key, tenant in list(self._known.items()):
            if tenant.session_id == session_id:
                self._known.pop(key, None)

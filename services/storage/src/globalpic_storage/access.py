"""How a caller reaches storage, for the gateway and the orchestrator alike: in process, or
the storage service over gRPC (its client).

``GLOBALPIC_GATEWAY__STORAGE_ADDR`` / ``GLOBALPIC_ORCHESTRATOR__STORAGE_ADDR`` (``host:port``)
switch each to the storage service's ``StorageClient`` (the same ``Storage`` interface); unset,
they store in this process with the backend ``GLOBALPIC_STORAGE__*`` configures
(``globalpic_storage.factory.build_storage``).

Signed download URLs: a local-disk storage signs gateway paths (``/v1/files/...``) that the
gateway verifies and serves (``verify_signed``). Behind the service, the gateway verifies them
itself with the shared ``GLOBALPIC_STORAGE__SIGNING_KEY`` / ``__SIGNED_URL_BASE`` (the settings
the service signs with) and streams the object through the client; an S3-backed service hands
out S3 URLs, which never come back to the gateway.
"""

from __future__ import annotations

from globalpic_storage.client import StorageClient
from globalpic_storage.protocol import Storage
from globalpic_storage.settings import StorageSettings
from globalpic_storage.signing import DEFAULT_BASE_URL, SignedObject, verify_signed


class RemoteStorage(StorageClient):
    """The storage service's client plus ``verify_signed`` for the URLs it signs for the
    gateway (local-disk backend), so ``GET /v1/files`` serves them as in process."""

    def __init__(
        self, addr: str, *, signing_key: str, signed_url_base: str = DEFAULT_BASE_URL
    ) -> None:
        super().__init__(addr)
        self._signing_key = signing_key
        self._signed_url_base = signed_url_base

    def verify_signed(self, url: str, *, now: float | None = None) -> SignedObject:
        return verify_signed(
            url, signing_key=self._signing_key, base_url=self._signed_url_base, now=now
        )


def storage_from_settings(
    addr: str | None, storage_settings: StorageSettings | None = None
) -> Storage:
    """The gateway's and the orchestrator's ``Storage``: the service when ``storage_addr`` is set,
    else the backend ``GLOBALPIC_STORAGE__*`` names, in this process."""
    storage_settings = storage_settings or StorageSettings()
    if addr:
        return RemoteStorage(
            addr,
            signing_key=storage_settings.signing_key.get_secret_value(),
            signed_url_base=storage_settings.signed_url_base,
        )
    from globalpic_storage.factory import build_storage

    return build_storage(storage_settings)


def describe_storage(addr: str | None) -> str:
    """For the start-up log: where objects go."""
    if addr:
        return f"the storage service at {addr}"
    return "in process (GLOBALPIC_STORAGE__*)"

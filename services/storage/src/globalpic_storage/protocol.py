"""The ``Storage`` interface: what the gateway and the job runner depend on.

Implemented by ``LocalDiskStorage``, ``S3Storage`` and the gRPC ``StorageClient``, so the
same code stores into a directory in the CLI and tests, into S3 in the cluster, or through the
storage service, chosen at the composition root.

Every method takes the caller's tenant id first and refuses keys outside that tenant
(``globalpic_storage.keys``). Errors are ``BadInputError`` with a stable code: ``bad_key``,
``forbidden_key``, ``bad_tenant_id``, ``object_not_found``, ``file_too_large``,
``empty_object``, ``unsupported_content_type``, ``bad_option``; an object store that fails
raises ``ServiceUnavailableError`` with ``storage_unavailable``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.keys import Kind
from globalpic_storage.streams import Payload

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# S3 signatures (SigV4) are valid for at most 7 days; local signed URLs follow the same rule.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True)
class ListPage:
    items: list[ObjectInfo]
    # Pass back as ``page_token`` for the next page; None on the last page.
    next_page_token: str | None


@runtime_checkable
class Storage(Protocol):
    def put(self, tenant_id: str, kind: Kind, data: Payload, content_type: str) -> ObjectInfo:
        """Store ``data`` (bytes, a binary file or an iterator of chunks, read in bounded
        chunks) under its content address; storing the same bytes again returns the same key
        and stores nothing new."""
        ...

    def get(self, tenant_id: str, key: str) -> bytes: ...

    def iter_chunks(self, tenant_id: str, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks, for streaming large objects. The key is checked and the
        object opened by the call itself, so a bad key or a missing object raises here, not in
        the middle of a response."""
        ...

    def exists(self, tenant_id: str, key: str) -> bool: ...

    def stat(self, tenant_id: str, key: str) -> ObjectInfo: ...

    def delete(self, tenant_id: str, key: str) -> bool:
        """Remove the object; ``True`` if it was there (deleting twice is not an error)."""
        ...

    def list(
        self,
        tenant_id: str,
        prefix: str = "",
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> ListPage:
        """The tenant's objects whose key, relative to ``tenants/<tenant_id>/``, starts with
        ``prefix`` (e.g. ``"originals/"``), in key order, at most ``limit`` per page."""
        ...

    def presign_get(self, tenant_id: str, key: str, expires_in: int) -> str:
        """A URL that downloads the object without credentials for ``expires_in`` seconds."""
        ...


def check_page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadInputError(
            f"page size {limit} is outside 1..{MAX_PAGE_SIZE}", code=errors.BAD_OPTION
        )
    return limit


def check_expiry(expires_in: int) -> int:
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise BadInputError(
            f"expiry {expires_in}s is outside 1..{MAX_PRESIGN_SECONDS}s", code=errors.BAD_OPTION
        )
    return expires_in


def not_found(key: str) -> BadInputError:
    return BadInputError(f"no object {key!r}", code=errors.OBJECT_NOT_FOUND)


def empty_object() -> BadInputError:
    return BadInputError("refusing to store an empty object", code=errors.EMPTY_OBJECT)

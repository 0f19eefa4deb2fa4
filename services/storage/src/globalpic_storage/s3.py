"""``S3Storage``: objects in an S3 bucket (AWS S3, MinIO, SeaweedFS) through the ``minio`` SDK.

Object names are ``<prefix>/<key>``. An upload is spooled (memory up to a few MiB, then a temp
file) while it is hashed and bounded, because its key is its SHA-256 and S3 wants the name
before the body; it is then sent with its exact length (the SDK switches to multipart for large
bodies), or not at all when the same bytes are already stored.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from typing import BinaryIO, NoReturn, cast

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from globalpic_common import errors
from globalpic_common.errors import GlobalPicError, ServiceUnavailableError
from globalpic_storage.keys import (
    CONTENT_TYPES,
    Kind,
    ObjectKey,
    check_kind,
    check_tenant_id,
    extension_for,
    is_key,
    list_prefix,
    parse_key,
)
from globalpic_storage.protocol import (
    DEFAULT_PAGE_SIZE,
    ListPage,
    ObjectInfo,
    check_expiry,
    check_page_size,
    empty_object,
    not_found,
)
from globalpic_storage.settings import StorageSettings
from globalpic_storage.streams import CHUNK_BYTES, Payload, copy_bounded

# Uploads up to this size stay in memory while they are hashed; larger ones spill to disk.
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
_MISSING_OBJECT_CODES = {"NoSuchKey", "NoSuchObject", "NotFound"}


def make_client(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    secure: bool,
    region: str | None,
    timeout_seconds: float = 30.0,
) -> Minio:
    # The SDK's own pool waits 5 minutes to connect; a storage call that hangs that long
    # holds a gRPC worker and a job, so fail sooner and let the caller retry.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(5.0, timeout_seconds), read=timeout_seconds),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(
        endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
        http_client=http,
    )


class S3Storage:
    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        max_object_bytes: int,
        prefix: str = "",
        presign_client: Minio | None = None,
    ) -> None:
        self._client = client
        # Browsers download presigned URLs from the public endpoint, which signs differently.
        self._presign_client = presign_client or client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.max_object_bytes = max_object_bytes

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> S3Storage:
        """Connect and check (or, when allowed, create) the bucket: a wrong endpoint, bad
        credentials or a missing bucket fail at start-up, not on the first upload."""
        if settings.s3_endpoint is None or settings.s3_bucket is None:
            raise ValueError("StorageSettings for S3 without endpoint or bucket")  # validated
        access_key = settings.s3_access_key or ""
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else ""
        client = make_client(
            settings.s3_endpoint,
            access_key=access_key,
            secret_key=secret,
            secure=settings.s3_secure,
            region=settings.s3_region,
            timeout_seconds=settings.s3_timeout_seconds,
        )
        presign_client = None
        if settings.s3_public_endpoint:
            # Signing is offline only when the region is known; the public endpoint may not be
            # reachable from inside the cluster to ask.
            presign_client = make_client(
                settings.s3_public_endpoint,
                access_key=access_key,
                secret_key=secret,
                secure=settings.s3_public_secure,
                region=settings.s3_region or "us-east-1",
            )
        storage = cls(
            client,
            settings.s3_bucket,
            max_object_bytes=settings.max_object_bytes,
            prefix=settings.s3_prefix,
            presign_client=presign_client,
        )
        storage.ensure_bucket(create=settings.s3_create_bucket, region=settings.s3_region)
        return storage

    def ensure_bucket(self, *, create: bool, region: str | None = None) -> None:
        with _s3_errors(f"bucket {self.bucket}"):
            if self._client.bucket_exists(self.bucket):
                return
            if not create:
                raise GlobalPicError(
                    f"bucket {self.bucket!r} does not exist; create it, or set "
                    "GLOBALPIC_STORAGE__S3_CREATE_BUCKET=true to let the service create it",
                    code=errors.STORAGE_UNAVAILABLE,
                )
            self._client.make_bucket(self.bucket, location=region)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key_of(self, name: str) -> str:
        return name[len(self.prefix) + 1 :] if self.prefix else name

    def put(self, tenant_id: str, kind: Kind, data: Payload, content_type: str) -> ObjectInfo:
        check_tenant_id(tenant_id)
        checked_kind = check_kind(kind)
        ext = extension_for(content_type)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            copied = copy_bounded(data, spool, self.max_object_bytes)
            if copied.size == 0:
                raise empty_object()
            key = ObjectKey(tenant_id, checked_kind, copied.sha256, ext)
            name = self._name(key.key)
            if not self._exists(name, key.key):
                spool.seek(0)
                with _s3_errors(key.key):
                    self._client.put_object(
                        self.bucket,
                        name,
                        cast(BinaryIO, spool),
                        copied.size,
                        content_type=key.content_type,
                    )
        return ObjectInfo(key=key.key, size=copied.size, content_type=key.content_type)

    def get(self, tenant_id: str, key: str) -> bytes:
        return b"".join(self.iter_chunks(tenant_id, key))

    def iter_chunks(self, tenant_id: str, key: str) -> Iterator[bytes]:
        parsed = parse_key(tenant_id, key)
        with _s3_errors(parsed.key):
            response = self._client.get_object(self.bucket, self._name(parsed.key))
        return _stream(response, parsed.key)

    def exists(self, tenant_id: str, key: str) -> bool:
        parsed = parse_key(tenant_id, key)
        return self._exists(self._name(parsed.key), parsed.key)

    def _exists(self, name: str, key: str) -> bool:
        try:
            with _s3_errors(key):
                self._client.stat_object(self.bucket, name)
        except GlobalPicError as exc:
            if exc.code == errors.OBJECT_NOT_FOUND:
                return False
            raise
        return True

    def stat(self, tenant_id: str, key: str) -> ObjectInfo:
        parsed = parse_key(tenant_id, key)
        with _s3_errors(parsed.key):
            found = self._client.stat_object(self.bucket, self._name(parsed.key))
        # The content type is the key's: the one the object was stored with by construction.
        return ObjectInfo(key=parsed.key, size=found.size or 0, content_type=parsed.content_type)

    def delete(self, tenant_id: str, key: str) -> bool:
        parsed = parse_key(tenant_id, key)
        name = self._name(parsed.key)
        # S3 deletes are idempotent and say nothing: look first to report whether it existed.
        existed = self._exists(name, parsed.key)
        with _s3_errors(parsed.key):
            self._client.remove_object(self.bucket, name)
        return existed

    def list(
        self,
        tenant_id: str,
        prefix: str = "",
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> ListPage:
        wanted = list_prefix(tenant_id, prefix)
        check_page_size(limit)
        after = parse_key(tenant_id, page_token).key if page_token else None
        found: builtins.list[ObjectInfo] = []
        with _s3_errors(wanted):
            listing = self._client.list_objects(
                self.bucket,
                prefix=self._name(wanted),
                recursive=True,
                start_after=self._name(after) if after else None,
            )
            for obj in listing:  # pages lazily: stops fetching once the page is full
                key = self._key_of(obj.object_name or "")
                if not is_key(key):  # something else in the bucket: not ours to list
                    continue
                ext = key.rsplit(".", 1)[1]
                found.append(ObjectInfo(key, obj.size or 0, CONTENT_TYPES[ext]))
                if len(found) > limit:
                    return ListPage(items=found[:limit], next_page_token=found[limit - 1].key)
        return ListPage(items=found, next_page_token=None)

    def presign_get(self, tenant_id: str, key: str, expires_in: int) -> str:
        parsed = parse_key(tenant_id, key)
        check_expiry(expires_in)
        name = self._name(parsed.key)
        if not self._exists(name, parsed.key):
            raise not_found(parsed.key)
        with _s3_errors(parsed.key):
            return self._presign_client.presigned_get_object(
                self.bucket, name, expires=timedelta(seconds=expires_in)
            )


def _stream(response: urllib3.BaseHTTPResponse, key: str) -> Iterator[bytes]:
    try:
        with _s3_errors(key):
            yield from response.stream(CHUNK_BYTES)
    finally:
        response.close()
        response.release_conn()


@contextlib.contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    """Missing objects become ``object_not_found``; every other SDK or connection failure
    becomes ``ServiceUnavailableError`` with ``storage_unavailable`` (the object store's
    problem, not the caller's input, and worth a retry)."""
    try:
        yield
    except S3Error as exc:
        if exc.code in _MISSING_OBJECT_CODES:
            raise not_found(what) from None
        _unavailable(what, f"{exc.code}: {exc.message}", exc)
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        _unavailable(what, str(exc), exc)


def _unavailable(what: str, detail: str, exc: BaseException) -> NoReturn:
    raise ServiceUnavailableError(
        f"object store failed on {what}: {detail}", code=errors.STORAGE_UNAVAILABLE
    ) from exc

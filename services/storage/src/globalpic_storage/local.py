"""``LocalDiskStorage``: objects as files under one root directory (the default backend).

A key maps to ``<root>/<key>``; keys are validated by ``globalpic_storage.keys`` before any path
is built, so no key can reach outside the root. Writes go to a temp file under
``<root>/.tmp`` (same filesystem), are fsynced, then renamed into place: a reader never sees a
half-written object, and a crash leaves at most a stray temp file, never a wrong one.
Download URLs are HMAC-signed gateway paths (``globalpic_storage.signing``).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from globalpic_storage.keys import (
    CONTENT_TYPES,
    KINDS,
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
from globalpic_storage.signing import DEFAULT_BASE_URL, SignedObject, sign_url, verify_signed
from globalpic_storage.streams import CHUNK_BYTES, Payload, copy_bounded

_TMP_DIR = ".tmp"
_TMP_PREFIX = "put-"
# A temp file this old belongs to an upload whose process died: no upload takes a day.
_STALE_TEMP_SECONDS = 24 * 3600


class LocalDiskStorage:
    def __init__(
        self,
        root: str | Path,
        *,
        signing_key: bytes | str,
        max_object_bytes: int,
        signed_url_base: str = DEFAULT_BASE_URL,
    ) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / _TMP_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temp_files(self._tmp)
        self._signing_key = signing_key
        self._signed_url_base = signed_url_base
        self.max_object_bytes = max_object_bytes

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> LocalDiskStorage:
        return cls(
            settings.root,
            signing_key=settings.signing_key.get_secret_value(),
            max_object_bytes=settings.max_object_bytes,
            signed_url_base=settings.signed_url_base,
        )

    def _path(self, key: ObjectKey) -> Path:
        return self.root / key.key

    def put(self, tenant_id: str, kind: Kind, data: Payload, content_type: str) -> ObjectInfo:
        # Everything that can be checked without the bytes is checked before reading them.
        check_tenant_id(tenant_id)
        checked_kind = check_kind(kind)
        ext = extension_for(content_type)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=_TMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as tmp:
                copied = copy_bounded(data, tmp, self.max_object_bytes)
                if copied.size == 0:
                    raise empty_object()
                tmp.flush()
                os.fsync(tmp.fileno())
            key = ObjectKey(tenant_id, checked_kind, copied.sha256, ext)
            target = self._path(key)
            if not target.is_file():  # same bytes already stored: keep the one we have
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
                _fsync_dir(target.parent)  # the rename itself survives a power cut
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        return ObjectInfo(key=key.key, size=copied.size, content_type=key.content_type)

    def get(self, tenant_id: str, key: str) -> bytes:
        return b"".join(self.iter_chunks(tenant_id, key))

    def iter_chunks(self, tenant_id: str, key: str) -> Iterator[bytes]:
        parsed = parse_key(tenant_id, key)
        try:
            handle = self._path(parsed).open("rb")
        except (FileNotFoundError, NotADirectoryError):
            raise not_found(key) from None
        return _read_chunks(handle)

    def exists(self, tenant_id: str, key: str) -> bool:
        return self._path(parse_key(tenant_id, key)).is_file()

    def stat(self, tenant_id: str, key: str) -> ObjectInfo:
        parsed = parse_key(tenant_id, key)
        try:
            size = self._path(parsed).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            raise not_found(key) from None
        return ObjectInfo(key=parsed.key, size=size, content_type=parsed.content_type)

    def delete(self, tenant_id: str, key: str) -> bool:
        try:
            self._path(parse_key(tenant_id, key)).unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

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
        after = parse_key(tenant_id, page_token).key if page_token else ""
        found: builtins.list[ObjectInfo] = []
        # Kinds in name order and names sorted within each: the same order as S3's listing.
        for kind in KINDS:
            kind_prefix = f"tenants/{tenant_id}/{kind}/"
            if not (kind_prefix.startswith(wanted) or wanted.startswith(kind_prefix)):
                continue
            try:
                names = sorted(os.listdir(self.root / kind_prefix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                key = kind_prefix + name
                if key <= after or not key.startswith(wanted) or not is_key(key):
                    continue
                try:
                    size = (self.root / key).stat().st_size
                except FileNotFoundError:  # deleted while we listed
                    continue
                found.append(ObjectInfo(key, size, CONTENT_TYPES[key.rsplit(".", 1)[1]]))
                if len(found) > limit:
                    return ListPage(items=found[:limit], next_page_token=found[limit - 1].key)
        return ListPage(items=found, next_page_token=None)

    def presign_get(self, tenant_id: str, key: str, expires_in: int) -> str:
        parsed = parse_key(tenant_id, key)
        check_expiry(expires_in)
        if not self._path(parsed).is_file():
            raise not_found(key)
        return sign_url(
            parsed, expires_in, signing_key=self._signing_key, base_url=self._signed_url_base
        )

    def verify_signed(self, url: str, *, now: float | None = None) -> SignedObject:
        """What the gateway calls on a request for a URL that ``presign_get`` made."""
        return verify_signed(
            url, signing_key=self._signing_key, base_url=self._signed_url_base, now=now
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sweep_stale_temp_files(tmp_dir: Path) -> None:
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for leftover in tmp_dir.glob(f"{_TMP_PREFIX}*"):
        with contextlib.suppress(FileNotFoundError):  # another replica swept it first
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk

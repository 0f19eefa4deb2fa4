"""What only the local-disk backend has: files under one root, atomic writes, signed URLs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.factory import build_storage
from globalpic_storage.local import LocalDiskStorage
from globalpic_storage.settings import StorageSettings

from .conftest import SIGNING_KEY, local_storage

DATA = b"\x89PNG\r\n\x1a\n" + b"pixels" * 1000


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_objects_are_files_at_their_key_under_the_root(tmp_path: Path) -> None:
    storage = local_storage(tmp_path / "store")
    info = storage.put("acme", "originals", DATA, "image/png")
    assert (tmp_path / "store" / info.key).read_bytes() == DATA
    assert _files(tmp_path) == [f"store/{info.key}"]  # nothing else, nothing outside the root


def test_a_failing_upload_leaves_nothing_behind(tmp_path: Path) -> None:
    storage = local_storage(tmp_path / "store")

    def broken() -> Iterator[bytes]:
        yield DATA
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        storage.put("acme", "originals", broken(), "image/png")
    with pytest.raises(BadInputError):
        storage.put("acme", "originals", b"\0" * (storage.max_object_bytes + 1), "image/png")
    assert _files(tmp_path) == []


def test_temp_files_of_dead_uploads_are_swept_at_start(tmp_path: Path) -> None:
    tmp_dir = tmp_path / "store" / ".tmp"
    tmp_dir.mkdir(parents=True)
    stale, fresh = tmp_dir / "put-dead", tmp_dir / "put-in-flight"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    local_storage(tmp_path / "store")
    assert not stale.exists() and fresh.exists()


def test_storing_again_keeps_the_first_file(tmp_path: Path) -> None:
    storage = local_storage(tmp_path / "store")
    key = storage.put("acme", "originals", DATA, "image/png").key
    before = (tmp_path / "store" / key).stat()
    time.sleep(0.01)
    storage.put("acme", "originals", DATA, "image/png")
    after = (tmp_path / "store" / key).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert _files(tmp_path) == [f"store/{key}"]


def test_listing_skips_files_that_are_not_objects(tmp_path: Path) -> None:
    storage = local_storage(tmp_path / "store")
    key = storage.put("acme", "originals", DATA, "image/png").key
    (tmp_path / "store" / "tenants" / "acme" / "originals" / "notes.txt").write_text("stray")
    (tmp_path / "store" / "tenants" / "acme" / "originals" / "sub").mkdir()
    assert [item.key for item in storage.list("acme").items] == [key]


def test_signed_url_verifies_and_expires(tmp_path: Path) -> None:
    storage = local_storage(tmp_path / "store")
    key = storage.put("acme", "results", DATA, "image/png").key
    url = storage.presign_get("acme", key, 60)
    signed = storage.verify_signed(url)
    assert (signed.tenant_id, signed.key) == ("acme", key)
    assert storage.get(signed.tenant_id, signed.key) == DATA
    with pytest.raises(BadInputError) as excinfo:
        storage.verify_signed(url, now=time.time() + 61)
    assert excinfo.value.code == errors.URL_EXPIRED
    other = LocalDiskStorage(tmp_path / "store", signing_key="x" * 32, max_object_bytes=10)
    with pytest.raises(BadInputError) as excinfo:
        other.verify_signed(url)  # another deployment's key does not verify it
    assert excinfo.value.code == errors.BAD_SIGNATURE


def test_built_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GLOBALPIC_STORAGE__ROOT", str(tmp_path / "from-env"))
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNED_URL_BASE", "https://api.example.com/v1/files")
    storage = build_storage(StorageSettings())
    assert isinstance(storage, LocalDiskStorage)
    key = storage.put("acme", "thumbnails", DATA, "image/jpeg").key
    assert (tmp_path / "from-env" / key).is_file()
    url = storage.presign_get("acme", key, 60)
    assert url.startswith("https://api.example.com/v1/files/tenants/acme/thumbnails/")

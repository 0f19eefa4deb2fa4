"""What only the S3 backend has, against the real SeaweedFS server: buckets, prefixes,
presigned URLs that S3 itself checks, and failures of the object store."""

from __future__ import annotations

import io
import socket
import urllib.error
import urllib.request
import uuid

import pytest

from globalpic_common import errors
from globalpic_common.errors import GlobalPicError, ServiceUnavailableError
from globalpic_storage.factory import build_storage
from globalpic_storage.s3 import S3Storage, make_client
from globalpic_storage.settings import StorageSettings

from .conftest import S3_REGION, S3Server

DATA = b"\xff\xd8\xff" + b"jpeg" * 2000


def _settings(server: S3Server, **overrides: object) -> StorageSettings:
    values: dict[str, object] = {
        "backend": "s3",
        "s3_endpoint": server.endpoint,
        "s3_bucket": f"b-{uuid.uuid4().hex[:16]}",
        "s3_access_key": server.access_key,
        "s3_secret_key": server.secret_key,
        "s3_secure": False,
        "s3_region": S3_REGION,
        "s3_prefix": "deploy-1",
        "s3_create_bucket": True,
        "max_object_bytes": 1024 * 1024,
    }
    values.update(overrides)
    return StorageSettings.model_validate(values)


def test_creates_the_bucket_when_allowed(s3_server: S3Server) -> None:
    settings = _settings(s3_server)
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    assert s3_server.client().bucket_exists(str(settings.s3_bucket))
    key = storage.put("acme", "originals", DATA, "image/jpeg").key
    # Objects sit under the deployment prefix in the bucket.
    names = [
        o.object_name
        for o in s3_server.client().list_objects(str(settings.s3_bucket), recursive=True)
    ]
    assert names == [f"deploy-1/{key}"]


def test_missing_bucket_is_a_startup_error_when_creation_is_not_allowed(
    s3_server: S3Server,
) -> None:
    with pytest.raises(GlobalPicError) as excinfo:
        build_storage(_settings(s3_server, s3_create_bucket=False))
    assert excinfo.value.code == errors.STORAGE_UNAVAILABLE
    assert "S3_CREATE_BUCKET" in excinfo.value.message


def test_wrong_secret_is_refused_by_the_server(s3_server: S3Server) -> None:
    with pytest.raises(ServiceUnavailableError) as excinfo:
        build_storage(_settings(s3_server, s3_secret_key="not-the-secret-at-all"))
    assert excinfo.value.code == errors.STORAGE_UNAVAILABLE


def test_unreachable_endpoint_is_storage_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(
        f"127.0.0.1:{port}",
        access_key="a",
        secret_key="b",
        secure=False,
        region=S3_REGION,
        timeout_seconds=1.0,
    )
    storage = S3Storage(client, "nowhere", max_object_bytes=1024)
    with pytest.raises(ServiceUnavailableError) as excinfo:
        storage.put("acme", "originals", b"x", "image/png")
    assert excinfo.value.code == errors.STORAGE_UNAVAILABLE


def test_objects_not_in_the_key_layout_are_not_listed(s3_server: S3Server, s3_bucket: str) -> None:
    storage = S3Storage(s3_server.client(), s3_bucket, max_object_bytes=1024 * 1024, prefix="mixed")
    key = storage.put("acme", "results", DATA, "image/jpeg").key
    s3_server.client().put_object(
        s3_bucket, "mixed/tenants/acme/results/readme.txt", io.BytesIO(b"x"), 1
    )
    assert [item.key for item in storage.list("acme").items] == [key]


def test_presigned_url_is_checked_by_s3(s3_server: S3Server, s3_bucket: str) -> None:
    storage = S3Storage(s3_server.client(), s3_bucket, max_object_bytes=1024 * 1024, prefix="sig")
    a_key = storage.put("acme", "results", DATA, "image/jpeg").key
    b_key = storage.put("globex", "results", DATA + b"b", "image/jpeg").key
    url = storage.presign_get("acme", a_key, 60)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == DATA
    # Pointing A's signature at B's object: S3 refuses it.
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(url.replace(a_key, b_key), timeout=10)
    assert excinfo.value.code == 403


def test_presigned_urls_for_a_public_endpoint(s3_server: S3Server, s3_bucket: str) -> None:
    # Browsers reach the store under another name than the service does: "localhost" here.
    port = s3_server.endpoint.rsplit(":", 1)[1]
    settings = _settings(
        s3_server,
        s3_bucket=s3_bucket,
        s3_public_endpoint=f"localhost:{port}",
        s3_public_secure=False,
    )
    storage = build_storage(settings)
    key = storage.put("acme", "results", DATA, "image/jpeg").key
    url = storage.presign_get("acme", key, 60)
    assert url.startswith(f"http://localhost:{port}/")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == DATA

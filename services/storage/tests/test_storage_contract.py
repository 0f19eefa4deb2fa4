"""One suite, every backend: local disk, S3 (a real SeaweedFS server) and the gRPC client in
front of the storage service. A ``Storage`` must behave the same whichever it is."""

from __future__ import annotations

import hashlib
import io
import urllib.request
from collections.abc import Iterator

import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_storage.keys import KINDS
from globalpic_storage.protocol import Storage
from globalpic_storage.signing import verify_signed

from .conftest import MAX_OBJECT_BYTES, SIGNING_KEY

TENANT_A = "acme"
TENANT_B = "globex"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # content is opaque to storage
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 500


def _code(excinfo: pytest.ExceptionInfo[BadInputError]) -> str:
    return excinfo.value.code


def _keys(storage: Storage, tenant: str, prefix: str = "") -> list[str]:
    return [item.key for item in storage.list(tenant, prefix, limit=1000).items]


def _fetch_presigned(backend: str, storage: Storage, tenant: str, url: str) -> bytes:
    if backend == "s3":  # a real presigned URL: plain HTTP, no credentials
        with urllib.request.urlopen(url, timeout=10) as response:
            body: bytes = response.read()
            return body
    # Local disk: what the gateway does with a request for the URL.
    signed = verify_signed(url, signing_key=SIGNING_KEY)
    assert signed.tenant_id == tenant
    return storage.get(signed.tenant_id, signed.key)


def test_put_get_round_trip(storage: Storage) -> None:
    info = storage.put(TENANT_A, "originals", PNG, "image/png")
    digest = hashlib.sha256(PNG).hexdigest()
    assert info.key == f"tenants/{TENANT_A}/originals/{digest}.png"
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    assert storage.get(TENANT_A, info.key) == PNG
    assert storage.stat(TENANT_A, info.key) == info
    assert storage.exists(TENANT_A, info.key)


def test_put_accepts_file_objects_and_chunk_iterators(storage: Storage) -> None:
    from_file = storage.put(TENANT_A, "results", io.BytesIO(JPEG), "image/jpeg")
    chunks = (JPEG[i : i + 1000] for i in range(0, len(JPEG), 1000))
    from_chunks = storage.put(TENANT_A, "results", chunks, "image/jpeg")
    assert from_file == from_chunks
    assert storage.get(TENANT_A, from_file.key) == JPEG


def test_large_object_streams_in_chunks(storage: Storage) -> None:
    big = bytes(range(256)) * (MAX_OBJECT_BYTES // 256)  # exactly the limit: allowed
    info = storage.put(TENANT_A, "results", big, "image/png")
    chunks = list(storage.iter_chunks(TENANT_A, info.key))
    assert len(chunks) > 1
    assert b"".join(chunks) == big


def test_content_addressing_stores_same_bytes_once(storage: Storage) -> None:
    first = storage.put(TENANT_A, "originals", PNG, "image/png")
    second = storage.put(TENANT_A, "originals", PNG, "image/png")
    assert first.key == second.key
    assert _keys(storage, TENANT_A) == [first.key]
    other_kind = storage.put(TENANT_A, "thumbnails", PNG, "image/png")
    other_bytes = storage.put(TENANT_A, "originals", PNG + b"!", "image/png")
    assert len({first.key, other_kind.key, other_bytes.key}) == 3


def test_content_type_parameters_are_ignored_unknown_types_refused(storage: Storage) -> None:
    info = storage.put(TENANT_A, "results", b'{"ok": true}', "application/json; charset=utf-8")
    assert info.key.endswith(".json") and info.content_type == "application/json"
    with pytest.raises(BadInputError) as excinfo:
        storage.put(TENANT_A, "results", b"<svg/>", "image/svg+xml")
    assert _code(excinfo) == errors.UNSUPPORTED_CONTENT_TYPE


def test_empty_object_refused(storage: Storage) -> None:
    with pytest.raises(BadInputError) as excinfo:
        storage.put(TENANT_A, "originals", b"", "image/png")
    assert _code(excinfo) == errors.EMPTY_OBJECT
    assert _keys(storage, TENANT_A) == []


def test_unknown_kind_refused(storage: Storage) -> None:
    with pytest.raises(BadInputError) as excinfo:
        storage.put(TENANT_A, "secrets", PNG, "image/png")  # type: ignore[arg-type]
    assert _code(excinfo) == errors.BAD_OPTION


def test_tenant_isolation(backend: str, storage: Storage) -> None:
    key = storage.put(TENANT_A, "originals", PNG, "image/png").key
    for attempt in (
        lambda: storage.get(TENANT_B, key),
        lambda: storage.stat(TENANT_B, key),
        lambda: storage.exists(TENANT_B, key),
        lambda: storage.delete(TENANT_B, key),
        lambda: storage.presign_get(TENANT_B, key, 60),
        lambda: b"".join(storage.iter_chunks(TENANT_B, key)),
        # A's key as B's page token must not leak where A's namespace is.
        lambda: storage.list(TENANT_B, page_token=key),
    ):
        with pytest.raises(BadInputError) as excinfo:
            attempt()
        assert _code(excinfo) == errors.FORBIDDEN_KEY
    assert _keys(storage, TENANT_B) == []
    # B storing the same bytes gets its own copy under its own namespace.
    b_key = storage.put(TENANT_B, "originals", PNG, "image/png").key
    assert b_key.startswith(f"tenants/{TENANT_B}/") and b_key != key
    assert _keys(storage, TENANT_B) == [b_key]
    assert storage.delete(TENANT_B, b_key)
    assert storage.get(TENANT_A, key) == PNG  # A's object untouched by all of the above


SHA = "0" * 64


@pytest.mark.parametrize(
    "key",
    [
        "../secret",
        "/etc/passwd",
        f"tenants/{TENANT_A}/originals/../../{TENANT_B}/originals/{SHA}.png",
        f"tenants/{TENANT_A}/../{TENANT_A}/originals/{SHA}.png",
        f"tenants/{TENANT_A}/originals/{SHA}.png/..",
        f"tenants/{TENANT_A}/originals/%2e%2e/{SHA}.png",
        f"/tenants/{TENANT_A}/originals/{SHA}.png",
        f"tenants/{TENANT_A}/originals/{SHA}.png\n",
        f"tenants/{TENANT_A}/originals/{SHA[:-1]}.png",
        f"tenants/{TENANT_A}/originals/{SHA}.exe",
        f"tenants/{TENANT_A}/other/{SHA}.png",
        f"tenants/{TENANT_A}/originals\\..\\{SHA}.png",
        "",
    ],
)
def test_malformed_and_traversal_keys_refused(storage: Storage, key: str) -> None:
    for attempt in (
        lambda: storage.get(TENANT_A, key),
        lambda: storage.exists(TENANT_A, key),
        lambda: storage.delete(TENANT_A, key),
        lambda: storage.presign_get(TENANT_A, key, 60),
    ):
        with pytest.raises(BadInputError) as excinfo:
            attempt()
        assert _code(excinfo) == errors.BAD_KEY


@pytest.mark.parametrize(
    "tenant",
    [
        "",
        ".",
        "..",
        "../acme",
        "acme/../globex",
        "a/b",
        "/abs",
        "-dash-first",
        "x" * 65,
        "tab\tted",
        "acme\n",
        "租户",
    ],
)
def test_bad_tenant_ids_refused(storage: Storage, tenant: str) -> None:
    for attempt in (
        lambda: storage.put(tenant, "originals", PNG, "image/png"),
        lambda: storage.list(tenant),
        lambda: storage.get(tenant, f"tenants/{TENANT_A}/originals/{SHA}.png"),
    ):
        with pytest.raises(BadInputError) as excinfo:
            attempt()
        assert _code(excinfo) == errors.BAD_TENANT_ID


def test_size_limit_enforced_mid_stream_and_nothing_stored(storage: Storage) -> None:
    produced = 0

    def endless() -> Iterator[bytes]:  # a client that never stops sending
        nonlocal produced
        while True:
            produced += 1
            yield b"\0" * (256 * 1024)

    with pytest.raises(BadInputError) as excinfo:
        storage.put(TENANT_A, "originals", endless(), "image/png")
    assert _code(excinfo) == errors.FILE_TOO_LARGE
    # It stopped near the limit instead of reading on (gRPC may have a few chunks in flight).
    assert produced * 256 * 1024 <= MAX_OBJECT_BYTES + 8 * 1024 * 1024
    assert _keys(storage, TENANT_A) == []


def test_bytes_over_the_limit_refused(storage: Storage) -> None:
    with pytest.raises(BadInputError) as excinfo:
        storage.put(TENANT_A, "originals", b"\0" * (MAX_OBJECT_BYTES + 1), "image/png")
    assert _code(excinfo) == errors.FILE_TOO_LARGE
    assert _keys(storage, TENANT_A) == []


def test_missing_object(storage: Storage) -> None:
    key = f"tenants/{TENANT_A}/originals/{SHA}.png"
    assert not storage.exists(TENANT_A, key)
    for attempt in (
        lambda: storage.get(TENANT_A, key),
        lambda: storage.stat(TENANT_A, key),
        lambda: storage.iter_chunks(TENANT_A, key),  # raises on the call, not on iteration
        lambda: storage.presign_get(TENANT_A, key, 60),
    ):
        with pytest.raises(BadInputError) as excinfo:
            attempt()
        assert _code(excinfo) == errors.OBJECT_NOT_FOUND


def test_delete(storage: Storage) -> None:
    key = storage.put(TENANT_A, "results", PNG, "image/png").key
    assert storage.delete(TENANT_A, key) is True
    assert storage.delete(TENANT_A, key) is False  # twice is not an error
    assert not storage.exists(TENANT_A, key)
    assert _keys(storage, TENANT_A) == []


def test_list_pagination_and_prefixes(storage: Storage) -> None:
    originals = {
        storage.put(TENANT_A, "originals", PNG + bytes([i]), "image/png").key for i in range(5)
    }
    results = {
        storage.put(TENANT_A, "results", JPEG + bytes([i]), "image/jpeg").key for i in range(2)
    }
    storage.put(TENANT_B, "originals", PNG + b"b", "image/png")  # never in A's listings

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = storage.list(TENANT_A, limit=2, page_token=token)
        pages += 1
        assert len(page.items) <= 2
        seen += [item.key for item in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert pages == 4  # 7 objects, 2 per page
    assert seen == sorted(originals | results)  # key order, no repeats, nothing missed

    assert _keys(storage, TENANT_A, "originals/") == sorted(originals)
    assert _keys(storage, TENANT_A, "results") == sorted(results)
    assert _keys(storage, TENANT_A, "thumbnails/") == []
    first = sorted(originals)[0]
    digest_prefix = first.split("/")[-1][:10]
    assert _keys(storage, TENANT_A, f"originals/{digest_prefix}") == [first]
    sizes = {item.key: item.size for item in storage.list(TENANT_A, "results/").items}
    assert set(sizes.values()) == {len(JPEG) + 1}
    exact = storage.list(TENANT_A, "originals/", limit=5)
    assert len(exact.items) == 5 and exact.next_page_token is None


@pytest.mark.parametrize("prefix", ["../", "/originals", "originals/../../globex", "ORIGINALS"])
def test_list_prefix_cannot_leave_the_tenant(storage: Storage, prefix: str) -> None:
    with pytest.raises(BadInputError) as excinfo:
        storage.list(TENANT_A, prefix)
    assert _code(excinfo) == errors.BAD_KEY


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_list_page_size_bounds(storage: Storage, limit: int) -> None:
    with pytest.raises(BadInputError) as excinfo:
        storage.list(TENANT_A, limit=limit)
    assert _code(excinfo) == errors.BAD_OPTION


def test_presigned_url_downloads_the_object(backend: str, storage: Storage) -> None:
    info = storage.put(TENANT_A, "results", JPEG, "image/jpeg")
    url = storage.presign_get(TENANT_A, info.key, 120)
    assert _fetch_presigned(backend, storage, TENANT_A, url) == JPEG
    for bad_expiry in (0, 8 * 24 * 3600):
        with pytest.raises(BadInputError) as excinfo:
            storage.presign_get(TENANT_A, info.key, bad_expiry)
        assert _code(excinfo) == errors.BAD_OPTION


def test_every_kind_is_storable(storage: Storage) -> None:
    keys = [storage.put(TENANT_A, kind, PNG, "image/png").key for kind in KINDS]
    assert [key.split("/")[2] for key in keys] == list(KINDS)

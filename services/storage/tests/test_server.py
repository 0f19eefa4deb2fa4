"""The gRPC service beyond the shared contract: protocol misuse, readiness, the console script."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from globalpic.storage.v1 import storage_pb2, storage_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError, ServiceUnavailableError
from globalpic_common.grpc_errors import error_from_rpc
from globalpic_common.grpc_server import ServiceServer
from globalpic_storage import server as storage_server
from globalpic_storage.client import StorageClient
from globalpic_storage.local import LocalDiskStorage
from globalpic_storage.protocol import Storage
from globalpic_storage.server import HEALTH_SERVICE, StorageServicer, registrar

from .conftest import MAX_OBJECT_BYTES, SIGNING_KEY, grpc_storage, local_storage

DATA = b"\x89PNG\r\n\x1a\n" + b"rows" * 100


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StorageClient]:
    with grpc_storage(local_storage(tmp_path / "store")) as client:
        yield client


def test_client_implements_the_protocol(client: StorageClient) -> None:
    assert isinstance(client, Storage)
    assert client.health_status() == "SERVING"


def _raw_put(client: StorageClient, messages: list[storage_pb2.PutRequest]) -> BadInputError:
    stub = storage_pb2_grpc.StorageServiceStub(client.channel)
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.Put(iter(messages), timeout=10)
    error = error_from_rpc(excinfo.value, "storage")
    assert isinstance(error, BadInputError)
    return error


def test_put_needs_exactly_one_header_first(client: StorageClient) -> None:
    header = storage_pb2.PutRequest(
        header=storage_pb2.PutHeader(
            tenant_id="acme", kind=storage_pb2.KIND_ORIGINALS, content_type="image/png"
        )
    )
    chunk = storage_pb2.PutRequest(chunk=DATA)
    assert _raw_put(client, [chunk]).code == errors.BAD_OPTION
    assert _raw_put(client, []).code == errors.BAD_OPTION
    assert _raw_put(client, [header, chunk, header]).code == errors.BAD_OPTION
    no_kind = storage_pb2.PutRequest(
        header=storage_pb2.PutHeader(tenant_id="acme", content_type="image/png")
    )
    assert _raw_put(client, [no_kind, chunk]).code == errors.BAD_OPTION
    assert client.list("acme").items == []


def test_zero_on_the_wire_means_the_service_defaults(client: StorageClient) -> None:
    key = client.put("acme", "results", DATA, "image/png").key
    stub = storage_pb2_grpc.StorageServiceStub(client.channel)
    reply = stub.PresignGet(storage_pb2.PresignGetRequest(tenant_id="acme", key=key), timeout=10)
    expires = int(reply.url.split("expires=")[1].split("&")[0])
    assert abs(expires - (time.time() + 600)) < 30  # the servicer's default expiry
    page = stub.List(storage_pb2.ListRequest(tenant_id="acme"), timeout=10)
    assert [o.key for o in page.objects] == [key]


def test_calls_before_the_backend_is_connected_are_unavailable() -> None:
    servicer = StorageServicer(None, default_expiry_seconds=60)
    server = ServiceServer(
        "storage",
        registrar(servicer),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_SERVICE],
    )
    server.start()
    try:
        client = StorageClient(f"127.0.0.1:{server.port}", timeout_s=5)
        assert client.health_status() == "NOT_SERVING"
        with pytest.raises(ServiceUnavailableError):
            client.stat("acme", "tenants/acme/originals/" + "0" * 64 + ".png")
        with pytest.raises(ServiceUnavailableError):
            client.put("acme", "originals", DATA, "image/png")
        client.close()
    finally:
        server.stop()


def test_invalid_settings_exit_with_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_STORAGE__BACKEND", "s3")
    with pytest.raises(SystemExit) as excinfo:
        storage_server.main()
    assert excinfo.value.code == 2


def test_console_script_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GLOBALPIC_STORAGE__ROOT": str(tmp_path / "store"),
        "GLOBALPIC_STORAGE__SIGNING_KEY": SIGNING_KEY,
        "GLOBALPIC_STORAGE__HOST": "127.0.0.1",
        "GLOBALPIC_STORAGE__PORT": str(port),
        "GLOBALPIC_STORAGE__GRACE_S": "1",
    }
    script = Path(sys.executable).parent / "globalpic-storage-server"
    proc = subprocess.Popen(
        [str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        with StorageClient(f"127.0.0.1:{port}", timeout_s=5) as client:
            client.wait_until_serving(timeout_s=30)
            key = client.put("acme", "originals", DATA, "image/png").key
            assert client.get("acme", key) == DATA
        assert (tmp_path / "store" / key).is_file()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class _WatchedReads(LocalDiskStorage):
    """Local storage that serves downloads in small pieces and records how far the service got:
    ``pieces_read`` counts pieces handed to gRPC, ``finished`` is set when the service is done
    with the object's iterator (its ``finally`` ran: the file handle is closed). After the
    first piece it holds the stream until ``resume`` is set, so the test can walk away first
    (a gate, not a sleep)."""

    PIECE = 4096

    def __init__(self, root: Path) -> None:
        super().__init__(root, signing_key=SIGNING_KEY, max_object_bytes=MAX_OBJECT_BYTES)
        self.pieces_read = 0
        self.resume = threading.Event()
        self.finished = threading.Event()

    def iter_chunks(self, tenant_id: str, key: str) -> Iterator[bytes]:
        inner = super().iter_chunks(tenant_id, key)  # opens the file: errors raise here

        def pieces() -> Iterator[bytes]:
            try:
                for chunk in inner:
                    for start in range(0, len(chunk), self.PIECE):
                        self.pieces_read += 1
                        yield chunk[start : start + self.PIECE]
                        if self.pieces_read == 1:
                            self.resume.wait(timeout=5)  # only a fail-safe: set by the test
            finally:
                close = getattr(inner, "close", None)
                if close is not None:
                    close()
                self.finished.set()

        return pieces()


def _open_fds_to(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux: /proc)."""
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd) == str(path)
    return count


def test_a_download_abandoned_half_way_is_cancelled(tmp_path: Path) -> None:
    backend = _WatchedReads(tmp_path / "store")
    big = bytes(range(256)) * 8192  # 2 MiB: 512 pieces of 4 KiB
    total = len(big) // _WatchedReads.PIECE
    with grpc_storage(backend) as client:
        key = client.put("acme", "results", big, "image/png").key
        chunks = client.iter_chunks("acme", key)
        assert next(chunks) == big[: _WatchedReads.PIECE]
        chunks.close()  # type: ignore[attr-defined]
        backend.resume.set()
        # The service notices the cancel, stops pulling pieces and closes the object.
        assert backend.finished.wait(timeout=10), "the service never let go of the object"
        assert backend.pieces_read < total // 2, (
            f"the service read {backend.pieces_read} of {total} pieces for a client that left"
        )
        if Path("/proc/self/fd").is_dir():
            assert _open_fds_to(backend.root / key) == 0, "the object's file is still open"
        assert client.get("acme", key) == big  # the channel is fine for the next call
        assert backend.pieces_read >= total  # ... and a full read does read everything

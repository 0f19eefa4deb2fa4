"""The gateway and the runner storing through the storage service (``GLOBALPIC_GATEWAY__
STORAGE_ADDR``): a real gRPC storage server on loopback, the client built by the composition
root (``storage_from_settings``), a job end to end, downloads through the results endpoints and
through signed URLs the service signs and the gateway verifies, tenant isolation."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer
from globalpic_dev.supervisor import SERVICES, gateway_peer_env, runner_peer_env
from globalpic_storage.access import RemoteStorage, storage_from_settings
from globalpic_storage.keys import parse_key
from globalpic_storage.local import LocalDiskStorage
from globalpic_storage.server import HEALTH_SERVICE, StorageServicer, registrar
from globalpic_storage.settings import StorageSettings
from globalpic_storage.signing import sign_url
from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    photo_bytes,
    running_gateway,
)

SIGNING_KEY = "the-key-the-storage-service-signs-with"


@pytest.fixture
def storage_addr(tmp_path: Path) -> Iterator[str]:
    """The storage service (local-disk backend) in this process, on a free loopback port."""
    backend = LocalDiskStorage(
        tmp_path / "service-storage", signing_key=SIGNING_KEY, max_object_bytes=64 * 1024**2
    )
    servicer = StorageServicer(backend, default_expiry_seconds=600)
    server = ServiceServer(
        "storage",
        registrar(servicer),
        port=0,
        host="127.0.0.1",
        max_workers=8,
        health_services=[HEALTH_SERVICE],
    )
    server.start()
    server.set_serving()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


def _storage_settings(tmp_path: Path) -> StorageSettings:
    # The gateway's own root stays empty: every object must go through the service.
    return StorageSettings(
        signing_key=SecretStr(SIGNING_KEY), root=tmp_path / "gateway-must-not-use-this"
    )


def test_the_composition_root_picks_the_service_only_when_configured(
    tmp_path: Path, nats_url: str, storage_addr: str
) -> None:
    local, _ = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)
    assert isinstance(
        storage_from_settings(local.storage_addr, _storage_settings(tmp_path)), LocalDiskStorage
    )
    remote, _ = harness_settings(
        f"sqlite:///{tmp_path / 'gw.db'}", nats_url, storage_addr=storage_addr
    )
    client = storage_from_settings(remote.storage_addr, _storage_settings(tmp_path))
    assert isinstance(client, RemoteStorage)
    try:
        info = client.put("tenant-a", "originals", b"bytes", "image/png")
        url = client.presign_get("tenant-a", info.key, 60)
        assert urlsplit(url).path == f"/v1/files/{info.key}"
        assert client.verify_signed(url).key == info.key
    finally:
        client.close()


def test_a_job_end_to_end_through_the_storage_service(
    tmp_path: Path,
    nats_url: str,
    storage_addr: str,
    tiny_models_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the platform runs it: the storage settings come from the environment the service
    # reads too (only the signing key matters to the gateway).
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("GLOBALPIC_STORAGE__ROOT", str(tmp_path / "gateway-must-not-use-this"))
    settings, keys = harness_settings(
        f"sqlite:///{tmp_path / 'gw.db'}", nats_url, storage_addr=storage_addr
    )
    storage = storage_from_settings(settings.storage_addr)
    assert isinstance(storage, RemoteStorage)

    async def scenario() -> None:
        async with running_gateway(settings, keys, storage) as gw:
            await gw.start_runner(embedded_processor())
            async with (
                gw.client("tenant-a") as api,
                gw.client("tenant-b") as other,
                gw.client(None) as anonymous,
            ):
                files = [
                    ("images", (f"p{k}.jpg", photo_bytes(512, seed=k), "image/jpeg"))
                    for k in range(2)
                ]
                submitted = await api.post("/v1/jobs", files=files, data={"ops": "extract"})
                assert submitted.status_code == 202, submitted.text
                job_id = submitted.json()["id"]
                job = await _finished(api, job_id)
                assert job["status"] == "completed", job
                assert [i["state"] for i in job["images"]] == ["completed", "completed"]

                # -- the results endpoints stream from the service --
                result = await api.get(job["images"][0]["outputs"][0]["url"])
                assert result.status_code == 200, result.text
                assert Image.open(io.BytesIO(result.content)).format == "PNG"
                archive = await api.get(f"/v1/jobs/{job_id}/results.zip")
                assert archive.status_code == 200

                # -- everything is in the service, nothing in the gateway's own root --
                stored = storage.list("tenant-a")
                kinds = sorted({item.key.split("/")[2] for item in stored.items})
                assert kinds == ["originals", "results"]
                assert not (tmp_path / "gateway-must-not-use-this").exists()
                result_key = next(i.key for i in stored.items if "/results/" in i.key)

                # -- a signed URL the service signed: the gateway verifies and serves it --
                url = await asyncio.to_thread(storage.presign_get, "tenant-a", result_key, 60)
                signed = await anonymous.get(url)
                assert signed.status_code == 200, signed.text
                assert signed.content == await asyncio.to_thread(
                    storage.get, "tenant-a", result_key
                )
                assert signed.headers["content-type"] == "image/png"

                # -- a bad signature: 403; a signed URL of a deleted object: 404 --
                tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
                _assert_problem(await anonymous.get(tampered), 403, "bad_signature")
                # signed with the shared key, but in the past: the gateway uses that key
                expired = sign_url(
                    parse_key("tenant-a", result_key), 10, signing_key=SIGNING_KEY, now=1e9
                )
                _assert_problem(await anonymous.get(expired), 403, "url_expired")
                original_key = next(i.key for i in stored.items if "/originals/" in i.key)
                gone = await asyncio.to_thread(storage.presign_get, "tenant-a", original_key, 60)
                await asyncio.to_thread(storage.delete, "tenant-a", original_key)
                _assert_problem(await anonymous.get(gone), 404, "object_not_found")

                # -- another tenant: 404 on the job and its results; no presigning its keys --
                for path in (
                    f"/v1/jobs/{job_id}",
                    f"/v1/jobs/{job_id}/images/0/result",
                    f"/v1/jobs/{job_id}/results.zip",
                ):
                    denied = await other.get(path)
                    assert denied.status_code == 404, path
                assert storage.list("tenant-b").items == []
                with pytest.raises(BadInputError) as refused:
                    await asyncio.to_thread(storage.presign_get, "tenant-b", result_key, 60)
                assert refused.value.code == "forbidden_key"

    try:
        asyncio.run(scenario())
    finally:
        storage.close()


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def _finished(api: httpx.AsyncClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_make_dev_points_the_gateway_and_the_orchestrator_at_the_storage_service() -> None:
    by_prefix = {service.prefix: service for service in SERVICES}
    storage = by_prefix["STORAGE"]
    assert gateway_peer_env(storage, 5057) == {"GLOBALPIC_GATEWAY__STORAGE_ADDR": "127.0.0.1:5057"}
    assert runner_peer_env(storage, 5057) == {
        "GLOBALPIC_ORCHESTRATOR__STORAGE_ADDR": "127.0.0.1:5057"
    }
    ocr = by_prefix["OCR"]
    assert gateway_peer_env(ocr, 5051) == {}
    assert runner_peer_env(ocr, 5051) == {"GLOBALPIC_PIPELINE__OCR_ADDR": "127.0.0.1:5051"}

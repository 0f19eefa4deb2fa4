"""Short-lived signed download URLs in ``GET /v1/jobs/{id}`` (``OutputOut.signed_url``): a
client fetches a result without its API key until the URL expires; the polled view signs each
result once and reuses the URL, and shows the fields null, never an error, where signing is
off or storage cannot sign."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel import Session

from globalpic_common.errors import BadInputError, ServiceUnavailableError
from globalpic_gateway import crud
from globalpic_gateway.api import signed_urls, views
from globalpic_gateway.api.signed_urls import SignedUrl, UrlSigner
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.schemas import ImageOut
from globalpic_jobs import state as job_state
from globalpic_jobs.models import Job
from globalpic_storage.keys import parse_key
from globalpic_storage.signing import sign_url
from tests.support.gateway_harness import (
    Harness,
    assert_problem,
    embedded_processor,
    job_finished,
    photo_bytes,
    run_scenario,
)

SIGNING_KEY = "test-signing-key"  # storage_at's
NO_CACHE = job_state.CachePolicy(enabled=False, ttl_seconds=0)

Scenario = Callable[[Harness], Awaitable[None]]


async def _submit(api: httpx.AsyncClient, images: int = 1) -> str:
    files = [
        ("images", (f"{k}.jpg", photo_bytes(512, seed=k), "image/jpeg")) for k in range(images)
    ]
    submitted = await api.post("/v1/jobs", files=files, data={"ops": "extract"})
    assert submitted.status_code == 202, submitted.text
    job_id: str = submitted.json()["id"]
    return job_id


async def _record_result(gw: Harness, job_id: str, index: int) -> bytes:
    """Finish an image as the runner would (a stored PNG, the row completed), without one:
    the other images of the job stay queued."""
    png = photo_bytes(512, seed=index, fmt="PNG")

    def record() -> None:
        info = gw.storage.put("tenant-a", "results", png, "image/png")
        with Session(gw.state.engine) as session:
            job = session.get(Job, job_id)
            image = job_state.mark_running(session, job_id, index)
            assert job is not None and image is not None
            finished = job_state.record_result(
                session,
                image,
                [info.key],
                {"input": f"{index}.jpg"},
                options_hash=job.options_hash,
                cache=NO_CACHE,
            )
            assert finished is not None

    await asyncio.to_thread(record)
    return png


async def _view(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _presign_calls(gw: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys storage is asked to sign from now on (it still signs them)."""
    calls: list[str] = []
    presign = gw.storage.presign_get

    def counted(tenant_id: str, key: str, expires_in: int) -> str:
        calls.append(key)
        return presign(tenant_id, key, expires_in)

    monkeypatch.setattr(gw.storage, "presign_get", counted)
    return calls


# --- through the gateway ---------------------------------------------------------------------


def test_a_finished_jobs_signed_url_downloads_without_credentials(
    tmp_path: Path, nats_url: str, tiny_models_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(gw: Harness) -> None:
        await gw.start_runner(embedded_processor())
        async with gw.client() as api, gw.client(None) as anonymous:
            job = await job_finished(api, await _submit(api))
            assert job["status"] == "completed", job
            output = job["images"][0]["outputs"][0]
            signed = output["signed_url"]
            # absolute: local disk signs a path of this API, put under the request's base URL
            assert signed.startswith(f"{gw.base_url}/v1/files/tenants/tenant-a/results/")
            # the expiry shown is the URL's own (never later), about the TTL (900 s) ahead
            shown = datetime.fromisoformat(output["signed_url_expires_at"])
            own = int(parse_qs(urlsplit(signed).query)["expires"][0])
            assert 0 <= own - shown.timestamp() < 60
            assert datetime.now(UTC) < shown <= datetime.fromtimestamp(own, UTC)

            fetched = await anonymous.get(signed)
            assert fetched.status_code == 200, fetched.text
            assert fetched.headers["content-type"] == "image/png"
            assert fetched.content == (await api.get(output["url"])).content
            assert (await anonymous.get(output["url"])).status_code == 401  # the plain one

            # the next poll shows the same URL, from the cache: storage is not asked again
            calls = _presign_calls(gw, monkeypatch)
            again = (await _view(api, job["id"]))["images"][0]["outputs"][0]
            assert again == output and calls == []

            tampered = signed[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB")
            assert_problem(await anonymous.get(tampered), 403, "bad_signature")
            # the same object signed with storage's own key, at a time long past
            key = urlsplit(signed).path.removeprefix("/v1/files/")
            past = sign_url(parse_key("tenant-a", key), 60, signing_key=SIGNING_KEY, now=1e9)
            expired = await anonymous.get(signed_urls.absolute(past, gw.base_url))
            assert_problem(expired, 403, "url_expired")

            # the job list does not sign (its summaries have no outputs)
            listed = (await api.get("/v1/jobs")).json()["items"]
            assert [item["id"] for item in listed] == [job["id"]]
            assert "images" not in listed[0]

    run_scenario(f"sqlite:///{tmp_path / 'gw.db'}", tmp_path, nats_url, scenario)


def test_only_an_image_with_a_result_has_signed_outputs(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api, gw.client(None) as anonymous:
            job_id = await _submit(api, images=2)
            queued = await _view(api, job_id)
            assert [(i["state"], i["outputs"]) for i in queued["images"]] == [("queued", [])] * 2

            png = await _record_result(gw, job_id, 0)
            images = (await _view(api, job_id))["images"]
            assert (images[1]["state"], images[1]["outputs"]) == ("queued", [])
            output = images[0]["outputs"][0]
            assert output["signed_url"] and output["signed_url_expires_at"]
            assert (await anonymous.get(output["signed_url"])).content == png

    run_scenario(f"sqlite:///{tmp_path / 'gw.db'}", tmp_path, nats_url, scenario)


def test_a_ttl_of_0_turns_signing_off(
    tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(gw: Harness) -> None:
        calls = _presign_calls(gw, monkeypatch)
        async with gw.client() as api:
            job_id = await _submit(api)
            png = await _record_result(gw, job_id, 0)
            output = (await _view(api, job_id))["images"][0]["outputs"][0]
            assert output["signed_url"] is None and output["signed_url_expires_at"] is None
            assert calls == []
            assert (await api.get(output["url"])).content == png  # the plain URL still works

    run_scenario(
        f"sqlite:///{tmp_path / 'gw.db'}", tmp_path, nats_url, scenario, signed_url_ttl_seconds=0
    )


def test_storage_that_cannot_sign_leaves_the_fields_null_not_the_view_failing(
    tmp_path: Path,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job_id = await _submit(api)
            await _record_result(gw, job_id, 0)
            presign = gw.storage.presign_get
            calls: list[str] = []

            def down(tenant_id: str, key: str, expires_in: int) -> str:
                calls.append(key)
                raise ServiceUnavailableError("storage service unreachable")

            monkeypatch.setattr(gw.storage, "presign_get", down)
            # the views leave storage alone after a failure (for as long as this says)
            monkeypatch.setattr(signed_urls, "RETRY_AFTER_FAILURE_S", 1e9)
            with caplog.at_level(logging.WARNING, logger="globalpic.gateway"):
                for _poll in range(2):
                    output = (await _view(api, job_id))["images"][0]["outputs"][0]
                    assert output["signed_url"] is None
                    assert output["signed_url_expires_at"] is None
            assert len(calls) == 1  # the second poll did not wait on storage again
            assert "could not sign" in caplog.text

            monkeypatch.setattr(gw.storage, "presign_get", presign)  # storage is back
            monkeypatch.setattr(signed_urls, "RETRY_AFTER_FAILURE_S", 0.0)
            output = (await _view(api, job_id))["images"][0]["outputs"][0]
            assert output["signed_url"] and output["signed_url_expires_at"]

    run_scenario(f"sqlite:///{tmp_path / 'gw.db'}", tmp_path, nats_url, scenario)


# --- the parts, without servers ---------------------------------------------------------------


class _FakeStorage:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def presign_get(self, tenant_id: str, key: str, expires_in: int) -> str:
        self.calls.append((tenant_id, key, expires_in))
        if key.endswith("gone.png"):
            raise BadInputError(f"no object {key!r}", code="object_not_found")
        return f"https://bucket.example/{key}?n={len(self.calls)}"


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.5

    def __call__(self) -> float:
        return self.now


def test_a_signed_url_is_reused_for_half_its_ttl_then_signed_again() -> None:
    storage, clock = _FakeStorage(), _Clock()
    signer = UrlSigner(storage, 900, clock=clock)  # type: ignore[arg-type]
    first = signer.sign("acme", "tenants/acme/results/a.png")
    assert first == SignedUrl(
        "https://bucket.example/tenants/acme/results/a.png?n=1",
        datetime.fromtimestamp(1_700_000_000 + 900, UTC),
    )
    clock.now += 449
    assert signer.sign("acme", "tenants/acme/results/a.png") == first  # the same, real expiry
    assert signer.sign("other", "tenants/acme/results/a.png") != first  # per tenant
    clock.now += 2  # past half the TTL: a fresh URL, a fresh expiry
    fresh = signer.sign("acme", "tenants/acme/results/a.png")
    assert fresh is not None and fresh.url.endswith("?n=3")
    assert fresh.expires_at == datetime.fromtimestamp(1_700_000_000 + 451 + 900, UTC)
    assert storage.calls[0] == ("acme", "tenants/acme/results/a.png", 900)

    # a missing object is that object's problem: the others are still signed
    assert signer.sign("acme", "tenants/acme/results/gone.png") is None
    assert signer.sign("acme", "tenants/acme/results/b.png") is not None

    off = UrlSigner(storage, 0, clock=clock)  # type: ignore[arg-type]
    calls = len(storage.calls)
    assert off.sign("acme", "tenants/acme/results/a.png") is None and len(storage.calls) == calls


def test_signed_urls_are_made_absolute_against_the_request() -> None:
    s3 = "https://s3.example/bucket/tenants/a/results/x.png?X-Amz-Signature=abc"
    assert signed_urls.absolute(s3, "http://api.example/") == s3
    local = "/v1/files/tenants/a/results/x.png?expires=1&signature=s"
    assert signed_urls.absolute(local, "http://api.example/") == f"http://api.example{local}"
    # behind a proxy that mounts the API under a prefix (root_path), under it
    assert signed_urls.absolute(local, "https://x.example/api/") == f"https://x.example/api{local}"


@pytest.mark.parametrize(("ttl", "ok"), [(0, True), (60, True), (900, True), (30, False)])
def test_the_ttl_is_off_or_at_least_a_minute(tmp_path: Path, ttl: int, ok: bool) -> None:
    database_url = f"sqlite:///{tmp_path / 'gw.db'}"
    if ok:
        assert GatewaySettings(database_url=database_url, signed_url_ttl_seconds=ttl)
    else:
        with pytest.raises(ValidationError, match="at least 60"):
            GatewaySettings(database_url=database_url, signed_url_ttl_seconds=ttl)


def test_a_cached_finished_image_is_signed_as_a_fresh_render_would_be() -> None:
    """The finished-image cache keeps outputs unsigned; the view swaps in the signed ones."""
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    job = crud.JobRow(
        id="j1", tenant_id="acme", status="completed", ops="extract", style=None,
        platform=None, candidates=2, image_count=1, created_at=now, updated_at=now,
        finished_at=now, extras={}, parent_job_id=None, parent_image=None,
    )  # fmt: skip
    keys = ["tenants/acme/results/a.png", "tenants/acme/results/b.webp"]
    image = crud.ImageRow(
        id=1, job_id="j1", tenant_id="acme", index=0, filename='say "outputs":[] "x.jpg',
        state="completed", stage="done", percent=100, cached=False, attempts=1, width=512,
        height=512, outputs=keys, error_code=None, error_message=None, finished_at=now,
    )  # fmt: skip
    report = {"input": "x.jpg", "outputs": keys, "output": keys[0]}

    def sign(key: str) -> SignedUrl:
        return SignedUrl(f"https://s3.example/{key}?sig=1", now)

    cache = views.FinishedImageCache(10)
    miss = views.job_json(job, [(image, None)], lambda ids: {1: report}, cache, sign)
    hit = views.job_json(job, [(image, None)], lambda ids: {}, cache, sign)
    assert miss == hit
    shown = ImageOut.model_validate_json(hit[hit.index(b'"images":[') + len(b'"images":[') : -2])
    assert shown == views.image_view(image, report, sign)
    assert [o.signed_url for o in shown.outputs] == [f"https://s3.example/{k}?sig=1" for k in keys]
    assert shown.report is not None and shown.report.outputs == []
    unsigned = views.job_json(job, [(image, None)], lambda ids: {}, cache)
    assert b'"signed_url":null' in unsigned and b"s3.example" not in unsigned

"""The REST API over HTTP (uvicorn on loopback, real NATS and storage): validation, errors as
problem+json with stable codes, nothing stored for a refused upload, idempotency, probes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from globalpic_dev.natsd import free_port
from globalpic_jobs.models import Job, JobImage
from tests.support.gateway_harness import (
    Harness,
    assert_problem,
    harness_settings,
    photo_bytes,
    run_scenario,
    storage_at,
)

# Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture of conftest.py).


def _images(n: int, size: int = 512) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (f"p{k}.jpg", photo_bytes(size, seed=k), "image/jpeg")) for k in range(n)]


def _nothing_stored(gw: Harness) -> None:
    with Session(gw.state.engine) as session:
        assert session.exec(select(Job)).all() == []
        assert session.exec(select(JobImage)).all() == []
    for tenant in ("tenant-a", "tenant-b", "tenant-ent"):
        assert gw.storage.list(tenant).items == []


def test_bad_uploads_are_refused_with_stable_codes_and_store_nothing(
    database_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_INPUT__MAX_BYTES", str(300_000))

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api, gw.client(None) as anonymous:
            one = _images(1)
            cases: list[tuple[Any, int, str]] = [
                (
                    api.post("/v1/jobs", files=[("images", ("notes.txt", b"hello", "text/plain"))]),
                    415,
                    "unsupported_format",
                ),
                (
                    api.post(
                        "/v1/jobs",
                        files=[("images", ("big.png", b"\x89PNG" + b"0" * 400_000, "image/png"))],
                    ),
                    413,
                    "file_too_large",
                ),
                (api.post("/v1/jobs", files=_images(3)), 422, "too_many_images"),
                (api.post("/v1/jobs", files=_images(1, size=256)), 422, "image_too_small"),
                (
                    api.post(
                        "/v1/jobs",
                        files=[*one, ("images", ("cut.jpg", photo_bytes()[:5000], "image/jpeg"))],
                    ),
                    422,
                    "corrupt_image",
                ),
                (
                    api.post("/v1/jobs", files=one, data={"style": "neon-jungle"}),
                    422,
                    "unknown_style",
                ),
                (
                    api.post("/v1/jobs", files=one, data={"platform": "myspace"}),
                    422,
                    "unknown_platform",
                ),
                (api.post("/v1/jobs", files=one, data={"ops": "sharpen"}), 422, "bad_option"),
                (
                    api.post(
                        "/v1/jobs",
                        data={"ops": "extract"},
                        files=[("photo", ("a.jpg", b"x", "image/jpeg"))],
                    ),
                    422,
                    "validation_error",
                ),
                (api.post("/v1/jobs", json={"images": []}), 415, "unsupported_media_type"),
                (anonymous.post("/v1/jobs", files=one), 401, "unauthorized"),
                (
                    api.post("/v1/jobs", files=one, headers={"Authorization": "Bearer gp_wrong"}),
                    401,
                    "unauthorized",
                ),
            ]
            for request, status, code in cases:
                body = assert_problem(await request, status, code)
                assert body["instance"] == "/v1/jobs"
            no_images = await api.post(
                "/v1/jobs",
                content=b"--b--\r\n",
                headers={"content-type": "multipart/form-data; boundary=b"},
            )
            assert_problem(no_images, 422, "no_images")
            missing = await anonymous.get("/v1/jobs")
            assert assert_problem(missing, 401, "unauthorized")
            assert missing.headers["www-authenticate"].startswith("Bearer")
            # the enterprise plan takes the batch the default plan refused
            async with gw.client("tenant-ent") as enterprise:
                assert (await enterprise.get("/v1/jobs")).status_code == 200
        _nothing_stored(gw)

    run_scenario(
        database_url, tmp_path, nats_url, scenario, batch_limits={"default": 2, "enterprise": 4}
    )


def test_the_batch_limit_follows_the_plan(database_url: str, tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client("tenant-ent") as enterprise, gw.client() as default:
            assert_problem(await default.post("/v1/jobs", files=_images(3)), 422, "too_many_images")
            accepted = await enterprise.post("/v1/jobs", files=_images(3), data={"ops": "extract"})
            assert accepted.status_code == 202
            assert accepted.json()["image_count"] == 3
            assert len(gw.storage.list("tenant-ent", "originals/").items) == 3

    run_scenario(
        database_url, tmp_path, nats_url, scenario, batch_limits={"default": 2, "enterprise": 4}
    )


def test_idempotency_key_returns_the_same_job(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        files, form = _images(2), {"ops": "extract"}
        async with gw.client() as api, gw.client("tenant-b") as other:
            key = {"Idempotency-Key": "order-42"}
            first = await api.post("/v1/jobs", files=files, data=form, headers=key)
            again = await api.post("/v1/jobs", files=files, data=form, headers=key)
            assert first.status_code == again.status_code == 202
            assert first.json()["id"] == again.json()["id"]
            assert again.headers["idempotent-replayed"] == "true"
            assert "idempotent-replayed" not in first.headers
            changed = await api.post("/v1/jobs", files=files[:1], data=form, headers=key)
            body = assert_problem(changed, 422, "idempotency_key_reused")
            assert body["job_id"] == first.json()["id"]
            # the same key under another tenant is another tenant's key
            theirs = await other.post("/v1/jobs", files=files, data=form, headers=key)
            assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
            assert (await api.get("/v1/jobs")).json()["total"] == 1
        # one work message per image of each job: the replay queued nothing
        info = await gw.state.jetstream().stream_info(gw.settings.work_stream)
        assert info.state.messages == 4

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_reads_errors_and_catalogs(database_url: str, tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            assert_problem(await api.get("/v1/jobs/deadbeef"), 404, "job_not_found")
            assert_problem(await api.get("/v1/jobs?limit=0"), 422, "validation_error")
            assert_problem(await api.get("/v1/nowhere"), 404, "not_found")
            assert_problem(await api.delete("/v1/styles"), 405, "method_not_allowed")
            uploads = _images(1)
            job = (await api.post("/v1/jobs", files=uploads, data={"ops": "extract"})).json()
            assert_problem(
                await api.get(f"/v1/jobs/{job['id']}/images/0/result"), 409, "result_not_ready"
            )
            # the upload as it came, whatever the image's state (the web app's compare slider)
            original = await api.get(f"/v1/jobs/{job['id']}/images/0/original")
            assert original.status_code == 200
            assert original.content == uploads[0][1][1]
            assert original.headers["content-type"] == "image/jpeg"
            assert "_original.jpg" in original.headers["content-disposition"]
            assert_problem(
                await api.get(f"/v1/jobs/{job['id']}/images/3/original"), 404, "image_not_found"
            )
            async with gw.client("tenant-b") as other:
                foreign = await other.get(f"/v1/jobs/{job['id']}/images/0/original")
                assert_problem(foreign, 404, "job_not_found")
            assert_problem(
                await api.get(f"/v1/jobs/{job['id']}/images/7/result"), 404, "image_not_found"
            )
            assert_problem(
                await api.get(f"/v1/jobs/{job['id']}/results.zip"), 409, "result_not_ready"
            )
            assert_problem(
                await api.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "x"}),
                422,
                "bad_last_event_id",
            )
            page = (await api.get("/v1/jobs?limit=1")).json()
            assert page["total"] == 1 and page["limit"] == 1 and page["items"][0]["id"] == job["id"]
            assert page["items"][0]["counts"]["queued"] == 1

            styles = (await api.get("/v1/styles")).json()
            assert "amazon-white" in {s["id"] for s in styles}
            platforms = (await api.get("/v1/platforms")).json()
            assert {"amazon", "tiktok"} <= {p["id"] for p in platforms}
            assert (await api.get("/healthz")).json() == {"status": "ok", "checks": {}}
            ready = await api.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
            metrics = (await api.get("/metrics")).text
            assert (
                'globalpic_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"}'
                in metrics
            )
            assert "globalpic_jobs_submitted_total" in metrics

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_openapi_documents_the_upload_the_problems_and_examples(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client(None) as anonymous:
            spec = (await anonymous.get("/openapi.json")).json()
        post = spec["paths"]["/v1/jobs"]["post"]
        form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert form["required"] == ["images"]
        assert {"images", "ops", "style", "platform", "candidates"} <= set(form["properties"])
        assert "amazon-white" in form["properties"]["style"]["enum"]
        assert {"202", "401", "402", "413", "415", "422", "429", "503"} <= set(post["responses"])
        assert "application/problem+json" in post["responses"]["422"]["content"]
        schemas = spec["components"]["schemas"]
        assert "code" in schemas["Problem"]["required"]
        assert schemas["JobOut"]["examples"] and schemas["ImageProgress"]["examples"]
        # Lines kept on doubt: in the job view's report and the SSE done event.
        assert "kept_uncertain" in schemas["TextAction"]["enum"]
        assert "uncertain_texts" in schemas["ImageProgress"]["properties"]
        assert spec["components"]["securitySchemes"]["Bearer"]["scheme"] == "bearer"
        # the accounts' REST contract (issue 14) is documented beside the jobs'
        for path in ("/v1/auth/signup", "/v1/auth/token", "/v1/billing/webhook", "/v1/me"):
            assert path in spec["paths"], path
        events = spec["paths"]["/v1/jobs/{job_id}/events"]["get"]
        assert "text/event-stream" in events["responses"]["200"]["content"]

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_without_nats_the_gateway_is_alive_but_not_ready(tmp_path: Path, nats_url: str) -> None:
    del nats_url
    settings, keys = harness_settings(
        f"sqlite:///{tmp_path / 'gw.db'}", f"nats://127.0.0.1:{free_port()}"
    )

    async def main() -> None:
        from globalpic_gateway.main import create_app

        app = create_app(settings, storage=storage_at(tmp_path / "storage"))
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app):
            headers = {"Authorization": f"Bearer {keys['tenant-a']}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gw", headers=headers
            ) as api:
                assert (await api.get("/healthz")).status_code == 200
                ready = await api.get("/readyz")
                body = assert_problem(ready, 503, "service_unavailable")
                assert body["checks"] == {"database": "ok", "nats": "down"}
                refused = await api.post("/v1/jobs", files=_images(1))
                assert_problem(refused, 503, "service_unavailable")
                assert refused.headers["retry-after"] == "5"

    asyncio.run(main())

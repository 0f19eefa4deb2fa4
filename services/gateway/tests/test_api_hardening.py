"""The API under input an attacker or a careless integrator sends: non-Latin-1 file names,
numbers that are not ASCII digits or overflow a 64-bit column, a truncated body, a queue that
fails after the rows are written, the same request twice at the same moment. Each case is
answered with a 4xx problem (never a 500), stores nothing it should not, and loses nothing.

Every test runs on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlmodel import Session, select

from globalpic_gateway import crud, submit
from globalpic_gateway.api.downloads import content_disposition
from globalpic_jobs import queue
from globalpic_jobs import state as job_state
from globalpic_jobs.models import ImageState, Job, JobImage
from tests.support.gateway_harness import (
    PROBLEM_JSON,
    Harness,
    assert_problem,
    photo_bytes,
    run_scenario,
)

BIG = str(2**63)  # one past the largest 64-bit signed integer


def _image(name: str = "p0.jpg", seed: int = 0) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (name, photo_bytes(512, seed=seed), "image/jpeg"))]


def _rows(gw: Harness) -> tuple[list[Job], list[JobImage]]:
    with Session(gw.state.engine) as session:
        return list(session.exec(select(Job)).all()), list(session.exec(select(JobImage)).all())


def _finish_image(gw: Harness, tenant: str, job_id: str, outputs: int = 1) -> None:
    """Record the job's image 0 as completed with ``outputs`` stored results, as a runner does
    (the download routes read only the row and the stored objects)."""
    keys = [gw.storage.put(tenant, "results", b"\x89PNG fake", "image/png").key] * outputs
    with Session(gw.state.engine) as session:
        image = job_state.get_image(session, job_id, 0)
        assert image is not None
        image.state, image.outputs = ImageState.COMPLETED.value, keys
        session.add(image)
        session.flush()
        job = crud.get_job(session, tenant, job_id)
        assert job is not None
        job_state.refresh_job_status(session, job)
        session.commit()


# -- 1. no 500 for ordinary input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload_name", "utf8_name", "ascii_name"),
    [
        ("女装连衣裙.jpg", "000_女装连衣裙.png", "000_image.png"),
        ('say "hi".jpg', '000_say "hi".png', "000_say _hi_.png"),
        ("café\x07.jpg", "000_café_.png", "000_cafe_.png"),
    ],
)
def test_a_result_downloads_under_any_file_name(
    database_url: str,
    tmp_path: Path,
    nats_url: str,
    upload_name: str,
    utf8_name: str,
    ascii_name: str,
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job = await api.post("/v1/jobs", files=_image(upload_name), data={"ops": "extract"})
            assert job.status_code == 202, job.text
            job_id = job.json()["id"]
            _finish_image(gw, "tenant-a", job_id)
            result = await api.get(f"/v1/jobs/{job_id}/images/0/result")
            assert result.status_code == 200, result.text
            assert result.content == b"\x89PNG fake"
            disposition = result.headers["content-disposition"]
            assert disposition == content_disposition(utf8_name, default_stem="000_image")
            # what a client decodes: RFC 5987 name exact, fallback plain ASCII without quotes
            fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
            assert fallback == ascii_name
            encoded = disposition.split("filename*=UTF-8''", 1)[1]
            assert unquote(encoded, encoding="utf-8") == utf8_name
            archive = await api.get(f"/v1/jobs/{job_id}/results.zip")
            assert archive.status_code == 200, archive.text
            names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
            assert names == [utf8_name, "report.json"]

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_content_disposition_keeps_plain_names_plain() -> None:
    assert content_disposition("000_shoe.png") == 'attachment; filename="000_shoe.png"'
    header = content_disposition("a\r\nSet-Cookie: x.png")
    assert "\r" not in header and "\n" not in header
    header.encode("latin-1")  # what an HTTP header must be


def test_numbers_are_ascii_digits_within_bounds(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            for candidates in ("²", "١", " 2 x", "+2", "0", "9", BIG):
                refused = await api.post(
                    "/v1/jobs",
                    files=_image(),
                    data={"ops": "remix", "candidates": candidates},
                )
                body = assert_problem(refused, 422, "bad_option")
                assert "form field candidates" in body["detail"]
            job = await api.post("/v1/jobs", files=_image(), data={"ops": "extract"})
            job_id = job.json()["id"]
            # header bytes are read as Latin-1: b"\xb2" arrives as "²", which isdigit() took
            for last_event_id in ("²", "-1", BIG):
                sse = await api.get(
                    f"/v1/jobs/{job_id}/events",
                    headers={b"Last-Event-ID": last_event_id.encode("latin-1")},
                )
                assert_problem(sse, 422, "bad_last_event_id")
            for query in (f"offset={BIG}", "offset=²", f"limit=1&offset={2**64}"):
                assert_problem(await api.get(f"/v1/jobs?{query}"), 422, "validation_error")
            # job_image.index is a 32-bit INTEGER on PostgreSQL
            for path in (
                f"images/{2**31}/result",
                f"images/{BIG}/result",
                f"images/0/result?candidate={BIG}",
            ):
                assert_problem(await api.get(f"/v1/jobs/{job_id}/{path}"), 422, "validation_error")
            assert (await api.get(f"/v1/jobs?offset={2**63 - 1}")).json()["items"] == []
            for expires in ("²", BIG + "1"):
                signed = await api.get(f"/v1/files/x/tenant-a/y.png?expires={expires}&signature=s")
                assert_problem(signed, 403, "bad_signature")

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_an_unexpected_error_is_a_problem_logged_once(
    database_url: str, tmp_path: Path, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    class BoomError(RuntimeError):
        pass

    async def scenario(gw: Harness) -> None:
        def broken(tenant_id: str, key: str) -> Iterator[bytes]:
            raise BoomError(f"disk on fire reading {tenant_id}/{key}")

        async with gw.client() as api:
            job_id = (await api.post("/v1/jobs", files=_image(), data={"ops": "extract"})).json()[
                "id"
            ]
            _finish_image(gw, "tenant-a", job_id)
            gw.storage.iter_chunks = broken  # type: ignore[method-assign]
            caplog.clear()
            # uvicorn's loggers do not propagate to the root: listen to them directly
            server_log = logging.getLogger("uvicorn")
            server_log.addHandler(caplog.handler)
            try:
                with caplog.at_level(logging.ERROR):
                    failed = await api.get(f"/v1/jobs/{job_id}/images/0/result")
            finally:
                server_log.removeHandler(caplog.handler)
            body = assert_problem(failed, 500, "internal_error")
            assert "disk on fire" not in body["detail"]  # internals stay in the log
            logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is BoomError]
            assert len(logged) == 1, [r.getMessage() for r in logged]

    run_scenario(database_url, tmp_path, nats_url, scenario)


# -- 2. strict multipart -----------------------------------------------------------------------


def test_a_body_without_its_closing_boundary_is_refused_and_stores_nothing(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    photo = photo_bytes(512)
    whole = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="images"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="ops"\r\n\r\n'
        b"resize\r\n"
        b"--XyZ--\r\n"
    )
    cut = whole[: whole.index(b"resize") + len(b"resi")]
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            for body in (cut, whole[: whole.index(b"--XyZ--")], whole[:-4]):
                refused = await api.post("/v1/jobs", content=body, headers=headers)
                assert_problem(refused, 400, "bad_multipart")
            assert _rows(gw) == ([], [])
            assert gw.storage.list("tenant-a").items == []
            accepted = await api.post("/v1/jobs", content=whole, headers=headers)
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["options"]["ops"] == ["resize"]

    run_scenario(database_url, tmp_path, nats_url, scenario)


# -- 3. what the API says is true --------------------------------------------------------------


def test_limits_and_methods_are_quoted_as_documented(
    database_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_INPUT__MAX_PIXELS", "200000")  # a 512² photo is 0.26 MP

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            bomb = await api.post("/v1/jobs", files=_image(), data={"ops": "extract"})
            body = assert_problem(bomb, 422, "image_too_large")
            assert "0.2 MP limit" in body["detail"], body["detail"]
            for method in ("PUT", "DELETE", "PATCH"):
                refused = await api.request(method, "/v1/jobs")
                assert_problem(refused, 405, "method_not_allowed")
                assert refused.headers["allow"] == "GET, POST"
            ops = await api.post("/v1/jobs", files=_image(), data={"ops": "resi"})
            detail = assert_problem(ops, 422, "bad_option")["detail"]
            assert detail.startswith("form field ops 'resi'") and "--" not in detail
            assert "copy" in detail
            # a JSON body whose bytes are not UTF-8 cannot even be parsed: 400, a stable code
            garbled = await api.post(
                "/v1/jobs/nope/images/0/adjust",
                content=b"{\xff\xfe}",
                headers={"Content-Type": "application/json"},
            )
            assert_problem(garbled, 400, "malformed_body")
        assert _rows(gw) == ([], [])

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_the_size_limit_is_quoted_in_the_documented_unit(
    database_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        big = b"\xff\xd8" + b"0" * (20 * 1024 * 1024)
        async with gw.client() as api:
            refused = await api.post("/v1/jobs", files=[("images", ("big.jpg", big, "image/jpeg"))])
        body = assert_problem(refused, 413, "file_too_large")
        assert body["detail"].endswith("larger than the 20 MB limit"), body["detail"]

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_openapi_states_the_contract(database_url: str, tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client(None) as anonymous:
            spec = (await anonymous.get("/openapi.json")).json()
        form = spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert form["schema"]["properties"]["images"]["minItems"] == 1
        assert "copy" in form["schema"]["properties"]["ops"]["description"]
        schemas = spec["components"]["schemas"]
        assert schemas["Op"]["enum"] == ["clean", "extract", "remix", "resize", "copy"]
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                for status, response in operation["responses"].items():
                    if status.startswith("4"):
                        assert list(response.get("content", {})) == [PROBLEM_JSON], (
                            method,
                            path,
                            status,
                        )
                if "requestBody" in operation:  # a body that cannot be parsed: 400
                    assert "400" in operation["responses"], (method, path)
                if path.startswith(("/v1/auth/", "/v1/billing/", "/v1/teams", "/v1/api-keys")):
                    assert "404" in operation["responses"], (method, path)  # no accounts
                if path.startswith("/v1/jobs"):  # the rate limiter counts them all
                    assert "429" in operation["responses"], (method, path)
        reset = spec["paths"]["/v1/auth/password-reset"]["post"]["responses"]["202"]
        assert "content" not in reset  # an empty body is what it answers

    run_scenario(database_url, tmp_path, nats_url, scenario)


# -- 6. guarantees under concurrency and failure ---------------------------------------------


def test_the_same_idempotency_key_at_the_same_moment_makes_one_job(
    database_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both requests are held just before their INSERT until both have got there: neither saw
    # the other's key, so the race is the one the unique constraint has to settle.
    both_checked = threading.Barrier(2, timeout=60)
    real_create = crud.create_job

    def create_together(*args: Any, **kwargs: Any) -> Job:
        both_checked.wait()
        return real_create(*args, **kwargs)

    monkeypatch.setattr(crud, "create_job", create_together)

    async def scenario(gw: Harness) -> None:
        key = {"Idempotency-Key": "order-7"}
        async with gw.client() as api:
            first, second = await asyncio.gather(
                *(
                    api.post("/v1/jobs", files=_image(), data={"ops": "extract"}, headers=key)
                    for _ in range(2)
                )
            )
        assert first.status_code == second.status_code == 202, (first.text, second.text)
        assert first.json()["id"] == second.json()["id"]
        replayed = [r.headers.get("idempotent-replayed") for r in (first, second)]
        assert replayed.count("true") == 1  # the loser of the race answered with the winner's
        jobs, images = _rows(gw)
        assert len(jobs) == 1 and len(images) == 1
        info = await gw.state.jetstream().stream_info(gw.settings.work_stream)
        assert info.state.messages == 1

    run_scenario(database_url, tmp_path, nats_url, scenario)


def test_a_failed_publish_removes_the_rows_and_the_retry_succeeds(
    database_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_publish = queue.publish_model
    failures = [ConnectionError("NATS went away")]

    async def flaky_publish(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        await real_publish(*args, **kwargs)

    monkeypatch.setattr(submit, "publish_model", flaky_publish)

    async def scenario(gw: Harness) -> None:
        key = {"Idempotency-Key": "order-9"}
        async with gw.client() as api:
            refused = await api.post(
                "/v1/jobs", files=_image(), data={"ops": "extract"}, headers=key
            )
            assert_problem(refused, 503, "service_unavailable")
            assert refused.headers["retry-after"] == "5"
            assert _rows(gw) == ([], [])
            with Session(gw.state.engine) as session:
                assert crud.find_idempotency_key(session, "tenant-a", "order-9") is None
            retry = await api.post("/v1/jobs", files=_image(), data={"ops": "extract"}, headers=key)
            assert retry.status_code == 202, retry.text
            assert "idempotent-replayed" not in retry.headers
            jobs, images = _rows(gw)
            assert [j.id for j in jobs] == [retry.json()["id"]] and len(images) == 1
        info = await gw.state.jetstream().stream_info(gw.settings.work_stream)
        assert info.state.messages == 1

    run_scenario(database_url, tmp_path, nats_url, scenario)

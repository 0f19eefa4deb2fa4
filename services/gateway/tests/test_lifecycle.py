"""A job's end of life (issue 16, item 4): cancel (queued images at once, a running one at its
next stage, events as for any failure), delete (rows and the files nothing else uses), and
the retention purge — real gateway, broker, runner and storage."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from globalpic_db.clock import utcnow
from globalpic_gateway import lifecycle
from globalpic_jobs.models import Job
from tests.support.gateway_harness import (
    Gated,
    Harness,
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    storage_at,
)


def _run(tmp_path: Path, nats_url: str, scenario: Any) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            await asyncio.wait_for(scenario(gw), 300)

    asyncio.run(main())


def _files(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "storage").rglob("*") if p.is_file()}


async def _submit(api: httpx.AsyncClient, seeds: list[int]) -> dict[str, Any]:
    files = [("images", (f"p{k}.jpg", photo_bytes(512, seed=k), "image/jpeg")) for k in seeds]
    response = await api.post("/v1/jobs", files=files, data={"ops": "extract"})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def _done_events(api: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    """The job's ``done`` events, read until ``completed``."""
    import json

    done: list[dict[str, Any]] = []
    async with api.stream("GET", f"/v1/jobs/{job_id}/events") as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data = json.loads(line.partition(":")[2])
                if event == "completed":
                    return done
                if data.get("stage") == "done":
                    done.append(data)
    return done


def test_cancel_fails_queued_images_now_and_the_running_one_at_its_next_stage(
    tmp_path: Path, nats_url: str, tiny_models_env: Path
) -> None:
    async def scenario(gw: Harness) -> None:
        gated = Gated(embedded_processor())
        await gw.start_runner(gated)  # one image at a time: the others stay queued
        async with gw.client() as api:
            job = await _submit(api, [1, 2, 3])
            await asyncio.to_thread(gated.started.wait, 60)
            canceled = await api.post(f"/v1/jobs/{job['id']}/cancel")
            assert canceled.status_code == 200, canceled.text
            states = [
                (i["state"], (i["error"] or {}).get("code")) for i in canceled.json()["images"]
            ]
            assert states.count(("failed", "canceled")) == 2 and ("running", None) in states
            gated.release.set()  # the running image reaches its next stage, and stops there
            final = await job_finished(api, job["id"], 120)
            assert final["status"] == "failed"
            assert [(i["error"] or {}).get("code") for i in final["images"]] == ["canceled"] * 3
            done = await _done_events(api, job["id"])
            assert sorted(e["image"] for e in done) == [0, 1, 2]
            assert {e["error"]["code"] for e in done} == {"canceled"}
            again = await api.post(f"/v1/jobs/{job['id']}/cancel")
            assert again.status_code == 409 and again.json()["code"] == "job_finished"
            async with gw.client("tenant-b") as other:
                denied = await other.post(f"/v1/jobs/{job['id']}/cancel")
                assert denied.status_code == 404 and denied.json()["code"] == "job_not_found"

    _run(tmp_path, nats_url, scenario)


def test_delete_removes_rows_and_the_files_nothing_else_uses(
    tmp_path: Path, nats_url: str, tiny_models_env: Path
) -> None:
    async def scenario(gw: Harness) -> None:
        await gw.start_runner(embedded_processor())
        async with gw.client() as api:
            first = await job_finished(api, (await _submit(api, [1]))["id"], 120)
            before = _files(tmp_path)
            # the same photo again: answered from the cache, the same stored files
            second = await _submit(api, [1])
            assert second["images"][0]["cached"] is True
            other = await job_finished(api, (await _submit(api, [2]))["id"], 120)

            deleted = await api.delete(f"/v1/jobs/{first['id']}")
            assert deleted.status_code == 204
            for path in (f"/v1/jobs/{first['id']}", f"/v1/jobs/{first['id']}/images/0/result"):
                gone = await api.get(path)
                assert gone.status_code == 404 and gone.json()["code"] == "job_not_found"
            # the second job still names the photo and the result: both kept, still served
            kept = await api.get(f"/v1/jobs/{second['id']}/images/0/result")
            assert kept.status_code == 200
            assert _files(tmp_path) >= before
            # ... and its deletion takes them, while the third job's files stay
            assert (await api.delete(f"/v1/jobs/{second['id']}")).status_code == 204
            assert not (before & _files(tmp_path))
            assert (await api.get(f"/v1/jobs/{other['id']}/images/0/result")).status_code == 200
            # the cache no longer answers with the deleted result: the photo is processed again
            again = await _submit(api, [1])
            assert again["images"][0]["cached"] is False
            assert (await api.delete(f"/v1/jobs/{first['id']}")).status_code == 404

    _run(tmp_path, nats_url, scenario)


def test_the_purge_deletes_jobs_finished_before_the_retention(
    tmp_path: Path, nats_url: str, tiny_models_env: Path
) -> None:
    async def scenario(gw: Harness) -> None:
        await gw.start_runner(embedded_processor())
        async with gw.client() as api:
            old = await job_finished(api, (await _submit(api, [1]))["id"], 120)
            recent = await job_finished(api, (await _submit(api, [2]))["id"], 120)
            with Session(gw.state.engine) as session:
                session.execute(
                    sa.update(Job)
                    .where(sa.column("id") == old["id"])
                    .values(finished_at=utcnow() - timedelta(days=31))
                )
                session.commit()
            purged = await asyncio.to_thread(
                lifecycle.purge_expired, gw.state.engine, gw.storage, 30
            )
            assert purged == 1
            assert (await api.get(f"/v1/jobs/{old['id']}")).status_code == 404
            assert (await api.get(f"/v1/jobs/{recent['id']}")).status_code == 200

    _run(tmp_path, nats_url, scenario)

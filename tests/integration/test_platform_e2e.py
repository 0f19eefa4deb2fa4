"""End to end: a 5-image batch through the REST API, NATS JetStream and a runner, live SSE,
downloads, the result cache and tenant isolation — real server, real broker, real pipeline
(the tiny random-weight U²-Net-p), in one process."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

BATCH = 5
FORM = {"ops": "extract,remix", "style": "minimal-white"}


async def _sse(client: httpx.AsyncClient, job_id: str, **headers: str) -> list[dict[str, Any]]:
    """Read the job's event stream until ``completed``: [{id, event, data}, ...]."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                    if current["event"] == "completed":
                        return events
                current = {}
            elif line.startswith(":"):
                continue  # ping
            else:
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value.strip()
    return events


def _files(images: list[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (f"shot{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]


def test_five_image_batch_end_to_end(
    database_url: str, tmp_path: Path, nats_url: str, tiny_models_env: Path
) -> None:
    """On SQLite and on PostgreSQL (``database_url``)."""
    settings, keys = harness_settings(database_url, nats_url)
    storage = storage_at(tmp_path / "storage")
    images = [photo_bytes(512, seed=k) for k in range(BATCH)]

    async def scenario() -> None:
        async with running_gateway(settings, keys, storage) as gw:
            processor = embedded_processor()
            await gw.start_runner(processor)
            async with gw.client("tenant-a") as api, gw.client("tenant-b") as other:
                submitted = await api.post("/v1/jobs", files=_files(images), data=FORM)
                assert submitted.status_code == 202, submitted.text
                job = submitted.json()
                job_id = job["id"]
                assert submitted.headers["location"] == f"/v1/jobs/{job_id}"
                assert job["image_count"] == BATCH
                assert [i["state"] for i in job["images"]] == ["queued"] * BATCH

                events = await asyncio.wait_for(_sse(api, job_id), 240)

                # -- progress: every image went through its stages, in order, with an ETA --
                progress = [e for e in events if e["event"] == "progress"]
                ids = [int(e["id"]) for e in events]
                assert ids == sorted(ids) and len(set(ids)) == len(ids)
                for n in range(BATCH):
                    mine = [e["data"] for e in progress if e["data"]["image"] == n]
                    stages = [e["stage"] for e in mine]
                    assert stages == ["analyze", "extract", "remix", "done"], stages
                    percents = [e["percent"] for e in mine]
                    assert percents == sorted(percents) and percents[-1] == 100
                    assert mine[-1]["state"] == "completed" and mine[-1]["eta_seconds"] == 0
                    assert all(e["tenant_id"] == "tenant-a" for e in mine)
                # after the first image the runner knows how long one takes
                assert any(e["data"]["eta_seconds"] for e in progress[BATCH:])
                done = events[-1]
                assert done["event"] == "completed"
                assert done["data"]["status"] == "completed"
                assert done["data"]["completed"] == BATCH and done["data"]["failed"] == 0

                # -- the job as GET reports it --
                final = (await api.get(f"/v1/jobs/{job_id}")).json()
                assert final["status"] == "completed" and final["finished_at"]
                assert final["counts"]["completed"] == BATCH
                for image in final["images"]:
                    assert image["state"] == "completed" and image["percent"] == 100
                    assert image["cached"] is False and image["attempts"] == 1
                    assert image["report"]["style"] == "minimal-white"
                    assert len(image["outputs"]) == 1

                # -- one result --
                result = await api.get(final["images"][2]["outputs"][0]["url"])
                assert result.status_code == 200
                assert result.headers["content-type"] == "image/png"
                assert Image.open(io.BytesIO(result.content)).size == (512, 512)

                # -- the ZIP --
                archive = await api.get(f"/v1/jobs/{job_id}/results.zip")
                assert archive.status_code == 200
                with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
                    names = zf.namelist()
                    assert sorted(names) == sorted(
                        [f"{n:03d}_shot{n}.png" for n in range(BATCH)] + ["report.json"]
                    )
                    assert zf.read("000_shot0.png")[:8] == b"\x89PNG\r\n\x1a\n"
                    assert json.loads(zf.read("report.json"))["id"] == job_id

                # -- history --
                listing = (await api.get("/v1/jobs")).json()
                assert listing["total"] == 1 and listing["items"][0]["id"] == job_id

                # -- the same batch again: answered from the result cache, no runner work --
                again = await api.post("/v1/jobs", files=_files(images), data=FORM)
                assert again.status_code == 202
                cached_job = again.json()
                assert cached_job["status"] == "completed"
                assert all(i["cached"] for i in cached_job["images"])
                replay = await asyncio.wait_for(_sse(api, cached_job["id"]), 30)
                assert [e["data"]["stage"] for e in replay[:-1]] == ["done"] * BATCH
                assert replay[-1]["data"]["cached"] == BATCH

                # -- another tenant sees none of it, and cannot use tenant-a's cache --
                for path in (
                    f"/v1/jobs/{job_id}",
                    f"/v1/jobs/{job_id}/events",
                    f"/v1/jobs/{job_id}/images/0/result",
                    f"/v1/jobs/{job_id}/results.zip",
                ):
                    denied = await other.get(path)
                    assert denied.status_code == 404, path
                    assert denied.headers["content-type"] == "application/problem+json"
                    assert denied.json()["code"] == "job_not_found"
                assert (await other.get("/v1/jobs")).json()["total"] == 0
                theirs = await other.post("/v1/jobs", files=_files(images[:1]), data=FORM)
                assert theirs.status_code == 202
                assert theirs.json()["images"][0]["cached"] is False
                their_events = await asyncio.wait_for(_sse(other, theirs.json()["id"]), 120)
                assert their_events[-1]["data"]["tenant_id"] == "tenant-b"

    asyncio.run(scenario())

"""The client against the real gateway and runner (test harness: real NATS, database, storage,
the tiny random-weight model): submit, follow by SSE and by polling, resume a dropped stream,
download, ZIP, re-runs, errors, paging."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from globalpic_client import AsyncGlobalPic, Event, GlobalPic, GlobalPicError, Job
from tests.support.gateway_harness import (
    Harness,
    embedded_processor,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

pytestmark = pytest.mark.usefixtures("tiny_models_env")


def _run(tmp_path: Path, nats_url: str, scenario: Any) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            await gw.start_runner(embedded_processor())
            await asyncio.wait_for(scenario(gw), 400)

    asyncio.run(main())


class _CutAfterEvents(httpx.SyncByteStream):
    """The real event stream, cut (the connection lost) after ``events`` whole events."""

    def __init__(self, inner: httpx.SyncByteStream, events: int) -> None:
        self.inner, self.events = inner, events

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self.inner:
            out = b""
            for piece in chunk.split(b"\r\n\r\n")[:-1]:
                out += piece + b"\r\n\r\n"
                if not piece.startswith(b":"):
                    seen += 1
                if seen == self.events:
                    yield out
                    raise httpx.RemoteProtocolError("connection lost (test)")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class DroppingTransport(httpx.HTTPTransport):
    """Loses the first ``drops`` event-stream connections after one event each."""

    def __init__(self, drops: int) -> None:
        super().__init__()
        self.drops = drops
        self.resumed_from: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not request.url.path.endswith("/events"):
            return response
        self.resumed_from.append(request.headers.get("last-event-id"))
        if self.drops == 0:
            return response
        self.drops -= 1
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CutAfterEvents(response.stream, 1),
            extensions=response.extensions,
        )


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_sync_client_end_to_end(tmp_path: Path, nats_url: str) -> None:
    photo = tmp_path / "shot.jpg"
    photo.write_bytes(photo_bytes(512, seed=1))
    out = tmp_path / "out"

    def flow(gw: Harness) -> None:
        key = gw.keys["tenant-a"]
        with GlobalPic(gw.base_url, api_key=key, timeout=30) as gp:
            job = gp.submit(
                [photo, ("wide.png", photo_bytes(640, seed=2, fmt="PNG"))],
                ops=["extract"],
                idempotency_key="client-e2e-1",
            )
            assert job.status in ("queued", "running") and job.image_count == 2
            assert [i.filename for i in job.images] == ["shot.jpg", "wide.png"]
            assert job.options.ops == ["extract"] and job.links.self == f"/v1/jobs/{job.id}"
            # the same key and request: the same job, nothing new
            wide = ("wide.png", photo_bytes(640, seed=2, fmt="PNG"))
            repeat = gp.submit([photo, wide], ops="extract", idempotency_key="client-e2e-1")
            assert repeat.id == job.id

            events: list[Event] = []
            done = gp.wait(job.id, via="sse", timeout=300, on_event=events.append)
            assert done.status == "completed", done
            assert events[-1].event == "completed" and events[-1].json()["completed"] == 2
            progress = [e for e in events if e.event == "progress"]
            assert progress and all(e.json()["job_id"] == job.id for e in progress)
            ids = [int(e.id) for e in events if e.id is not None]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
            assert [e.event for e in gp.events(job.id, last_event_id=str(ids[-2]))] == [
                events[-1].event
            ]

            first = done.images[0]
            assert first.state == "completed" and first.outputs[0].content_type == "image/png"
            assert isinstance(first.report, dict) and first.error is None
            path = gp.download(job.id, 0, to=f"{out}/")
            assert isinstance(path, Path) and path == out / "000_shot.png"
            assert _png_size(path.read_bytes()) == (512, 512)
            data = gp.download(job.id, 1)
            assert isinstance(data, bytes) and _png_size(data) == (640, 640)
            assert gp.download_original(job.id, 0) == photo.read_bytes()
            archive = gp.download_zip(job.id, to=out)
            assert isinstance(archive, Path) and archive.name == f"globalpic-{job.id}.zip"
            with zipfile.ZipFile(archive) as zipped:
                assert sorted(zipped.namelist()) == ["000_shot.png", "001_wide.png", "report.json"]

            # errors, as the API's problem codes
            refusals: list[tuple[Callable[[], object], int, str]] = [
                (lambda: gp.get("0" * 32), 404, "job_not_found"),
                (lambda: gp.download(job.id, 0, candidate=3), 404, "image_not_found"),
                (lambda: gp.download(job.id, 7), 404, "image_not_found"),
                (lambda: gp.submit(b"plain text, no image"), 415, "unsupported_format"),
                (lambda: gp.submit(photo, style="neon-jungle"), 422, "unknown_style"),
                (lambda: gp.submit(photo, ops="extract", keywords="mug"), 422, "bad_option"),
                (lambda: gp.clean(job.id, 0), 422, "bad_option"),
            ]
            for call, status, code in refusals:
                with pytest.raises(GlobalPicError) as info:
                    call()
                assert (info.value.status, info.value.code) == (status, code), info.value
                assert info.value.detail and info.value.problem["type"].endswith(code)
            with GlobalPic(gw.base_url, api_key="gp_wrong") as stranger:
                with pytest.raises(GlobalPicError) as info:
                    stranger.get(job.id)
                assert (info.value.status, info.value.code) == (401, "unauthorized")
            with GlobalPic(gw.base_url, api_key=gw.keys["tenant-b"]) as other:
                with pytest.raises(GlobalPicError) as info:
                    other.get(job.id)
                assert info.value.code == "job_not_found"
                assert list(other.list_jobs()) == []

            # a re-run, then every job by pages of one
            again = gp.retry(job.id, 1)
            assert again.rerun_of is not None and again.rerun_of.job_id == job.id
            assert again.rerun_of.image == 1 and again.images[0].cached is True
            listed = [j.id for j in gp.list_jobs(page_size=1)]
            assert listed == [again.id, job.id]
            assert [j.id for j in gp.list_jobs(limit=1)] == [again.id]

        # a stream that loses its connection twice: resumed, nothing lost, nothing twice
        transport = DroppingTransport(drops=2)
        with GlobalPic(gw.base_url, api_key=key, transport=transport) as gp:
            gp._sleep = lambda seconds: None
            resumed = [(e.id, e.event, e.data) for e in gp.events(job.id)]
        assert resumed == [(e.id, e.event, e.data) for e in events]
        assert transport.resumed_from == [None, str(ids[0]), str(ids[1])]

    async def scenario(gw: Harness) -> None:
        await asyncio.to_thread(flow, gw)

    _run(tmp_path, nats_url, scenario)


def test_async_client_polls(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with AsyncGlobalPic(gw.base_url, api_key=gw.keys["tenant-a"]) as gp:
            job = await gp.submit(photo_bytes(520, seed=3), ops="extract,resize", platform="tiktok")
            assert job.images[0].filename == "image-0.jpg"
            done: Job = await gp.wait(job.id, via="poll", timeout=300, poll_interval=0.2)
            assert done.status == "completed" and done.finished_at is not None
            assert done.counts["completed"] == 1 and done.options.platform == "tiktok"
            report = done.images[0].report
            assert report is not None
            data = await gp.download(job.id, 0)
            assert isinstance(data, bytes)
            assert _png_size(data) == (report["width"], report["height"])
            streamed = [e.event async for e in gp.events(job.id)]
            assert streamed[-1] == "completed"
            tuned = await gp.adjust(job.id, 0, detail=0.5)
            assert tuned.options.adjust is not None and tuned.options.adjust.detail == 0.5
            tuned = await gp.wait(tuned.id, timeout=300)
            assert tuned.status == "completed"
            with pytest.raises(GlobalPicError) as info:
                await gp.adjust(job.id, 0, strength=0.5)
            assert (info.value.status, info.value.code) == (422, "bad_option")
            page = await gp.list_page(limit=1)
            assert page.total == 2 and len(page.items) == 1
            assert [j.id async for j in gp.list_jobs(page_size=1)] == [tuned.id, job.id]

    _run(tmp_path, nats_url, scenario)

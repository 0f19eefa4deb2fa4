"""Reading for integrators (issue 16, item 5): cursor pagination and filters on the job list,
unknown query parameters refused, downloads with Content-Length, ETag and Range."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.gateway_harness import (
    Harness,
    harness_settings,
    photo_bytes,
    running_gateway,
    storage_at,
)

JOBS = 5


def _run(tmp_path: Path, nats_url: str, scenario: Any) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            await asyncio.wait_for(scenario(gw), 120)

    asyncio.run(main())


async def _submit(api: httpx.AsyncClient, seed: int) -> dict[str, Any]:
    files = [("images", (f"p{seed}.jpg", photo_bytes(512, seed=seed), "image/jpeg"))]
    response = await api.post("/v1/jobs", files=files, data={"ops": "extract"})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.json()


def test_the_job_list_pages_by_cursor_and_filters(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            ids = [(await _submit(api, k))["id"] for k in range(JOBS)]
            newest_first = ids[::-1]

            seen: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
                page = (await api.get("/v1/jobs", params=params)).json()
                seen += [item["id"] for item in page["items"]]
                pages += 1
                # a job submitted meanwhile does not shift the pages (it is newer)
                if pages == 1:
                    await _submit(api, 99)
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == newest_first and pages == 3

            # offset paging (the web app's history) still works beside it
            page = (await api.get("/v1/jobs", params={"limit": 2, "offset": 2})).json()
            assert [item["id"] for item in page["items"]] == [newest_first[1], newest_first[2]]

            queued = (await api.get("/v1/jobs", params={"status": "queued"})).json()
            assert queued["total"] == JOBS + 1
            assert (await api.get("/v1/jobs", params={"status": "failed"})).json()["total"] == 0
            later = datetime.now(UTC).isoformat()
            assert (await api.get("/v1/jobs", params={"created_after": later})).json()["total"] == 0

            _problem(
                await api.get("/v1/jobs", params={"stauts": "failed"}), 422, "unknown_parameter"
            )
            _problem(
                await api.get(f"/v1/jobs/{ids[0]}", params={"x": "1"}), 422, "unknown_parameter"
            )
            _problem(await api.get("/v1/jobs", params={"status": "done"}), 422, "validation_error")
            for bad_time in ("0.5", "2026-12-01T00:00:00", "yesterday"):
                response = await api.get("/v1/jobs", params={"created_after": bad_time})
                _problem(response, 422, "validation_error")
            _problem(await api.get("/v1/jobs", params={"cursor": "%%%"}), 422, "bad_cursor")
            _problem(
                await api.get(
                    "/v1/jobs", params={"cursor": page["next_cursor"] or "x", "offset": 2}
                ),
                422,
                "bad_cursor",
            )

    _run(tmp_path, nats_url, scenario)


def test_downloads_have_length_etag_and_ranges(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            job = await _submit(api, 1)
            url = f"/v1/jobs/{job['id']}/images/0/original"
            whole = await api.get(url)
            assert whole.status_code == 200
            size = len(whole.content)
            assert whole.headers["content-length"] == str(size)
            assert whole.headers["accept-ranges"] == "bytes"
            etag = whole.headers["etag"]

            again = await api.get(url, headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
            changed = await api.get(url, headers={"If-None-Match": '"other"'})
            assert changed.status_code == 200

            head = await api.get(url, headers={"Range": "bytes=0-99"})
            assert head.status_code == 206 and head.content == whole.content[:100]
            assert head.headers["content-range"] == f"bytes 0-99/{size}"
            tail = await api.get(url, headers={"Range": "bytes=-10"})
            assert tail.status_code == 206 and tail.content == whole.content[-10:]
            rest = await api.get(url, headers={"Range": f"bytes={size - 5}-"})
            assert rest.content == whole.content[-5:]
            # a range for another version of the file is answered whole
            stale = await api.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
            assert stale.status_code == 200 and len(stale.content) == size
            several = await api.get(url, headers={"Range": "bytes=0-1,5-6"})
            assert several.status_code == 200 and len(several.content) == size
            beyond = await api.get(url, headers={"Range": f"bytes={size}-"})
            _problem(beyond, 416, "range_not_satisfiable")
            assert beyond.headers["content-range"] == f"bytes */{size}"

    _run(tmp_path, nats_url, scenario)

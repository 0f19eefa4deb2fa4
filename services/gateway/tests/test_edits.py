"""What the web app's editing needs from the API (issue 15, item 0): brush masks and the
seller's background at upload, copy inputs for several marketplaces, style previews, and the
re-runs of one image (adjust / clean / retry) as jobs of their own — through the real gateway,
broker, runner and pipeline (tiny random-weight segmentation model)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.gateway_harness import (
    Harness,
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    storage_at,
)

SIDE = 512


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _mask(box: tuple[int, int, int, int], size: tuple[int, int] = (SIDE, SIDE)) -> bytes:
    """White inside ``box`` (x0, y0, x1, y1) on black, ``size`` (w, h)."""
    mask = np.zeros((size[1], size[0]), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    return _png(mask)


def _background() -> bytes:
    y, x = np.mgrid[0:600, 0:800]
    sky = np.stack([90 + x // 8, 140 + y // 10, 200 + 0 * x], axis=-1)
    return _png(np.clip(sky, 0, 255).astype(np.uint8))


def _run(tmp_path: Path, nats_url: str, scenario: Any, *, runner: bool) -> None:
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gw.db'}", nats_url)

    async def main() -> None:
        async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
            if runner:
                await gw.start_runner(embedded_processor())
            await asyncio.wait_for(scenario(gw), 600)

    asyncio.run(main())


def _stored(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "storage").rglob("*") if p.is_file()]


async def _submit(
    api: httpx.AsyncClient, fields: dict[str, str], **files: list[tuple[str, bytes, str]]
) -> httpx.Response:
    """One photo, the form ``fields`` and any other file fields."""
    parts: list[tuple[str, tuple[str, bytes, str]]] = [
        ("images", ("shot.jpg", photo_bytes(SIDE), "image/jpeg"))
    ]
    for name, entries in files.items():
        parts += [(name, entry) for entry in entries]
    return await api.post("/v1/jobs", files=parts, data=fields)


# --- refused before anything is stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "files", "status", "code"),
    [
        (
            {"ops": "extract"},
            {"masks": [("m.png", _mask((0, 0, 9, 9)), "image/png")]},
            422,
            "bad_option",
        ),
        (
            {"ops": "clean"},
            {"masks": [("m.png", _mask((0, 0, 9, 9)), "image/png")] * 2},
            422,
            "bad_mask",
        ),
        (
            {"ops": "clean"},
            {"masks": [("m.png", _mask((0, 0, 9, 9), (400, 300)), "image/png")]},
            422,
            "bad_mask",
        ),
        (
            {"ops": "clean"},
            {"keep_masks": [("m.png", b"not an image", "image/png")]},
            422,
            "bad_mask",
        ),
        (
            {"ops": "remix", "style": "minimal-grey"},
            {"background": [("b.png", _background(), "image/png")]},
            422,
            "bad_option",
        ),
        (
            {"ops": "extract"},
            {"background": [("b.png", _background(), "image/png")]},
            422,
            "bad_option",
        ),
        (
            {"ops": "remix"},
            {"background": [("b.png", b"GIF89a", "image/gif")]},
            415,
            "unsupported_format",
        ),
        ({"ops": "extract", "keywords": "mug"}, {}, 422, "bad_option"),
        ({"ops": "copy", "copy_platforms": "amazon,myspace"}, {}, 422, "unknown_platform"),
        ({"ops": "copy", "facts": "cotton"}, {}, 422, "bad_option"),
        (
            {"ops": "extract"},
            {"thumbnails": [("t.png", _background(), "image/png")]},
            422,
            "validation_error",
        ),
    ],
)
def test_bad_edits_at_upload_are_refused_with_stable_codes_and_nothing_stored(
    tmp_path: Path,
    nats_url: str,
    fields: dict[str, str],
    files: dict[str, list[tuple[str, bytes, str]]],
    status: int,
    code: str,
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            response = await _submit(api, fields, **files)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, response.json()
        assert _stored(tmp_path) == []

    _run(tmp_path, nats_url, scenario, runner=False)


# --- style previews ----------------------------------------------------------------------


def test_style_previews_are_public_cacheable_jpegs(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api, gw.client(tenant=None) as anonymous:
            styles = [s["id"] for s in (await api.get("/v1/styles")).json()]
            for style in styles:
                response = await anonymous.get(f"/v1/styles/{style}/preview")
                assert response.status_code == 200, style
                assert response.headers["content-type"] == "image/jpeg"
                assert "max-age" in response.headers["cache-control"]
                with Image.open(io.BytesIO(response.content)) as image:
                    assert image.format == "JPEG"
            etag = response.headers["etag"]
            again = await anonymous.get(
                f"/v1/styles/{styles[-1]}/preview", headers={"If-None-Match": etag}
            )
            assert again.status_code == 304 and again.content == b""
            missing = await anonymous.get("/v1/styles/neon-jungle/preview")
            assert missing.status_code == 404 and missing.json()["code"] == "unknown_style"

    _run(tmp_path, nats_url, scenario, runner=False)


# --- the whole editing flow --------------------------------------------------------------


async def _result(api: httpx.AsyncClient, job: dict[str, Any], candidate: int = 1) -> np.ndarray:
    url = job["images"][0]["outputs"][candidate - 1]["url"]
    response = await api.get(url)
    assert response.status_code == 200
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


async def _rerun(
    api: httpx.AsyncClient, path: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST a re-run; (the 202 body, the job once finished)."""
    response = await api.post(path, **kwargs)
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/jobs/{body['id']}"
    assert body["image_count"] == 1
    return body, await job_finished(api, body["id"], 300)


def test_masks_copy_inputs_and_reruns_end_to_end(tmp_path: Path, nats_url: str) -> None:
    painted = _mask((40, 40, 120, 90))  # a corner of the table: erased too

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api, gw.client("tenant-b") as other:
            fields = {
                "ops": "clean,extract,remix,copy",
                "style": "minimal-grey",
                "keywords": "storage box, desk organizer",
                "facts": "material=plastic, size=M",
                "copy_platforms": "ebay,amazon",
            }
            submitted = await _submit(api, fields, masks=[("strokes.png", painted, "image/png")])
            assert submitted.status_code == 202, submitted.text
            first = await job_finished(api, submitted.json()["id"], 300)
            assert first["status"] == "completed", first
            options = first["options"]
            assert options["keywords"] == ["storage box", "desk organizer"]
            assert options["facts"] == "material=plastic, size=M"
            assert options["copy_platforms"] == ["ebay", "amazon"]
            assert first["rerun_of"] is None
            report = first["images"][0]["report"]
            assert [c["platform"] for c in report["copies"]] == ["ebay", "amazon"]
            assert report["copy"]["platform"] == "ebay"
            assert all(len(c["variants"]) == 5 for c in report["copies"])

            # The same photo without the brush is another result: never served from the
            # cache entry of the masked one.
            plain = await _submit(api, fields)
            assert plain.json()["images"][0]["cached"] is False
            await job_finished(api, plain.json()["id"], 300)

            job_id = first["id"]
            base = f"/v1/jobs/{job_id}/images/0"

            # -- adjust: brighter, the job it came from unchanged --
            before = await _result(api, first)
            body, brighter = await _rerun(
                api, f"{base}/adjust", json={"candidate": 0, "brightness": 0.6}
            )
            assert body["rerun_of"] == {"job_id": job_id, "image": 0}
            assert body["options"]["ops"] == ["adjust"]
            assert body["options"]["adjust"]["brightness"] == 0.6
            assert brighter["status"] == "completed", brighter
            after = await _result(api, brighter)
            assert after.shape == before.shape
            assert after.mean() > before.mean() + 5
            assert (await api.get(f"/v1/jobs/{job_id}")).json() == first
            # strength blends toward the upload (same aspect: no marketplace frame)
            _, blended = await _rerun(api, f"{base}/adjust", json={"candidate": 0, "strength": 0.3})
            assert blended["status"] == "completed", blended

            # -- retry: the same photo, options and brush: the result cache answers --
            _, retried = await _rerun(api, f"{base}/retry")
            assert retried["images"][0]["cached"] is True
            assert retried["rerun_of"] == {"job_id": job_id, "image": 0}

            # -- clean again: protect a corner, erase the report's first line if any --
            keep = _mask((0, 0, 64, 64))
            form: dict[str, Any] = {"keep_mask": ("keep.png", keep, "image/png")}
            if report["texts"]:
                form["erase_texts"] = (None, "0")
            _, cleaned = await _rerun(api, f"{base}/clean", files=form)
            assert cleaned["status"] == "completed", cleaned
            assert cleaned["options"]["ops"] == ["clean", "extract", "remix", "copy"]

            # -- refused: with codes, and another tenant cannot see the image at all --
            for path, kwargs, status, code in (
                (f"{base}/adjust", {"json": {"candidate": 3}}, 422, "bad_option"),
                (f"{base}/adjust", {"json": {"brightness": 2}}, 422, "validation_error"),
                (f"{base}/adjust", {"json": {"strength": False}}, 422, "validation_error"),
                (f"{base}/clean", {"files": {"erase_texts": (None, "")}}, 422, "bad_option"),
                (f"{base}/clean", {"files": {"erase_texts": (None, "a")}}, 422, "bad_option"),
                (f"{base}/clean", {"files": {"erase_texts": (None, "99")}}, 422, "bad_option"),
                (f"{base}/clean", {"data": {"erase_texts": "0"}}, 415, "unsupported_media_type"),
                (f"/v1/jobs/{job_id}/images/5/retry", {}, 404, "image_not_found"),
            ):
                refused = await api.post(path, **kwargs)
                assert refused.status_code == status, (path, kwargs, refused.text)
                assert refused.json()["code"] == code, (path, refused.json())
            for path in (f"{base}/retry", f"{base}/adjust"):
                denied = await other.post(path, json={})
                assert denied.status_code == 404 and denied.json()["code"] == "job_not_found"

            # -- the seller's own background in place of a style --
            own = await _submit(
                api,
                {"ops": "extract,remix"},
                background=[("garden.png", _background(), "image/png")],
            )
            assert own.status_code == 202, own.text
            on_own = await job_finished(api, own.json()["id"], 300)
            assert on_own["status"] == "completed", on_own
            assert on_own["options"]["background"] is True and on_own["options"]["style"] is None
            result = await _result(api, on_own)
            # the sky's blue shows where the table was
            assert result[5, 5, 2] > result[5, 5, 0] + 40

    _run(tmp_path, nats_url, scenario, runner=True)


def test_adjust_strength_needs_the_originals_framing(tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            submitted = await _submit(api, {"ops": "extract,resize", "platform": "tiktok"})
            job = await job_finished(api, submitted.json()["id"], 300)
            assert job["status"] == "completed", job
            base = f"/v1/jobs/{job['id']}/images/0"
            refused = await api.post(f"{base}/adjust", json={"strength": 0.5})
            assert refused.status_code == 422 and refused.json()["code"] == "bad_option"
            assert "framed for a marketplace" in refused.json()["detail"]
            _, sharper = await _rerun(api, f"{base}/adjust", json={"detail": 0.5})
            assert sharper["status"] == "completed", sharper
            w, h = job["images"][0]["report"]["width"], job["images"][0]["report"]["height"]
            assert (await _result(api, sharper)).shape[:2] == (h, w)

    _run(tmp_path, nats_url, scenario, runner=True)

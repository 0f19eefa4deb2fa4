"""Result downloads: one image, or the whole job as a ZIP streamed while it is built."""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from globalpic_common.quantities import INT32_MAX
from globalpic_gateway.api import views
from globalpic_gateway.api.deps import ReaderDep, StateDep, require_job
from globalpic_gateway.api.downloads import content_disposition, safe_name
from globalpic_gateway.api.stored_object import Download, download
from globalpic_gateway.api.zipstream import zip_entries
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError, problem_responses
from globalpic_jobs import state as job_state
from globalpic_jobs.models import ImageState, JobImage, JobStatus
from globalpic_jobs.options import MAX_CANDIDATES

router = APIRouter(prefix="/v1/jobs", tags=["results"])

_IMAGE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The result image",
        "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
    },
    206: {
        "description": "The bytes of a `Range: bytes=a-b` request (`Content-Range`)",
        "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
    },
    304: {"description": "Not modified: `If-None-Match` names this file's `ETag`"},
}
_ZIP_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every result of the job plus report.json (the job as GET returns it)",
        "content": {"application/zip": {}},
    }
}


def _output_name(image: JobImage, candidate: int, key: str, stem: str | None = None) -> str:
    """``NNN_<upload stem>[_k].<ext>``; ``stem`` replaces the upload's stem."""
    stem = stem or safe_name(PurePath(image.filename).stem) or f"image-{image.index}"
    ext = key.rsplit(".", 1)[-1]
    suffix = f"_{candidate}" if len(image.outputs) > 1 else ""
    return f"{image.index:03d}_{stem}{suffix}.{ext}"


@router.get(
    "/{job_id}/images/{index}/result",
    summary="Download one image's result",
    response_class=StreamingResponse,
    responses={**_IMAGE_DOC, **problem_responses(401, 404, 409, 416)},
)
async def image_result(
    job_id: str,
    request: Request,
    state: StateDep,
    tenant: ReaderDep,
    index: Annotated[int, Path(ge=0, le=INT32_MAX, description="0-based image index in the job")],
    candidate: Annotated[
        int,
        Query(ge=1, le=MAX_CANDIDATES, description="Which remix candidate (1-based)"),
    ] = 1,
) -> Response:
    def locate() -> tuple[JobImage, str]:
        with Session(state.engine) as session:
            require_job(session, tenant.id, job_id)
            image = job_state.get_image(session, job_id, index)
        if image is None:
            raise ApiError(404, problems.IMAGE_NOT_FOUND, f"job {job_id} has no image {index}")
        if image.state == ImageState.FAILED.value:
            raise ApiError(
                409,
                problems.IMAGE_FAILED,
                f"image {index} failed: {image.error_message or image.error_code}",
                error_code=image.error_code,
            )
        if image.state != ImageState.COMPLETED.value:
            raise ApiError(
                409, problems.RESULT_NOT_READY, f"image {index} is {image.state}; not done yet"
            )
        if not 1 <= candidate <= len(image.outputs):
            raise ApiError(
                404,
                problems.IMAGE_NOT_FOUND,
                f"image {index} has {len(image.outputs)} candidate(s), not {candidate}",
            )
        return image, image.outputs[candidate - 1]

    image, key = await asyncio.to_thread(locate)
    filename = _output_name(image, candidate, key)
    # for clients that only read the ASCII filename, when the upload's name has no ASCII letter
    fallback_stem = _output_name(image, candidate, key, stem="image").rsplit(".", 1)[0]
    disposition = content_disposition(filename, default_stem=fallback_stem)
    return await download(
        request,
        state.storage,
        Download(tenant.id, key, views.content_type_of(key), {"Content-Disposition": disposition}),
    )


@router.get(
    "/{job_id}/images/{index}/original",
    summary="Download an image as it was uploaded",
    description="The upload itself, whatever the image's state: what the web app's "
    "before / after slider compares a result with.",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The original upload",
            "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
        },
        206: _IMAGE_DOC[206],
        304: _IMAGE_DOC[304],
        **problem_responses(401, 404, 416),
    },
)
async def image_original(
    job_id: str,
    request: Request,
    state: StateDep,
    tenant: ReaderDep,
    index: Annotated[int, Path(ge=0, le=INT32_MAX, description="0-based image index in the job")],
) -> Response:
    def locate() -> JobImage:
        with Session(state.engine) as session:
            require_job(session, tenant.id, job_id)
            image = job_state.get_image(session, job_id, index)
        if image is None:
            raise ApiError(404, problems.IMAGE_NOT_FOUND, f"job {job_id} has no image {index}")
        return image

    image = await asyncio.to_thread(locate)
    ext = image.original_key.rsplit(".", 1)[-1]
    stem = safe_name(PurePath(image.filename).stem) or f"image-{index}"
    return await download(
        request,
        state.storage,
        Download(
            tenant.id,
            image.original_key,
            image.content_type,
            {
                "Content-Disposition": content_disposition(
                    f"{index:03d}_{stem}_original.{ext}", default_stem=f"{index:03d}_image_original"
                )
            },
        ),
    )


@router.get(
    "/{job_id}/results.zip",
    summary="Download every result of a finished job as one ZIP",
    response_class=StreamingResponse,
    responses={**_ZIP_DOC, **problem_responses(401, 404, 409)},
)
async def results_zip(job_id: str, state: StateDep, tenant: ReaderDep) -> StreamingResponse:
    def load() -> tuple[list[tuple[str, str]], bytes, Any]:
        with Session(state.engine) as session:
            job = require_job(session, tenant.id, job_id)
            if job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
                raise ApiError(
                    409,
                    problems.RESULT_NOT_READY,
                    f"job {job_id} is {job.status}; the ZIP is ready when every image is done",
                )
            images = job_state.job_images(session, job_id)
            report = views.job_out(job, images).model_dump_json(indent=2).encode()
            entries = [
                (_output_name(image, k, key), key)
                for image in images
                if image.state == ImageState.COMPLETED.value
                for k, key in enumerate(image.outputs, start=1)
            ]
            return entries, report, job.created_at

    entries, report, created = await asyncio.to_thread(load)
    return StreamingResponse(
        zip_entries(state.storage, tenant.id, entries, [("report.json", report)], created),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(f"globalpic-{job_id}.zip")},
    )

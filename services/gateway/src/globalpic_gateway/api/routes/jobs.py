"""``/v1/jobs``: submit a batch, list the tenant's jobs, read one job."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session

from globalpic_common.platforms import platform_ids
from globalpic_common.quantities import INT64_MAX
from globalpic_common.schemas import OP_ORDER
from globalpic_common.styles import style_ids
from globalpic_common.tracing import tracer
from globalpic_gateway import crud, lifecycle
from globalpic_gateway.api import signed_urls, views
from globalpic_gateway.api.deps import ReaderDep, StateDep, WriterDep, job_not_found
from globalpic_gateway.api.signed_urls import SignedUrl
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError, problem_responses
from globalpic_gateway.schemas import JobOut, JobPage
from globalpic_gateway.submit import submit_job
from globalpic_jobs.models import Job, JobStatus
from globalpic_jobs.options import DEFAULT_OPS, DEFAULT_PLATFORM, DEFAULT_STYLE, MAX_CANDIDATES

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

# The body is parsed by our streaming parser (limits enforced as bytes arrive), not by
# FastAPI, so its schema is given to OpenAPI by hand.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["images"],
                    "properties": {
                        "images": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                            "description": "One or more JPEG / PNG / WEBP photos (repeat the "
                            "field). At most 50 per job (500 on the enterprise plan), each at "
                            "most 20 MB and at least 512 px on a side.",
                        },
                        "ops": {
                            "type": "string",
                            "default": DEFAULT_OPS,
                            "example": "clean,extract,remix,resize",
                            "description": "Comma list of "
                            + ", ".join(op.value for op in OP_ORDER)
                            + "; they run in that order whatever order they are given in",
                        },
                        "style": {
                            "type": "string",
                            "enum": style_ids(),
                            "default": DEFAULT_STYLE,
                            "description": "remix: the background style (GET /v1/styles)",
                        },
                        "platform": {
                            "type": "string",
                            "enum": platform_ids(),
                            "default": DEFAULT_PLATFORM,
                            "description": "resize: the marketplace frame (GET /v1/platforms); "
                            "its rules are checked on the result",
                        },
                        "candidates": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_CANDIDATES,
                            "default": 1,
                            "description": "remix: distinct variants per image",
                        },
                    },
                },
                "encoding": {"images": {"contentType": "image/jpeg, image/png, image/webp"}},
            }
        },
    }
}


def _job_response(job_out: JobOut, status: int, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(job_out.model_dump(mode="json"), status_code=status, headers=headers)


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    summary="Submit a batch of photos",
    description="Stores the originals under your tenant, queues one work item per image and "
    "answers at once with the job (status `queued`). Follow progress at `links.events` (SSE), "
    "poll `links.self`, download from each image's `outputs` or `links.results_zip`. The same "
    "`Idempotency-Key` with the same request returns the same job (header "
    "`Idempotent-Replayed: true`); with a different request it is refused "
    "(`idempotency_key_reused`). Images whose identical input and options you processed within "
    "the cache TTL are answered from the result cache (`cached: true`).",
    openapi_extra=_UPLOAD_BODY,
    responses={
        202: {
            "description": "Accepted: the job",
            "headers": {"Location": {"description": "Job URL", "schema": {"type": "string"}}},
        },
        **problem_responses(400, 401, 402, 403, 413, 415, 422, 429, 503),
    },
)
async def create_job(
    request: Request,
    state: StateDep,
    tenant: WriterDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Any unique string (a UUID); a retry with the same key returns the "
            "same job instead of creating another",
        ),
    ] = None,
) -> JSONResponse:
    # The span's context travels in each work message's headers: the runner's span joins it.
    with tracer().start_as_current_span("gateway.submit_job") as span:
        span.set_attribute("globalpic.tenant_id", tenant.id)
        submission = await submit_job(state, tenant, request, idempotency_key)
        span.set_attribute("globalpic.job_id", submission.job.id)
    headers = {"Location": views.job_path(submission.job.id)}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _job_response(views.job_out(submission.job, submission.images), 202, headers)


def _cursor(job: Job) -> str:
    """An opaque position after ``job``: its creation time and id, base64url."""
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), job_id
    except ValueError:
        raise ApiError(
            422, problems.BAD_CURSOR, "cursor is not one this API gave (take next_cursor as is)"
        ) from None


def _parse_time(text: str) -> datetime:
    """ISO 8601 with a time zone; a bare number (Unix time?) or a naive time is refused."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ApiError(
            422,
            problems.VALIDATION_ERROR,
            f"created_after {text!r}: give an ISO 8601 time with its zone, "
            "e.g. 2026-12-01T00:00:00Z",
        )
    return when


@router.get(
    "",
    response_model=JobPage,
    summary="Your jobs, newest first",
    description="Page with `cursor` (the previous page's `next_cursor`: stable while jobs are "
    "added) or with `offset`; filter by `status` and `created_after`.",
    responses=problem_responses(401, 422),
)
async def list_jobs(
    state: StateDep,
    tenant: ReaderDep,
    limit: Annotated[int | None, Query(ge=1, le=100, description="Page size")] = None,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX, description="Jobs to skip")] = 0,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="`next_cursor` of the previous page"),
    ] = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status")] = None,
    created_after: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Only jobs created after this time: ISO 8601 with a time zone, "
            "e.g. 2026-12-01T00:00:00Z",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> JobPage:
    size = limit or state.settings.page_size
    if cursor is not None and offset:
        raise ApiError(422, problems.BAD_CURSOR, "give cursor or offset, not both")
    where = crud.JobFilter(
        status=status.value if status else None,
        created_after=_parse_time(created_after) if created_after is not None else None,
        before=_parse_cursor(cursor) if cursor is not None else None,
    )

    def load() -> JobPage:
        with Session(state.engine) as session:
            jobs, total, more = crud.list_jobs(session, tenant.id, size, offset, where)
            counts = crud.image_counts(session, [job.id for job in jobs])
            return JobPage(
                items=[views.summary(job, counts[job.id]) for job in jobs],
                total=total,
                limit=size,
                offset=offset,
                next_cursor=_cursor(jobs[-1]) if more and jobs else None,
            )

    return await asyncio.to_thread(load)


@router.get(
    "/{job_id}",
    response_model=JobOut,
    summary="One job: status, each image's state, outputs and checks",
    responses=problem_responses(401, 404),
)
async def get_job(job_id: str, request: Request, state: StateDep, tenant: ReaderDep) -> Response:
    # The route clients poll. The body is JobOut's JSON, rendered by views.job_json (finished
    # images come rendered from a cache) and returned as is: FastAPI would otherwise validate
    # and encode the whole JobOut again (response_model stays for the OpenAPI document).
    base_url = str(request.base_url)

    def sign(key: str) -> SignedUrl | None:
        # In load's worker thread: signing may wait on the storage service (cached per URL).
        signed = state.signed_urls.sign(tenant.id, key)
        if signed is None:
            return None
        return SignedUrl(signed_urls.absolute(signed.url, base_url), signed.expires_at)

    def load() -> bytes:
        with state.read_engine.connect() as conn:
            job = crud.read_job(conn, tenant.id, job_id)
            if job is None:
                raise job_not_found(job_id)
            return views.job_json(
                job,
                crud.read_images_for_view(conn, job_id),
                lambda ids: crud.image_reports(conn, ids),
                state.finished_images,
                sign,
            )

    return Response(await asyncio.to_thread(load), media_type="application/json")


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    summary="Cancel a job",
    description="Images not started yet fail at once with code `canceled`; a running one stops "
    "at its next stage. Their holds on your plan are given back; the events stream ends with "
    "`completed` as usual. A finished job: 409 `job_finished`.",
    responses=problem_responses(401, 403, 404, 409),
)
async def cancel_job(job_id: str, request: Request, state: StateDep, tenant: WriterDep) -> Response:
    await lifecycle.cancel_job(state, tenant.id, job_id)
    return await get_job(job_id, request, state, tenant)


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a job and its files",
    description="Cancels what is left of it, then removes the job, its images' rows and the "
    "stored originals, masks and results no other job of yours uses (identical uploads are "
    "stored once). Afterwards the job is 404 everywhere.",
    responses=problem_responses(401, 403, 404),
)
async def delete_job(job_id: str, state: StateDep, tenant: WriterDep) -> Response:
    await lifecycle.delete_job(state, tenant.id, job_id)
    return Response(status_code=204)

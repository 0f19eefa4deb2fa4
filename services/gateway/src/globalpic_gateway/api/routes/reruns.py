"""Re-runs of one image (``globalpic_gateway.reruns``): each answers like ``POST /v1/jobs``,
with a new job of one image whose ``rerun_of`` names the image it came from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from globalpic_common.quantities import INT32_MAX
from globalpic_gateway import reruns
from globalpic_gateway.api import views
from globalpic_gateway.api.deps import StateDep, WriterDep
from globalpic_gateway.core.problems import problem_responses
from globalpic_gateway.core.uploads import UploadLimits, parse_upload
from globalpic_gateway.schemas import AdjustmentOut, JobOut
from globalpic_gateway.submit import Submission
from globalpic_jobs.options import Adjustment

router = APIRouter(prefix="/v1/jobs", tags=["re-runs"])

IndexPath = Annotated[int, Path(ge=0, le=INT32_MAX, description="0-based image index in the job")]

_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: the re-run, a new job of one image (follow it as any job)",
        "headers": {"Location": {"description": "Job URL", "schema": {"type": "string"}}},
    }
}
_RERUN_NOTE = (
    " The re-run is a new job of one image (`rerun_of` names this one), held against your "
    "plan and billed as one image like any other; the job it came from is not changed."
)
_CLEAN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "mask": {
                            "type": "string",
                            "format": "binary",
                            "description": "Brush: white = erase this too (PNG / JPEG, the "
                            "photo's aspect ratio, any resolution)",
                        },
                        "keep_mask": {
                            "type": "string",
                            "format": "binary",
                            "description": "Brush: white = never touch this",
                        },
                        "erase_texts": {
                            "type": "string",
                            "example": "0,3",
                            "description": "0-based indices into the image's report.texts to "
                            "erase (e.g. the lines kept on doubt, action kept_uncertain)",
                        },
                    },
                },
            }
        },
    }
}


def _accepted(submission: Submission) -> JSONResponse:
    body = views.job_out(submission.job, submission.images).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": views.job_path(body["id"])})


@router.post(
    "/{job_id}/images/{index}/adjust",
    status_code=202,
    response_model=JobOut,
    summary="Fine-tune one result: brightness, saturation, detail, style strength",
    description="Applies the fine-tuning values to one of the image's results (`candidate`, "
    "0-based) on the server, as the web app's sliders preview them." + _RERUN_NOTE,
    responses={**_ACCEPTED, **problem_responses(401, 402, 403, 404, 409, 422, 429, 503)},
)
async def adjust_image(
    job_id: str, index: IndexPath, values: AdjustmentOut, state: StateDep, tenant: WriterDep
) -> JSONResponse:
    adjustment = Adjustment(**values.model_dump())
    return _accepted(await reruns.adjust(state, tenant, job_id, index, adjustment))


@router.post(
    "/{job_id}/images/{index}/clean",
    status_code=202,
    response_model=JobOut,
    summary="Clean one image again with brush masks or chosen text lines",
    description="Runs the image's ops again with `clean` (added when the job had none), "
    "erasing what `mask` paints and the `erase_texts` lines on top of what was erased before, "
    "never touching what `keep_mask` paints." + _RERUN_NOTE,
    openapi_extra=_CLEAN_BODY,
    responses={**_ACCEPTED, **problem_responses(400, 401, 402, 403, 404, 409, 413, 415, 422)},
)
async def clean_image(
    job_id: str, index: IndexPath, request: Request, state: StateDep, tenant: WriterDep
) -> JSONResponse:
    limits = UploadLimits(
        max_file_bytes=state.settings.image_limits().max_bytes,
        max_files=0,
        other_files=(("mask", 1), ("keep_mask", 1)),
    )
    upload = await parse_upload(request, limits)
    try:
        mask, keep = (upload.others.get(name) for name in ("mask", "keep_mask"))
        submission = await reruns.clean(
            state,
            tenant,
            job_id,
            index,
            mask=mask[0].read() if mask else None,
            keep_mask=keep[0].read() if keep else None,
            erase_texts=reruns.parse_indices(upload.fields.get("erase_texts", "")),
        )
    finally:
        upload.close()
    return _accepted(submission)


@router.post(
    "/{job_id}/images/{index}/retry",
    status_code=202,
    response_model=JobOut,
    summary="Run one image again as it was asked for",
    description="The same photo, options and masks again: for an image that failed, or "
    "another try." + _RERUN_NOTE,
    responses={**_ACCEPTED, **problem_responses(401, 402, 403, 404, 429, 503)},
)
async def retry_image(
    job_id: str, index: IndexPath, state: StateDep, tenant: WriterDep
) -> JSONResponse:
    return _accepted(await reruns.retry(state, tenant, job_id, index))

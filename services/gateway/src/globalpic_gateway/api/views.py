"""Rows -> response models: the one place that decides what a client sees of a job."""

from __future__ import annotations

from globalpic_common.schemas import ErrorInfo, ImageReport, RuleResult
from globalpic_gateway.models import ImageState, Job, JobImage, JobStatus
from globalpic_gateway.schemas import (
    ImageOut,
    JobLinks,
    JobOptionsOut,
    JobOut,
    JobSummary,
    OutputOut,
)

_EXT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def job_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def result_path(job_id: str, index: int, candidate: int = 1) -> str:
    suffix = f"?candidate={candidate}" if candidate > 1 else ""
    return f"{job_path(job_id)}/images/{index}/result{suffix}"


def _links(job_id: str) -> JobLinks:
    base = job_path(job_id)
    return JobLinks(self=base, events=f"{base}/events", results_zip=f"{base}/results.zip")


def summary(job: Job, counts: dict[str, int]) -> JobSummary:
    return JobSummary(
        id=job.id,
        status=JobStatus(job.status),
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        options=JobOptionsOut(
            ops=job.ops.split(","),
            style=job.style,
            platform=job.platform,
            candidates=job.candidates,
        ),
        image_count=job.image_count,
        counts=counts,
        links=_links(job.id),
    )


def content_type_of(key: str) -> str:
    return _EXT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def image_out(image: JobImage) -> ImageOut:
    report = ImageReport.model_validate(image.report) if image.report else None
    checks: list[RuleResult] = report.checks if report else []
    if report is not None:
        # Storage keys are an internal detail: a client downloads through the result URLs.
        report = report.model_copy(update={"output": None, "outputs": []})
    outputs = [
        OutputOut(
            candidate=k,
            url=result_path(image.job_id, image.index, k),
            content_type=content_type_of(key),
        )
        for k, key in enumerate(image.outputs, start=1)
    ]
    error = (
        ErrorInfo(code=image.error_code, message=image.error_message or "")
        if image.error_code
        else None
    )
    return ImageOut(
        index=image.index,
        filename=image.filename,
        state=ImageState(image.state),
        stage=image.stage,
        percent=image.percent,
        cached=image.cached,
        attempts=image.attempts,
        width=image.width,
        height=image.height,
        outputs=outputs,
        checks=checks,
        report=report,
        error=error,
    )


def job_out(job: Job, images: list[JobImage]) -> JobOut:
    counts = {state.value: 0 for state in ImageState}
    for image in images:
        counts[image.state] += 1
    base = summary(job, counts)
    return JobOut(**base.model_dump(), images=[image_out(image) for image in images])

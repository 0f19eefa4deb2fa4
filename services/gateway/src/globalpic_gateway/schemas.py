"""Wire schemas of the gateway: REST responses, NATS work messages and job events.

The per-image report and the progress stage come from ``globalpic_common.schemas`` (one set of
models for the CLI's ``--json``, the REST API, SSE and NATS); the models here add what only a
job has: its id, tenant, state, ETA and download links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common.schemas import (
    ErrorInfo,
    ImageReport,
    Op,
    RuleResult,
)
from globalpic_jobs.models import ImageState, JobStatus


class AdjustmentOut(BaseModel):
    """Fine-tuning values (``POST /v1/jobs/{id}/images/{n}/adjust``)."""

    # Numbers only: lax parsing would take `"strength": false` as 0 and blend the whole
    # background away.
    model_config = ConfigDict(strict=True)

    candidate: int = Field(0, ge=0, description="0-based: which result of the image to tune")
    brightness: float = Field(0.0, ge=-1.0, le=1.0, description="-1 darker .. 1 brighter")
    saturation: float = Field(0.0, ge=-1.0, le=1.0, description="-1 grey .. 1 more vivid")
    detail: float = Field(0.0, ge=-1.0, le=1.0, description="-1 smoother .. 1 sharper")
    strength: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Style strength: 1 keeps the new background, lower blends it back toward "
        "the original photo (the product is never blended); needs a result with the "
        "original's aspect ratio",
    )


class JobOptionsOut(BaseModel):
    ops: list[Op | Literal["adjust"]] = Field(
        description='The ops the job runs, in the order they run (an adjust re-run: ["adjust"])'
    )
    style: str | None
    platform: str | None
    candidates: int
    keywords: list[str] = Field(default_factory=list, description="copy: the seller's keywords")
    facts: str = Field("", description="copy: the seller's facts, name=value pairs")
    copy_platforms: list[str] = Field(
        default_factory=list, description="copy: the marketplaces written for (empty: default)"
    )
    background: bool = Field(False, description="remix: on the seller's own background file")
    adjust: AdjustmentOut | None = Field(None, description="An adjust re-run's values")


class RerunOf(BaseModel):
    """The image a re-run (adjust / clean / retry) was made from."""

    job_id: str
    image: int = Field(description="0-based index of the image in that job")


class OutputOut(BaseModel):
    candidate: int = Field(description="1-based candidate number")
    url: str = Field(description="Download path of this result image (needs your credentials)")
    content_type: str
    signed_url: str | None = Field(
        None,
        description="An absolute URL that downloads this result without credentials until "
        "signed_url_expires_at (presigned S3 in production): hand it to a browser or a "
        "marketplace as is. Set by GET /v1/jobs/{id} only (not the job list, events or the "
        "submission's answer); null there too where signing is off or storage could not sign "
        "(download from url then). An image with no result yet has no outputs at all",
    )
    signed_url_expires_at: datetime | None = Field(
        None, description="When signed_url stops working; poll the job again for a fresh one"
    )


class ImageOut(BaseModel):
    index: int = Field(description="0-based position in the upload")
    filename: str
    state: ImageState
    stage: str | None
    percent: int
    cached: bool
    attempts: int
    width: int
    height: int
    outputs: list[OutputOut]
    checks: list[RuleResult] = Field(description="Marketplace rules checked on the result")
    report: ImageReport | None
    error: ErrorInfo | None


class JobLinks(BaseModel):
    self: str
    events: str
    results_zip: str


class JobSummary(BaseModel):
    id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    options: JobOptionsOut
    image_count: int
    counts: dict[str, int] = Field(
        description="Images per state: queued, running, completed, failed"
    )
    links: JobLinks
    rerun_of: RerunOf | None = Field(
        None, description="Set on a re-run: the job and image it was made from"
    )


class JobOut(JobSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a",
                    "status": "running",
                    "created_at": "2026-01-05T10:00:00Z",
                    "updated_at": "2026-01-05T10:00:02Z",
                    "finished_at": None,
                    "options": {
                        "ops": ["clean", "extract", "remix", "resize"],
                        "style": "amazon-white",
                        "platform": "amazon",
                        "candidates": 1,
                    },
                    "image_count": 1,
                    "counts": {"queued": 0, "running": 1, "completed": 0, "failed": 0},
                    "links": {
                        "self": "/v1/jobs/5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a",
                        "events": "/v1/jobs/5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a/events",
                        "results_zip": "/v1/jobs/5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a/results.zip",
                    },
                    "images": [
                        {
                            "index": 0,
                            "filename": "mug.jpg",
                            "state": "running",
                            "stage": "extract",
                            "percent": 50,
                            "cached": False,
                            "attempts": 1,
                            "width": 800,
                            "height": 800,
                            "outputs": [],
                            "checks": [],
                            "report": None,
                            "error": None,
                        }
                    ],
                }
            ]
        }
    )

    images: list[ImageOut]


class JobPage(BaseModel):
    items: list[JobSummary]
    total: int = Field(description="The tenant's jobs matching the filters, in all")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    checks: dict[str, str] = Field(
        default_factory=dict, examples=[{"database": "ok", "nats": "ok"}]
    )

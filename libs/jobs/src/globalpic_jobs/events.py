"""The messages on the job queue: a work item, and the events of a job.

``ImageProgress`` and ``JobCompleted`` are what the orchestrator publishes and the gateway
relays (SSE) and serves (OpenAPI documents them): one schema on both sides of the stream.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common.schemas import ErrorInfo, ProgressEvent, TextRegion
from globalpic_jobs.models import ImageState, JobStatus


class WorkMessage(BaseModel):
    """One image to process: the JetStream work-queue payload (``globalpic.work.<job>.<n>``)."""

    job_id: str
    tenant_id: str
    image: int = Field(description="0-based index of the image in the job")


class ImageProgress(ProgressEvent):
    """``globalpic.jobs.<id>.progress``: one image entered a stage (SSE event ``progress``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "input": "mug.jpg",
                    "stage": "remix",
                    "percent": 75,
                    "job_id": "5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a",
                    "tenant_id": "acme",
                    "image": 0,
                    "state": "running",
                    "eta_seconds": 1.4,
                    "error": None,
                }
            ]
        }
    )

    job_id: str
    tenant_id: str
    image: int
    state: ImageState
    eta_seconds: float | None = Field(
        None, description="Estimated seconds until this image is done; null when unknown"
    )
    error: ErrorInfo | None = None
    cached: bool = Field(
        False,
        description="Stage `done`: the result came from the team's result cache (not billed)",
    )
    uncertain_texts: list[TextRegion] = Field(
        default_factory=list,
        description="Stage `done` of a completed image: the text lines clean kept on doubt "
        "(action `kept_uncertain`) with their cues, to offer as a one-click erase; the job "
        "view's report lists them too",
    )


class JobCompleted(BaseModel):
    """``globalpic.jobs.<id>.completed``: every image of the job is finished (SSE ``completed``).

    Published once per job (billing meters usage from it, keyed by job id)."""

    job_id: str
    tenant_id: str
    status: JobStatus
    images: int
    completed: int
    failed: int
    cached: int = Field(description="Images whose result came from the result cache")
    finished_at: datetime

"""SQLModel tables: jobs, their images, idempotency keys and the result cache.

Every row carries its tenant, and every query filters on it. The gateway writes a job and its
images at submission; the orchestrator moves the images through their states.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from globalpic_db.clock import utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"  # no image started yet
    RUNNING = "running"  # at least one image started, not all finished
    COMPLETED = "completed"  # every image finished, at least one succeeded
    FAILED = "failed"  # every image failed


class ImageState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (ImageState.COMPLETED, ImageState.FAILED)


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (sa.Index("ix_job_tenant_created", "tenant_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    status: str = Field(default=JobStatus.QUEUED.value, max_length=16)
    ops: str = Field(max_length=64, description="Comma list in pipeline order")
    style: str | None = Field(default=None, max_length=64)
    platform: str | None = Field(default=None, max_length=64)
    candidates: int = 1
    options_hash: str = Field(max_length=64)
    image_count: int
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # Set once the `completed` event is in the events stream, so a redelivered message of a
    # finished job does not publish it again.
    completed_event_sent: bool = False
    # The options beyond the columns above (copy inputs, the seller's background, fine-tuning
    # values): JobOptions.extras(), read back by job_options().
    extras: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # POST /v1/jobs/{id}/cancel: queued images failed at once, running ones at their next stage.
    canceled_at: datetime | None = None
    # A re-run (adjust / clean / retry of one image) is a job of its own, pointing here.
    parent_job_id: str | None = Field(default=None, max_length=32)
    parent_image: int | None = None


class JobImage(SQLModel, table=True):
    __tablename__ = "job_image"
    __table_args__ = (sa.UniqueConstraint("job_id", "index", name="uq_job_image_index"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    index: int = Field(description="0-based position in the upload")
    filename: str = Field(max_length=255)
    input_sha256: str = Field(max_length=64)
    original_key: str = Field(max_length=512)
    content_type: str = Field(max_length=64)
    width: int
    height: int
    state: str = Field(default=ImageState.QUEUED.value, max_length=16)
    stage: str | None = Field(default=None, max_length=16)
    percent: int = 0
    outputs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    report: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=1000)
    attempts: int = 0
    cached: bool = Field(default=False, description="Result reused from the result cache")
    # Brush masks painted by the seller (white = erase / never touch), stored like originals.
    mask_key: str | None = Field(default=None, max_length=512)
    keep_mask_key: str | None = Field(default=None, max_length=512)
    # adjust: the photo its strength blends back toward (the parent image's original).
    reference_key: str | None = Field(default=None, max_length=512)
    # The result-cache options hash when this image's differs from its job's (its masks).
    options_hash: str | None = Field(default=None, max_length=64)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    tenant_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    job_id: str = Field(foreign_key="job.id", max_length=32)
    fingerprint: str = Field(max_length=64, description="sha256 of the request's options + inputs")
    created_at: datetime = Field(default_factory=utcnow)


# The result cache: identical input + options for the same tenant reuse a stored result.
class ResultCacheEntry(SQLModel, table=True):
    __tablename__ = "result_cache"

    # The tenant is part of the key: a result is never served to another tenant, even for
    # byte-identical input.
    tenant_id: str = Field(primary_key=True, max_length=64)
    input_sha256: str = Field(primary_key=True, max_length=64)
    options_hash: str = Field(primary_key=True, max_length=64)
    outputs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    report: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, index=True)


# The job store's tables, for its migrations and its schema check (globalpic_db.own_tables).
TABLES: tuple[type[SQLModel], ...] = (Job, JobImage, IdempotencyKey, ResultCacheEntry)

"""The API's database operations: job submission, idempotency keys, the result cache, reads.

Every read takes the tenant (or a job id the caller already resolved under its tenant). An
image's state changes are the orchestrator's (``globalpic_jobs.state``); the gateway writes a
job only when it is submitted (and deletes it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from globalpic_db.clock import utcnow
from globalpic_jobs.models import (
    IdempotencyKey,
    ImageState,
    Job,
    JobImage,
)
from globalpic_jobs.options import JobOptions
from globalpic_jobs.state import TERMINAL_STATES, CachePolicy, cached_result, refresh_job_status


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class NewImage:
    index: int
    filename: str
    sha256: str
    original_key: str
    content_type: str
    width: int
    height: int
    mask_key: str | None = None
    keep_mask_key: str | None = None
    reference_key: str | None = None
    options_hash: str | None = None  # the image's cache key when not its job's (masks)


# --- reads -------------------------------------------------------------------------------


def get_job(session: Session, tenant_id: str, job_id: str) -> Job | None:
    """The job if it exists *and* belongs to the tenant: another tenant's id reads as absent."""
    return session.exec(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)).first()


@dataclass(frozen=True)
class JobFilter:
    """``GET /v1/jobs``' filters and keyset position (all optional)."""

    status: str | None = None
    created_after: datetime | None = None
    # The cursor: jobs strictly older than this (created_at, id), newest first.
    before: tuple[datetime, str] | None = None


def list_jobs(
    session: Session, tenant_id: str, limit: int, offset: int, where: JobFilter | None = None
) -> tuple[list[Job], int, bool]:
    """A page of the tenant's jobs, newest first: (jobs, total matching the filters, whether
    more follow the page)."""
    where = where or JobFilter()
    conditions = [col(Job.tenant_id) == tenant_id]
    if where.status is not None:
        conditions.append(col(Job.status) == where.status)
    if where.created_after is not None:
        conditions.append(col(Job.created_at) > where.created_after)
    total = session.exec(select(func.count()).select_from(Job).where(*conditions)).one()
    if where.before is not None:
        created, job_id = where.before
        conditions.append(
            sa.or_(
                col(Job.created_at) < created,
                sa.and_(col(Job.created_at) == created, col(Job.id) < job_id),
            )
        )
    rows = list(
        session.exec(
            select(Job)
            .where(*conditions)
            .order_by(col(Job.created_at).desc(), col(Job.id).desc())
            .limit(limit + 1)
            .offset(offset)
        )
    )
    return rows[:limit], int(total), len(rows) > limit


def image_counts(session: Session, job_ids: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {
        job_id: {state.value: 0 for state in ImageState} for job_id in job_ids
    }
    if not job_ids:
        return counts
    rows = session.exec(
        select(JobImage.job_id, JobImage.state, func.count())
        .where(col(JobImage.job_id).in_(job_ids))
        .group_by(col(JobImage.job_id), col(JobImage.state))
    )
    for job_id, state, count in rows:
        counts[job_id][state] = int(count)
    return counts


def find_idempotency_key(session: Session, tenant_id: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (tenant_id, key))


# --- job creation --------------------------------------------------------------------------


def create_job(
    session: Session,
    *,
    job_id: str | None = None,
    tenant_id: str,
    options: JobOptions,
    options_hash: str,
    images: list[NewImage],
    cache: CachePolicy,
    idempotency: tuple[str, str] | None = None,
    parent: tuple[str, int] | None = None,
) -> Job:
    """Insert the job, its images (cache hits already completed) and the idempotency key, and
    commit. A concurrent request with the same idempotency key raises ``IntegrityError``."""
    job = Job(
        id=job_id or new_job_id(),
        tenant_id=tenant_id,
        ops=options.ops_text,
        style=options.style,
        platform=options.platform,
        candidates=options.candidates,
        options_hash=options_hash,
        image_count=len(images),
        extras=options.extras(),
        parent_job_id=parent[0] if parent else None,
        parent_image=parent[1] if parent else None,
    )
    session.add(job)
    session.flush()  # the job row first: the images and the key reference it
    now = utcnow()
    for new in images:
        row = JobImage(
            job_id=job.id,
            tenant_id=tenant_id,
            index=new.index,
            filename=new.filename,
            input_sha256=new.sha256,
            original_key=new.original_key,
            content_type=new.content_type,
            width=new.width,
            height=new.height,
            mask_key=new.mask_key,
            keep_mask_key=new.keep_mask_key,
            reference_key=new.reference_key,
            options_hash=new.options_hash,
        )
        hit = cached_result(session, tenant_id, new.sha256, new.options_hash or options_hash, cache)
        if hit is not None:
            row.state = ImageState.COMPLETED.value
            row.stage, row.percent = "done", 100
            row.outputs = list(hit.outputs)
            row.report = {**hit.report, "input": new.filename}
            row.cached = True
            row.finished_at = now
        session.add(row)
    if idempotency is not None:
        key, fingerprint = idempotency
        session.add(
            IdempotencyKey(tenant_id=tenant_id, key=key, job_id=job.id, fingerprint=fingerprint)
        )
    session.flush()
    refresh_job_status(session, job)
    session.commit()
    session.refresh(job)
    return job


def delete_job(session: Session, job_id: str) -> None:
    """Undo a job whose work could not be queued (the client may retry with the same key)."""
    session.execute(sa.delete(IdempotencyKey).where(col(IdempotencyKey.job_id) == job_id))
    session.execute(sa.delete(JobImage).where(col(JobImage.job_id) == job_id))
    session.execute(sa.delete(Job).where(col(Job.id) == job_id))
    session.commit()


# --- the API's hot reads: GET /v1/jobs/{id} and the SSE job check ------------------------
# Polled by every client of a running job, so read with SQLAlchemy Core on a plain connection
# (``AppState.read_engine``): no session, identity map or ORM instances, half the CPU of the
# ORM reads above for the same rows. Same tables, same column types (aware datetimes, JSON).

_JOB: sa.Table = Job.__table__  # type: ignore[attr-defined]
_IMAGE: sa.Table = JobImage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job's columns as GET /v1/jobs/{id} shows them (``views.JobFields``)."""

    id: str
    tenant_id: str
    status: str
    ops: str
    style: str | None
    platform: str | None
    candidates: int
    image_count: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    extras: dict[str, Any]
    parent_job_id: str | None
    parent_image: int | None


@dataclass(frozen=True, slots=True)
class ImageRow:
    """An image's columns but its report (``views.ImageFields``)."""

    id: int
    job_id: str
    tenant_id: str
    index: int
    filename: str
    state: str
    stage: str | None
    percent: int
    cached: bool
    attempts: int
    width: int
    height: int
    outputs: list[str]
    error_code: str | None
    error_message: str | None
    finished_at: datetime | None


_JOB_COLUMNS = [_JOB.c[name] for name in JobRow.__dataclass_fields__]
_IMAGE_COLUMNS = [_IMAGE.c[name] for name in ImageRow.__dataclass_fields__]
_JOB_BY_ID = sa.select(*_JOB_COLUMNS).where(
    _JOB.c.id == sa.bindparam("job_id"), _JOB.c.tenant_id == sa.bindparam("tenant_id")
)
_JOB_EXISTS = sa.select(_JOB.c.id).where(
    _JOB.c.id == sa.bindparam("job_id"), _JOB.c.tenant_id == sa.bindparam("tenant_id")
)
# A finished image's report (most of a row's bytes) is left out: the view renders a finished
# image once and keeps it (views.FinishedImageCache), reading it by image_reports on a miss.
_UNFINISHED_REPORT = sa.case(
    (_IMAGE.c.state.in_(TERMINAL_STATES), sa.null()), else_=_IMAGE.c.report
).label("unfinished_report")
_IMAGES_FOR_VIEW = (
    sa.select(*_IMAGE_COLUMNS, _UNFINISHED_REPORT)
    .where(_IMAGE.c.job_id == sa.bindparam("job_id"))
    .order_by(_IMAGE.c.index)
)
_REPORTS = sa.select(_IMAGE.c.id, _IMAGE.c.report).where(
    _IMAGE.c.id.in_(sa.bindparam("ids", expanding=True))
)


def read_job(conn: sa.Connection, tenant_id: str, job_id: str) -> JobRow | None:
    """``get_job`` without the ORM: the tenant's job, or None (another tenant's reads absent)."""
    row = conn.execute(_JOB_BY_ID, {"job_id": job_id, "tenant_id": tenant_id}).first()
    return None if row is None else JobRow(*row)


def job_exists(conn: sa.Connection, tenant_id: str, job_id: str) -> bool:
    return conn.execute(_JOB_EXISTS, {"job_id": job_id, "tenant_id": tenant_id}).first() is not None


def read_images_for_view(
    conn: sa.Connection, job_id: str
) -> list[tuple[ImageRow, dict[str, Any] | None]]:
    """The job's images in index order, each with its report when it is not finished (a
    finished one's: None here, ``image_reports`` reads it)."""
    rows = conn.execute(_IMAGES_FOR_VIEW, {"job_id": job_id})
    return [(ImageRow(*row[:-1]), row[-1]) for row in rows]


def image_reports(conn: sa.Connection, image_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    rows = conn.execute(_REPORTS, {"ids": image_ids})
    return {int(image_id): report for image_id, report in rows}

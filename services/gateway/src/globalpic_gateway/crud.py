"""Database operations on jobs, images, idempotency keys and the result cache.

Shared by the API and the runner. Every read takes the tenant (or a job id the caller already
resolved under its tenant). State changes that must happen once — an image recorded, a job
finished — are conditional UPDATEs checked by row count, after locking the job row, so two
runners racing on a redelivered message cannot both record it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from globalpic_gateway.models import (
    IdempotencyKey,
    ImageState,
    Job,
    JobImage,
    JobStatus,
    ResultCacheEntry,
    utcnow,
)
from globalpic_gateway.options import JobOptions

TERMINAL_STATES = (ImageState.COMPLETED.value, ImageState.FAILED.value)


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


@dataclass(frozen=True)
class CachePolicy:
    enabled: bool
    ttl_seconds: int


# --- reads -------------------------------------------------------------------------------


def get_job(session: Session, tenant_id: str, job_id: str) -> Job | None:
    """The job if it exists *and* belongs to the tenant: another tenant's id reads as absent."""
    return session.exec(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)).first()


def job_images(session: Session, job_id: str) -> list[JobImage]:
    return list(
        session.exec(
            select(JobImage).where(JobImage.job_id == job_id).order_by(col(JobImage.index))
        )
    )


def get_image(session: Session, job_id: str, index: int) -> JobImage | None:
    return session.exec(
        select(JobImage).where(JobImage.job_id == job_id, JobImage.index == index)
    ).first()


def list_jobs(session: Session, tenant_id: str, limit: int, offset: int) -> tuple[list[Job], int]:
    total = session.exec(
        select(func.count()).select_from(Job).where(Job.tenant_id == tenant_id)
    ).one()
    jobs = session.exec(
        select(Job)
        .where(Job.tenant_id == tenant_id)
        .order_by(col(Job.created_at).desc(), col(Job.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(jobs), int(total)


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


def cached_result(
    session: Session, tenant_id: str, sha256: str, options_hash: str, policy: CachePolicy
) -> ResultCacheEntry | None:
    if not policy.enabled:
        return None
    oldest = utcnow() - timedelta(seconds=policy.ttl_seconds)
    return session.exec(
        select(ResultCacheEntry).where(
            ResultCacheEntry.tenant_id == tenant_id,
            ResultCacheEntry.input_sha256 == sha256,
            ResultCacheEntry.options_hash == options_hash,
            col(ResultCacheEntry.created_at) >= oldest,
        )
    ).first()


# --- job creation --------------------------------------------------------------------------


def create_job(
    session: Session,
    *,
    tenant_id: str,
    options: JobOptions,
    options_hash: str,
    images: list[NewImage],
    cache: CachePolicy,
    idempotency: tuple[str, str] | None = None,
) -> Job:
    """Insert the job, its images (cache hits already completed) and the idempotency key, and
    commit. A concurrent request with the same idempotency key raises ``IntegrityError``."""
    job = Job(
        id=new_job_id(),
        tenant_id=tenant_id,
        ops=options.ops_text,
        style=options.style,
        platform=options.platform,
        candidates=options.candidates,
        options_hash=options_hash,
        image_count=len(images),
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
        )
        hit = cached_result(session, tenant_id, new.sha256, options_hash, cache)
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


# --- job status ------------------------------------------------------------------------------


def status_from_counts(counts: Counter[str], total: int) -> JobStatus:
    finished = counts[ImageState.COMPLETED.value] + counts[ImageState.FAILED.value]
    if total and finished == total:
        return JobStatus.COMPLETED if counts[ImageState.COMPLETED.value] else JobStatus.FAILED
    if finished or counts[ImageState.RUNNING.value]:
        return JobStatus.RUNNING
    return JobStatus.QUEUED


def refresh_job_status(session: Session, job: Job) -> JobStatus:
    rows = session.exec(
        select(JobImage.state, func.count())
        .where(JobImage.job_id == job.id)
        .group_by(col(JobImage.state))
    )
    counts: Counter[str] = Counter({state: int(n) for state, n in rows})
    status = status_from_counts(counts, job.image_count)
    now = utcnow()
    job.status = status.value
    job.updated_at = now
    if status in (JobStatus.COMPLETED, JobStatus.FAILED) and job.finished_at is None:
        job.finished_at = now
    session.add(job)
    return status


def _lock_job(session: Session, job_id: str) -> Job | None:
    # FOR UPDATE serialises the runners finishing images of one job on PostgreSQL (else two
    # could each count the other's image as unfinished); SQLite serialises every write anyway.
    return session.exec(select(Job).where(Job.id == job_id).with_for_update()).first()


# --- runner transitions ------------------------------------------------------------------


def mark_running(session: Session, job_id: str, index: int) -> JobImage | None:
    """Start (or restart, on redelivery) an image; None when it is finished or gone."""
    job = _lock_job(session, job_id)
    if job is None:
        session.rollback()
        return None
    result = session.execute(
        sa.update(JobImage)
        .where(
            col(JobImage.job_id) == job_id,
            col(JobImage.index) == index,
            col(JobImage.state).not_in(TERMINAL_STATES),
        )
        .values(
            state=ImageState.RUNNING.value,
            attempts=col(JobImage.attempts) + 1,
            started_at=utcnow(),
            stage=None,
            percent=0,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    refresh_job_status(session, job)
    session.commit()
    return get_image(session, job_id, index)


def set_stage(session: Session, image_id: int, stage: str, percent: int) -> None:
    session.execute(
        sa.update(JobImage)
        .where(col(JobImage.id) == image_id, col(JobImage.state) == ImageState.RUNNING.value)
        .values(stage=stage, percent=percent)
    )
    session.commit()


def _finish(session: Session, job_id: str, image_id: int, values: dict[str, Any]) -> Job | None:
    job = _lock_job(session, job_id)
    if job is None:
        session.rollback()
        return None
    result = session.execute(
        sa.update(JobImage)
        .where(col(JobImage.id) == image_id, col(JobImage.state).not_in(TERMINAL_STATES))
        .values(finished_at=utcnow(), **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    refresh_job_status(session, job)
    return job


def record_result(
    session: Session,
    image: JobImage,
    outputs: list[str],
    report: dict[str, Any],
    *,
    options_hash: str,
    cache: CachePolicy,
) -> Job | None:
    """Record a finished image (and its cache entry) in one transaction.

    Returns the job, or None when the image was already finished (a redelivery): the caller
    then records nothing and publishes nothing for it.
    """
    assert image.id is not None
    job = _finish(
        session,
        image.job_id,
        image.id,
        {
            "state": ImageState.COMPLETED.value,
            "stage": "done",
            "percent": 100,
            "outputs": outputs,
            "report": report,
            "error_code": None,
            "error_message": None,
        },
    )
    if job is None:
        return None
    if cache.enabled:
        _upsert_cache(session, image.tenant_id, image.input_sha256, options_hash, outputs, report)
    session.commit()
    session.refresh(job)
    return job


def record_failure(session: Session, image: JobImage, code: str, message: str) -> Job | None:
    assert image.id is not None
    job = _finish(
        session,
        image.job_id,
        image.id,
        {"state": ImageState.FAILED.value, "error_code": code, "error_message": message[:1000]},
    )
    if job is None:
        return None
    session.commit()
    session.refresh(job)
    return job


def _upsert_cache(
    session: Session,
    tenant_id: str,
    sha256: str,
    options_hash: str,
    outputs: list[str],
    report: dict[str, Any],
) -> None:
    values = {
        "tenant_id": tenant_id,
        "input_sha256": sha256,
        "options_hash": options_hash,
        "outputs": outputs,
        "report": report,
        "created_at": utcnow(),
    }
    # Two runners may finish byte-identical inputs of one tenant at once: an upsert, not an
    # insert that one of them would fail.
    dialect = session.get_bind().dialect.name
    table = ResultCacheEntry.__table__  # type: ignore[attr-defined]
    keys = ["tenant_id", "input_sha256", "options_hash"]
    update = {k: values[k] for k in ("outputs", "report", "created_at")}
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(table).values(**values)
        session.execute(pg_stmt.on_conflict_do_update(index_elements=keys, set_=update))
    else:
        lite_stmt = sqlite.insert(table).values(**values)
        session.execute(lite_stmt.on_conflict_do_update(index_elements=keys, set_=update))


def completed_event_pending(session: Session, job_id: str) -> Job | None:
    """The job when it is finished and its ``completed`` event is not yet known to be out."""
    return session.exec(
        select(Job).where(
            Job.id == job_id,
            col(Job.completed_event_sent).is_(False),
            col(Job.status).in_([JobStatus.COMPLETED.value, JobStatus.FAILED.value]),
        )
    ).first()


def mark_completed_event_sent(session: Session, job_id: str) -> None:
    # Set after the publish, not before: a crash in between re-publishes on redelivery, and
    # the events stream drops the duplicate by its message id.
    session.execute(sa.update(Job).where(col(Job.id) == job_id).values(completed_event_sent=True))
    session.commit()

"""An image's way through its states, as the orchestrator records it.

State changes that must happen once (an image recorded, a job finished) are conditional
UPDATEs checked by row count, after locking the job row, so two orchestrators racing on a
redelivered message cannot both record it. The gateway reads these rows (``job_images``,
``status_from_counts``) and writes a job only at submission.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from globalpic_common import errors
from globalpic_db.clock import utcnow
from globalpic_jobs.models import ImageState, Job, JobImage, JobStatus, ResultCacheEntry

TERMINAL_STATES = (ImageState.COMPLETED.value, ImageState.FAILED.value)


@dataclass(frozen=True)
class CachePolicy:
    enabled: bool
    ttl_seconds: int


def cached_result(
    session: Session, tenant_id: str, sha256: str, options_hash: str, policy: CachePolicy
) -> ResultCacheEntry | None:
    """The team's result for this photo with these options, when younger than the TTL."""
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


# A running image waiting for the result of its twin: an identical image of the same team (same
# photo, same options) being processed now (``claim``).
WAITING_STAGE = "waiting"


def claim(session: Session, image: JobImage, options_hash: str) -> bool:
    """Whether a running image is to be processed now (True), or is to wait, marked
    ``waiting``, because a twin of it is being processed (False); commits.

    Claims of twins are serialised (an advisory lock per photo and options on PostgreSQL,
    SQLite's one writer), so of twins starting together exactly one is processed: the
    first to claim sees the others running and not waiting yet, and waits; the last sees
    them all waiting and goes. A waiting image claims again on each look (the runner's
    ``_twin_result``), so it takes over when the twin it waited for failed or went away.
    """
    assert image.id is not None
    _lock_twins(session, image, options_hash)
    effective_hash = func.coalesce(col(JobImage.options_hash), col(Job.options_hash))
    processing = session.exec(
        select(JobImage.id)
        .join(Job, col(Job.id) == col(JobImage.job_id))
        .where(
            col(JobImage.tenant_id) == image.tenant_id,
            col(JobImage.input_sha256) == image.input_sha256,
            effective_hash == options_hash,
            col(JobImage.state) == ImageState.RUNNING.value,
            sa.or_(col(JobImage.stage).is_(None), col(JobImage.stage) != WAITING_STAGE),
            col(JobImage.id) != image.id,
        )
        .limit(1)
    ).first()
    session.execute(
        sa.update(JobImage)
        .where(col(JobImage.id) == image.id, col(JobImage.state) == ImageState.RUNNING.value)
        .values(stage=None if processing is None else WAITING_STAGE)
    )
    session.commit()
    return processing is None


def _lock_twins(session: Session, image: JobImage, options_hash: str) -> None:
    # SQLite needs nothing: every transaction there begins IMMEDIATE (globalpic_db.engine),
    # holding the database's one write lock until its commit.
    if session.get_bind().dialect.name == "postgresql":
        key = f"{image.tenant_id}/{image.input_sha256}/{options_hash}".encode()
        lock_id = int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


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
    cached: bool = False,
) -> Job | None:
    """Record a finished image (and its cache entry) in one transaction; ``cached``: its
    result is one the cache held (no entry is written then).

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
            "cached": cached,
        },
    )
    if job is None:
        return None
    if cache.enabled and not cached:
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


def cancel(session: Session, job_id: str, message: str) -> list[JobImage] | None:
    """Cancel a job: every image not started yet fails now (``canceled``); a running one
    fails at its next stage (the runner asks ``is_canceled``). The images failed here, for
    their ``done`` events; None when the job is gone."""
    job = _lock_job(session, job_id)
    if job is None:
        session.rollback()
        return None
    now = utcnow()
    job.canceled_at = job.canceled_at or now
    queued = list(
        session.exec(
            select(JobImage).where(
                col(JobImage.job_id) == job_id, col(JobImage.state) == ImageState.QUEUED.value
            )
        )
    )
    for image in queued:
        image.state = ImageState.FAILED.value
        image.error_code, image.error_message = errors.CANCELED, message
        image.finished_at = now
        session.add(image)
    session.flush()
    refresh_job_status(session, job)
    session.commit()
    for image in queued:
        session.refresh(image)
    return queued


def fail_running(session: Session, job_id: str, message: str) -> list[JobImage]:
    """Fail the job's running images now (``canceled``): the job is being deleted, so no
    runner will record them. The images failed, for their ``done`` events."""
    failed: list[JobImage] = []
    running = session.exec(
        select(JobImage).where(
            col(JobImage.job_id) == job_id, col(JobImage.state) == ImageState.RUNNING.value
        )
    )
    for image in list(running):
        assert image.id is not None
        values = {"state": ImageState.FAILED.value, "error_code": errors.CANCELED}
        if _finish(session, job_id, image.id, {**values, "error_message": message}) is not None:
            session.commit()
            session.refresh(image)
            failed.append(image)
    return failed


def is_canceled(session: Session, job_id: str) -> bool:
    """Canceled, or deleted: either way its work should stop."""
    row = session.exec(select(Job.id, Job.canceled_at).where(Job.id == job_id)).first()
    return row is None or row[1] is not None


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

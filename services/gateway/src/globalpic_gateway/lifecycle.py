"""A job's end of life: cancel, delete, and the retention purge.

Cancel fails every image not started yet at once (``canceled``) and lets a running one stop at
its next stage (the runner asks the store before each); their ``done`` events go out like any
failure's, so billing gives their holds back and SSE clients see the job finish.

Delete removes the job's rows and the stored files nothing else uses. Storage is
content-addressed per team, so one file can stand for several jobs (the same photo uploaded
twice, a re-run reading its parent's photo or result, the result cache): a file is deleted
only when no remaining row names it. Result-cache entries that point at the job's results go
with it (a later identical upload is processed again instead of answered with a file that is
gone).

The purge (``globalpic-gateway-purge``, run on a schedule: a Kubernetes CronJob) deletes the
jobs that finished more than ``retention_days`` ago, the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from globalpic_common import errors
from globalpic_common.schemas import ErrorInfo
from globalpic_db.clock import utcnow
from globalpic_gateway import crud
from globalpic_gateway.api.deps import job_not_found
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.state import AppState
from globalpic_jobs import state as job_state
from globalpic_jobs.models import IdempotencyKey, ImageState, Job, JobImage, ResultCacheEntry
from globalpic_storage import Storage

log = logging.getLogger("globalpic.gateway.lifecycle")

CANCELED_MESSAGE = "the job was canceled before this image was done"
DELETED_MESSAGE = "the job was deleted before this image was done"


async def _announce(state: AppState, images: Iterable[JobImage], message: str) -> None:
    """The ``done`` events of images failed by a cancel, then the job's ``completed``."""
    events = state.job_events()
    job_id = None
    for image in images:
        job_id = image.job_id
        await events.image_finished(
            image, ImageState.FAILED, ErrorInfo(code=errors.CANCELED, message=message)
        )
    if job_id is not None:
        await events.completed_if_pending(job_id)


def _load(state: AppState, tenant_id: str, job_id: str) -> Job:
    with Session(state.engine) as session:
        job = crud.get_job(session, tenant_id, job_id)
        if job is None:
            raise job_not_found(job_id)
        session.expunge(job)
        return job


async def cancel_job(state: AppState, tenant_id: str, job_id: str) -> None:
    """``POST /v1/jobs/{id}/cancel``; ``409 job_finished`` for a job with nothing left to do."""
    job = await asyncio.to_thread(_load, state, tenant_id, job_id)
    if job.finished_at is not None:
        raise ApiError(
            409, problems.JOB_FINISHED, f"job {job_id} is {job.status}: nothing to cancel"
        )

    def cancel() -> list[JobImage]:
        with Session(state.engine) as session:
            images = job_state.cancel(session, job_id, CANCELED_MESSAGE) or []
            for image in images:
                session.expunge(image)
            return images

    await _announce(state, await asyncio.to_thread(cancel), CANCELED_MESSAGE)


async def delete_job(state: AppState, tenant_id: str, job_id: str) -> None:
    """``DELETE /v1/jobs/{id}``: unfinished images are failed and announced first (their holds
    go back), then the rows and the files only this job used."""
    await asyncio.to_thread(_load, state, tenant_id, job_id)

    def stop() -> list[JobImage]:
        with Session(state.engine) as session:
            queued = job_state.cancel(session, job_id, DELETED_MESSAGE) or []
            running = job_state.fail_running(session, job_id, DELETED_MESSAGE)
            images = queued + running
            for image in images:
                session.expunge(image)
            return images

    await _announce(state, await asyncio.to_thread(stop), DELETED_MESSAGE)
    await asyncio.to_thread(purge_job, state.engine, state.storage, tenant_id, job_id)


def _job_keys(session: Session, job: Job) -> set[str]:
    keys: set[str] = set()
    for image in job_state.job_images(session, job.id):
        keys.update(k for k in (image.original_key, image.mask_key, image.keep_mask_key) if k)
        keys.update(image.outputs)
    background = (job.extras or {}).get("background")
    if background:
        keys.add(background)
    return keys


def _still_used(session: Session, tenant_id: str, key: str) -> bool:
    """Whether any row of the team still names ``key`` (keys are unique hex names, so a text
    match inside the JSON lists is exact)."""
    pattern = f'%"{key}"%'
    image = JobImage.__table__  # type: ignore[attr-defined]
    job = Job.__table__  # type: ignore[attr-defined]
    cache = ResultCacheEntry.__table__  # type: ignore[attr-defined]
    uses = [
        sa.select(image.c.id).where(
            image.c.tenant_id == tenant_id,
            sa.or_(
                image.c.original_key == key,
                image.c.mask_key == key,
                image.c.keep_mask_key == key,
                image.c.reference_key == key,
                sa.cast(image.c.outputs, sa.Text).like(pattern),
            ),
        ),
        sa.select(job.c.id).where(
            job.c.tenant_id == tenant_id, sa.cast(job.c.extras, sa.Text).like(pattern)
        ),
        sa.select(cache.c.input_sha256).where(
            cache.c.tenant_id == tenant_id, sa.cast(cache.c.outputs, sa.Text).like(pattern)
        ),
    ]
    return any(session.execute(query.limit(1)).first() is not None for query in uses)


def purge_job(engine: Engine, storage: Storage, tenant_id: str, job_id: str) -> int:
    """Delete a job's rows, its result-cache entries and the files nothing else names; the
    number of files deleted."""
    with Session(engine) as session:
        job = crud.get_job(session, tenant_id, job_id)
        if job is None:
            return 0
        keys = _job_keys(session, job)
        cache = ResultCacheEntry.__table__  # type: ignore[attr-defined]
        for image in job_state.job_images(session, job_id):
            for output in image.outputs:  # the entries naming its results, found by SQL
                session.execute(
                    sa.delete(cache).where(
                        cache.c.tenant_id == tenant_id,
                        sa.cast(cache.c.outputs, sa.Text).like(f'%"{output}"%'),
                    )
                )
        session.execute(sa.delete(IdempotencyKey).where(col(IdempotencyKey.job_id) == job_id))
        session.execute(sa.delete(JobImage).where(col(JobImage.job_id) == job_id))
        session.execute(sa.delete(Job).where(col(Job.id) == job_id))
        session.flush()
        unused = sorted(key for key in keys if not _still_used(session, tenant_id, key))
        session.commit()
    deleted = 0
    for key in unused:  # after the commit: a failure here leaves a file, never a dangling row
        try:
            deleted += bool(storage.delete(tenant_id, key))
        except Exception as exc:  # storage away: the file stays; the job is gone all the same
            log.warning("job %s: could not delete %s (%r)", job_id, key, exc)
    return deleted


def expired_jobs(engine: Engine, finished_before: datetime, limit: int) -> list[tuple[str, str]]:
    """(tenant, job) of finished jobs older than ``finished_before``, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(Job.tenant_id, Job.id)
            .where(col(Job.finished_at).is_not(None), col(Job.finished_at) < finished_before)
            .order_by(col(Job.finished_at))
            .limit(limit)
        )
        return [(tenant, job_id) for tenant, job_id in rows]


def purge_expired(engine: Engine, storage: Storage, retention_days: int, batch: int = 500) -> int:
    """Delete every job finished more than ``retention_days`` ago; the number of jobs."""
    cutoff = utcnow() - timedelta(days=retention_days)
    purged = 0
    while jobs := expired_jobs(engine, cutoff, batch):
        for tenant_id, job_id in jobs:
            purge_job(engine, storage, tenant_id, job_id)
            purged += 1
    return purged


def main(argv: list[str] | None = None) -> int:
    """``globalpic-gateway-purge``: the retention purge, for a scheduler (a CronJob)."""
    from globalpic_gateway.core.config import get_settings
    from globalpic_jobs.db import make_engine
    from globalpic_storage.access import storage_from_settings

    parser = argparse.ArgumentParser(prog="globalpic-gateway-purge", description=main.__doc__)
    parser.add_argument(
        "--days", type=int, default=None, help="override GLOBALPIC_GATEWAY__RETENTION_DAYS"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days
    if days is None:
        log.info("no retention set (GLOBALPIC_GATEWAY__RETENTION_DAYS): nothing purged")
        return 0
    if days < 1:
        parser.error("--days must be at least 1")
    engine = make_engine(settings.database_url)
    purged = purge_expired(engine, storage_from_settings(settings.storage_addr), days)
    log.info("purged %d jobs finished more than %d days ago", purged, days)
    return 0

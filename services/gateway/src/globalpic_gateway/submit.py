"""``POST /v1/jobs``: validate everything, then store, record and queue.

Order matters for "nothing stored on a bad upload": the body is parsed within the limits, the
options and every image are validated (decoded) first; only a request that is entirely valid
has its images held against the team's plan (billing's ``Reserve``: refused whole with 402 when
fewer remain), then stores originals, writes rows and publishes work. A submission that fails
after the hold gives it back. Originals are content-addressed, so a retried request stores
nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from globalpic_common.errors import BadInputError
from globalpic_common.imageio import decode_image
from globalpic_gateway import crud
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Tenant
from globalpic_gateway.core.billing import PlanLimits
from globalpic_gateway.core.metrics import IMAGES_SUBMITTED, JOBS_SUBMITTED
from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.state import AppState
from globalpic_gateway.core.uploads import ParsedUpload, UploadLimits, parse_upload
from globalpic_jobs import state as job_state
from globalpic_jobs.events import WorkMessage
from globalpic_jobs.models import ImageState, Job, JobImage
from globalpic_jobs.options import JobOptions, parse_options
from globalpic_jobs.queue import publish_model

log = logging.getLogger("globalpic.gateway")

_FORMAT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class CheckedImage:
    index: int
    filename: str
    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Submission:
    job: Job
    images: list[JobImage]
    replayed: bool  # an Idempotency-Key seen before: the earlier job, nothing new done


def _check_images(upload: ParsedUpload, state: AppState) -> list[CheckedImage]:
    limits = state.settings.image_limits()
    checked: list[CheckedImage] = []
    for index, file in enumerate(upload.files):
        data = file.read()
        try:
            loaded = decode_image(data, file.filename, limits)
        except BadInputError as exc:
            raise ApiError.from_bad_input(exc, prefix=f"images[{index}] ") from exc
        checked.append(
            CheckedImage(
                index=index,
                filename=file.filename,
                data=data,
                sha256=hashlib.sha256(data).hexdigest(),
                content_type=_FORMAT_TYPES[loaded.source_format],
                width=loaded.width,
                height=loaded.height,
            )
        )
    return checked


def _check_output_size(options: JobOptions, images: list[CheckedImage], plan: PlanLimits) -> None:
    """Without resize a result keeps its input's size: the plan's output limit applies to it.
    (Every platform frame fits the smallest limit, 2048 px.)"""
    if plan.max_output_px is None or "resize" in options.ops:
        return
    for image in images:
        side = max(image.width, image.height)
        if side > plan.max_output_px:
            raise ApiError(
                402,
                problems.PLAN_LIMIT,
                f"images[{image.index}] {image.filename} would come out {side} px on its long "
                f"side; the {plan.plan} plan outputs up to {plan.max_output_px} px: add "
                "'resize' to ops, or move to a plan with 4K output",
                limit=plan.max_output_px,
            )


def _fingerprint(options_hash: str, images: list[CheckedImage]) -> str:
    digest = hashlib.sha256(options_hash.encode())
    for image in images:
        digest.update(image.sha256.encode())
    return digest.hexdigest()


def _load(state: AppState, tenant_id: str, job_id: str) -> tuple[Job, list[JobImage]]:
    with Session(state.engine) as session:
        job = crud.get_job(session, tenant_id, job_id)
        assert job is not None
        return job, job_state.job_images(session, job_id)


def _replay(state: AppState, tenant: Tenant, key: str, fingerprint: str) -> Submission | None:
    with Session(state.engine) as session:
        seen = crud.find_idempotency_key(session, tenant.id, key)
        if seen is None:
            return None
        if seen.fingerprint != fingerprint:
            raise ApiError(
                422,
                problems.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was already used for a different request",
                job_id=seen.job_id,
            )
        job_id = seen.job_id
    job, images = _load(state, tenant.id, job_id)
    return Submission(job, images, replayed=True)


async def submit_job(
    state: AppState, tenant: Tenant, request: Request, idempotency_key: str | None
) -> Submission:
    settings = state.settings
    state.jetstream()  # 503 before reading a large body the queue could not take anyway
    plan = await state.billing.limits(tenant)
    limits = UploadLimits(
        max_file_bytes=settings.image_limits().max_bytes,
        max_files=plan.max_batch,
    )
    upload = await parse_upload(request, limits)
    try:
        if not upload.files:
            raise ApiError(422, problems.NO_IMAGES, "send at least one image as 'images'")
        try:
            options: JobOptions = parse_options(upload.fields)
        except BadInputError as exc:
            raise ApiError.from_bad_input(exc) from exc
        images = await asyncio.to_thread(_check_images, upload, state)
    finally:
        upload.close()
    _check_output_size(options, images, plan)

    options_hash = options.hash(settings.output_format)
    fingerprint = _fingerprint(options_hash, images)
    if idempotency_key is not None:
        replay = await asyncio.to_thread(_replay, state, tenant, idempotency_key, fingerprint)
        if replay is not None:
            return replay

    job_id = crud.new_job_id()
    await state.billing.reserve(tenant, job_id, len(images))
    try:
        submission = await _store_and_record(
            state, tenant, job_id, images, options, options_hash, idempotency_key, fingerprint
        )
        if submission.job.id == job_id:
            await _queue(state, submission)
    except BaseException:
        await state.billing.release(tenant, job_id)
        raise
    if submission.job.id != job_id:  # another request with the same Idempotency-Key won
        await state.billing.release(tenant, job_id)
        return submission
    JOBS_SUBMITTED.inc()
    for row in submission.images:
        IMAGES_SUBMITTED.labels(cached=str(row.cached).lower()).inc()
    return submission


async def _store_and_record(
    state: AppState,
    tenant: Tenant,
    job_id: str,
    images: list[CheckedImage],
    options: JobOptions,
    options_hash: str,
    idempotency_key: str | None,
    fingerprint: str,
) -> Submission:
    settings = state.settings
    new_images: list[crud.NewImage] = []
    for image in images:
        info = await asyncio.to_thread(
            state.storage.put, tenant.id, "originals", image.data, image.content_type
        )
        new_images.append(
            crud.NewImage(
                index=image.index,
                filename=image.filename,
                sha256=image.sha256,
                original_key=info.key,
                content_type=image.content_type,
                width=image.width,
                height=image.height,
            )
        )

    def record() -> Submission:
        with Session(state.engine) as session:
            job = crud.create_job(
                session,
                job_id=job_id,
                tenant_id=tenant.id,
                options=options,
                options_hash=options_hash,
                images=new_images,
                cache=job_state.CachePolicy(
                    settings.result_cache_enabled, settings.result_cache_ttl_seconds
                ),
                idempotency=(idempotency_key, fingerprint) if idempotency_key else None,
            )
            return Submission(job, job_state.job_images(session, job.id), replayed=False)

    try:
        return await asyncio.to_thread(record)
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race: answer with its job.
        assert idempotency_key is not None
        replay = await asyncio.to_thread(_replay, state, tenant, idempotency_key, fingerprint)
        if replay is None:
            raise
        return replay


async def _queue(state: AppState, submission: Submission) -> None:
    """One work message per image still to do; cache hits get their ``done`` event now."""
    job = submission.job
    try:
        js = state.jetstream()
        events = state.job_events()
        for image in submission.images:
            if image.cached:
                await events.image_finished(image, ImageState.COMPLETED, None)
                continue
            work = WorkMessage(job_id=job.id, tenant_id=job.tenant_id, image=image.index)
            await publish_model(
                js, state.subjects.work(job.id, image.index), work, msg_id=f"{job.id}.{image.index}"
            )
        await events.completed_if_pending(job.id)
    except ApiError:
        await asyncio.to_thread(_forget, state, job.id)
        raise
    except Exception as exc:
        # Without its work messages the job would wait forever: undo it so that the client's
        # retry (same Idempotency-Key) starts afresh. Messages already out find no row and
        # are dropped by the runner.
        log.error("queueing job %s failed: %s", job.id, exc)
        await asyncio.to_thread(_forget, state, job.id)
        raise ApiError(
            503,
            problems.SERVICE_UNAVAILABLE,
            "the job queue (NATS) did not take the job; retry shortly",
            headers={"Retry-After": "5"},
        ) from exc


def _forget(state: AppState, job_id: str) -> None:
    with Session(state.engine) as session:
        crud.delete_job(session, job_id)

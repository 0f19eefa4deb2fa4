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
import dataclasses
import hashlib
import io
import logging
from dataclasses import dataclass

import numpy as np
from fastapi import Request
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import decode_image, decode_mask
from globalpic_gateway import crud
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Tenant
from globalpic_gateway.core.billing import PlanLimits
from globalpic_gateway.core.metrics import IMAGES_SUBMITTED, JOBS_SUBMITTED
from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.state import AppState
from globalpic_gateway.core.uploads import ParsedUpload, UploadedFile, UploadLimits, parse_upload
from globalpic_jobs import state as job_state
from globalpic_jobs.events import WorkMessage
from globalpic_jobs.models import ImageState, Job, JobImage
from globalpic_jobs.options import JobOptions, image_options_hash, parse_options
from globalpic_jobs.queue import publish_model

log = logging.getLogger("globalpic.gateway")

_FORMAT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class CheckedFile:
    """An upload that decoded: its bytes, their sha256 and content type."""

    data: bytes
    sha256: str
    content_type: str


@dataclass(frozen=True)
class CheckedImage:
    index: int
    filename: str
    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int
    mask: CheckedFile | None = None  # brush: erase this too
    keep_mask: CheckedFile | None = None  # brush: never touch
    stored_key: str | None = None  # a re-run's photo, in storage already (data unused)
    reference_key: str | None = None  # adjust: the photo strength blends toward

    def options_hash(self, job_hash: str) -> str | None:
        """Its own cache key's options part when it has masks (None: the job's)."""
        shas = (
            self.mask.sha256 if self.mask else None,
            self.keep_mask.sha256 if self.keep_mask else None,
        )
        return image_options_hash(job_hash, shas)


# Mask and background uploads: the file fields of POST /v1/jobs besides ``images``.
MASK_FIELDS = ("masks", "keep_masks")
BACKGROUND_FIELD = "background"


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
    masks = {field: upload.others.get(field, []) for field in MASK_FIELDS}
    for field, files in masks.items():
        if len(files) > len(checked):
            raise ApiError(
                422,
                errors.BAD_MASK,
                f"{len(files)} {field} files for {len(checked)} images: the k-th mask goes with "
                "the k-th image (send an all-black mask to skip one)",
            )
    for field, files in masks.items():
        for k, file in enumerate(files):
            mask = check_mask(file, f"{field}[{k}]", (checked[k].width, checked[k].height))
            if field == "masks":
                checked[k] = dataclasses.replace(checked[k], mask=mask)
            else:
                checked[k] = dataclasses.replace(checked[k], keep_mask=mask)
    return checked


def check_mask(file: UploadedFile, label: str, size: tuple[int, int]) -> CheckedFile | None:
    """A brush mask for an image of ``size`` (the image's aspect ratio, any resolution);
    None when nothing is painted on it. ``bad_mask`` (422) for one that is not."""
    try:
        mask = decode_mask(file.read(), f"{label} {file.filename}", size)
    except BadInputError as exc:
        raise ApiError.from_bad_input(exc) from exc
    if not np.any(mask):
        return None
    return mask_file(mask)


def mask_file(mask: np.ndarray) -> CheckedFile:
    """A 0 / 255 mask at its image's size as stored: a PNG, the same bytes for the same
    strokes whatever file they came in (JPEG, a preview's resolution)."""
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    return CheckedFile(data, hashlib.sha256(data).hexdigest(), "image/png")


def check_background(upload: ParsedUpload, state: AppState) -> CheckedFile | None:
    files = upload.others.get(BACKGROUND_FIELD, [])
    if not files:
        return None
    data = files[0].read()
    try:
        loaded = decode_image(data, files[0].filename, state.settings.image_limits())
    except BadInputError as exc:
        raise ApiError.from_bad_input(exc, prefix="background ") from exc
    return CheckedFile(data, hashlib.sha256(data).hexdigest(), _FORMAT_TYPES[loaded.source_format])


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
        digest.update((image.options_hash(options_hash) or "").encode())
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
        other_files=(*((name, plan.max_batch) for name in MASK_FIELDS), (BACKGROUND_FIELD, 1)),
    )
    upload = await parse_upload(request, limits)
    try:
        if not upload.files:
            raise ApiError(422, problems.NO_IMAGES, "send at least one image as 'images'")
        background = await asyncio.to_thread(check_background, upload, state)
        try:
            # The background's sha256 stands for it in the options (and their hash) until it
            # is stored; its key is content-addressed, so the two name the same file.
            options: JobOptions = parse_options(
                upload.fields, background=background.sha256 if background else None
            )
        except BadInputError as exc:
            raise ApiError.from_bad_input(exc) from exc
        if any(upload.others.get(name) for name in MASK_FIELDS) and "clean" not in options.ops:
            raise ApiError(422, errors.BAD_OPTION, "brush masks need 'clean' in the form field ops")
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
    return await enqueue(
        state,
        tenant,
        Batch(images, options, options_hash, background),
        idempotency=(idempotency_key, fingerprint) if idempotency_key else None,
    )


@dataclass(frozen=True)
class Batch:
    """A checked job to create: its images, options (and their hash), the seller's background."""

    images: list[CheckedImage]
    options: JobOptions
    options_hash: str
    background: CheckedFile | None = None
    parent: tuple[str, int] | None = None  # a re-run's job and image


async def enqueue(
    state: AppState, tenant: Tenant, batch: Batch, idempotency: tuple[str, str] | None = None
) -> Submission:
    """Hold the images against the plan, store, record and queue; the hold is given back
    when any of it fails (or another request with the same Idempotency-Key won)."""
    job_id = crud.new_job_id()
    await state.billing.reserve(tenant, job_id, len(batch.images))
    try:
        submission = await _store_and_record(state, tenant, job_id, batch, idempotency)
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
    batch: Batch,
    idempotency: tuple[str, str] | None,
) -> Submission:
    settings = state.settings

    async def put(file: CheckedFile | None) -> str | None:
        if file is None:
            return None
        info = await asyncio.to_thread(
            state.storage.put, tenant.id, "originals", file.data, file.content_type
        )
        return info.key

    options = batch.options
    if batch.background is not None:
        options = dataclasses.replace(options, background=await put(batch.background))
    new_images: list[crud.NewImage] = []
    for image in batch.images:
        original_key = image.stored_key or await put(
            CheckedFile(image.data, image.sha256, image.content_type)
        )
        assert original_key is not None
        new_images.append(
            crud.NewImage(
                index=image.index,
                filename=image.filename,
                sha256=image.sha256,
                original_key=original_key,
                content_type=image.content_type,
                width=image.width,
                height=image.height,
                mask_key=await put(image.mask),
                keep_mask_key=await put(image.keep_mask),
                reference_key=image.reference_key,
                options_hash=image.options_hash(batch.options_hash),
            )
        )

    def record() -> Submission:
        with Session(state.engine) as session:
            job = crud.create_job(
                session,
                job_id=job_id,
                tenant_id=tenant.id,
                options=options,
                options_hash=batch.options_hash,
                images=new_images,
                cache=job_state.CachePolicy(
                    settings.result_cache_enabled, settings.result_cache_ttl_seconds
                ),
                idempotency=idempotency,
                parent=batch.parent,
            )
            return Submission(job, job_state.job_images(session, job.id), replayed=False)

    try:
        return await asyncio.to_thread(record)
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race: answer with its job.
        assert idempotency is not None
        replay = await asyncio.to_thread(_replay, state, tenant, *idempotency)
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

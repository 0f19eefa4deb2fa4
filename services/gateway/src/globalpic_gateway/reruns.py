"""Re-runs of one image: ``adjust`` (fine-tune a result), ``clean`` (erase again with brush
masks or chosen text lines), ``retry`` (the same work again).

A re-run is a job of its own, of one image, pointing at the image it came from
(``rerun_of``): it goes through the same hold, queue, runner, events and billing as any
submission, so nothing about a finished job ever changes after the fact, and a client follows
it exactly as it follows an upload. Nothing is uploaded again: the new job reads the stored
original (or result, for ``adjust``), and the parent's masks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from sqlmodel import Session

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import decode_mask
from globalpic_common.schemas import ImageReport, parse_ops
from globalpic_gateway import crud
from globalpic_gateway.api.deps import job_not_found
from globalpic_gateway.api.views import content_type_of
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Tenant
from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.state import AppState
from globalpic_gateway.submit import (
    Batch,
    CheckedFile,
    CheckedImage,
    Submission,
    enqueue,
    mask_file,
)
from globalpic_jobs import state as job_state
from globalpic_jobs.models import ImageState, Job, JobImage
from globalpic_jobs.options import ADJUST_OP, Adjustment, JobOptions, job_options

# Pixels around an erased text line's box: anti-aliased glyph edges and shadows reach past
# the box OCR reports (clean's own masks grow its boxes alike).
TEXT_MARGIN_PX = 4


@dataclass(frozen=True)
class Parent:
    job: Job
    image: JobImage


def _load_parent(state: AppState, tenant: Tenant, job_id: str, index: int) -> Parent:
    with Session(state.engine) as session:
        job = crud.get_job(session, tenant.id, job_id)
        if job is None:
            raise job_not_found(job_id)
        image = job_state.get_image(session, job_id, index)
        if image is None:
            raise ApiError(404, problems.IMAGE_NOT_FOUND, f"job {job_id} has no image {index}")
        session.expunge(job)
        session.expunge(image)
        return Parent(job, image)


def _stored_mask(state: AppState, tenant: Tenant, key: str | None) -> CheckedFile | None:
    if key is None:
        return None
    data = state.storage.get(tenant.id, key)
    return CheckedFile(data, hashlib.sha256(data).hexdigest(), "image/png")


def _same_photo(
    parent: Parent, mask: CheckedFile | None, keep_mask: CheckedFile | None
) -> CheckedImage:
    """The parent's photo as a re-run's one image (read from storage by the runner)."""
    image = parent.image
    return CheckedImage(
        index=0,
        filename=image.filename,
        data=b"",
        sha256=image.input_sha256,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        stored_key=image.original_key,
        reference_key=image.reference_key,
        mask=mask,
        keep_mask=keep_mask,
    )


async def _enqueue(
    state: AppState, tenant: Tenant, parent: Parent, image: CheckedImage, options: JobOptions
) -> Submission:
    batch = Batch(
        images=[image],
        options=options,
        options_hash=options.hash(state.settings.output_format),
        parent=(parent.job.id, parent.image.index),
    )
    return await enqueue(state, tenant, batch)


async def retry(state: AppState, tenant: Tenant, job_id: str, index: int) -> Submission:
    """The image's work again, with its options and masks (a failed image, or another try)."""
    parent = await asyncio.to_thread(_load_parent, state, tenant, job_id, index)

    def photo() -> CheckedImage:
        return _same_photo(
            parent,
            mask=_stored_mask(state, tenant, parent.image.mask_key),
            keep_mask=_stored_mask(state, tenant, parent.image.keep_mask_key),
        )

    image = await asyncio.to_thread(photo)
    return await _enqueue(state, tenant, parent, image, job_options(parent.job))


def text_mask(report: ImageReport, indices: list[int], size: tuple[int, int]) -> np.ndarray:
    """The report's text lines ``indices`` as a 0 / 255 mask of the image's ``size``."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    for i in indices:
        if not 0 <= i < len(report.texts):
            raise ApiError(
                422,
                errors.BAD_OPTION,
                f"erase_texts: the image has {len(report.texts)} text lines, no line {i}",
            )
        points = [(float(x), float(y)) for x, y in report.texts[i].box]
        draw.polygon(points, fill=255, outline=255, width=2 * TEXT_MARGIN_PX)
    return np.asarray(canvas, dtype=np.uint8)


def parse_indices(spec: str) -> list[int]:
    """``"0, 3"`` -> [0, 3]; ``bad_option`` for anything else."""
    out: list[int] = []
    for part in spec.split(","):
        if not part.strip():
            continue
        try:
            value = int(part)
        except ValueError:
            raise ApiError(
                422, errors.BAD_OPTION, f"erase_texts: {part.strip()!r} is not a line number"
            ) from None
        out.append(value)
    return out


async def clean(
    state: AppState,
    tenant: Tenant,
    job_id: str,
    index: int,
    *,
    mask: bytes | None,
    keep_mask: bytes | None,
    erase_texts: list[int],
) -> Submission:
    """Clean the image again: what the seller painted (``mask``: erase, ``keep_mask``: never
    touch) and the text lines picked from the report (``erase_texts``, e.g. the ones kept on
    doubt), on top of the parent's own erase mask; the rest of its ops as they were."""
    if mask is None and keep_mask is None and not erase_texts:
        raise ApiError(
            422,
            errors.BAD_OPTION,
            "send a mask, a keep_mask, or erase_texts: there is nothing to clean again",
        )
    parent = await asyncio.to_thread(_load_parent, state, tenant, job_id, index)
    if parent.job.ops == ADJUST_OP:
        raise ApiError(
            422, errors.BAD_OPTION, "an adjusted result is cleaned from the job it came from"
        )
    size = (parent.image.width, parent.image.height)

    def masks() -> tuple[CheckedFile | None, CheckedFile | None]:
        erase = np.zeros((size[1], size[0]), np.uint8)
        if parent.image.mask_key is not None:
            erase |= decode_mask(state.storage.get(tenant.id, parent.image.mask_key), "mask", size)
        if mask is not None:
            erase |= _decode(mask, "mask", size)
        if erase_texts:
            report = parent.image.report
            if parent.image.state != ImageState.COMPLETED.value or report is None:
                raise ApiError(
                    409,
                    problems.RESULT_NOT_READY,
                    f"image {index} is {parent.image.state}: its text lines are not known yet",
                )
            erase |= text_mask(ImageReport.model_validate(report), erase_texts, size)
        keep = (
            _decode(keep_mask, "keep_mask", size)
            if keep_mask is not None
            else None
            if parent.image.keep_mask_key is None
            else decode_mask(
                state.storage.get(tenant.id, parent.image.keep_mask_key), "keep_mask", size
            )
        )
        return (
            mask_file(erase) if erase.any() else None,
            mask_file(keep) if keep is not None and keep.any() else None,
        )

    erase_file, keep_file = await asyncio.to_thread(masks)
    options = job_options(parent.job)
    if "clean" not in options.ops:
        ops = tuple(op.value for op in parse_ops(",".join(("clean", *options.ops))))
        options = dataclasses.replace(options, ops=ops)
    image = _same_photo(parent, mask=erase_file, keep_mask=keep_file)
    return await _enqueue(state, tenant, parent, image, options)


def _decode(data: bytes, label: str, size: tuple[int, int]) -> np.ndarray:
    try:
        return decode_mask(data, label, size)
    except BadInputError as exc:
        raise ApiError.from_bad_input(exc) from exc


async def adjust(
    state: AppState, tenant: Tenant, job_id: str, index: int, values: Adjustment
) -> Submission:
    """Fine-tune one of the image's results: a job of op ``adjust`` whose photo is that
    result, and whose reference (for strength) is the photo the seller uploaded."""
    parent = await asyncio.to_thread(_load_parent, state, tenant, job_id, index)
    image = parent.image
    if image.state != ImageState.COMPLETED.value:
        raise ApiError(
            409, problems.RESULT_NOT_READY, f"image {index} is {image.state}; not done yet"
        )
    if not 0 <= values.candidate < len(image.outputs):
        raise ApiError(
            422,
            errors.BAD_OPTION,
            f"image {index} has {len(image.outputs)} result(s): candidate is 0-based, "
            f"0..{len(image.outputs) - 1}",
        )
    report = ImageReport.model_validate(image.report or {"input": image.filename})
    width, height = report.width or image.width, report.height or image.height
    # The first photo of the chain: an adjusted result's own reference is the upload.
    reference = image.reference_key or image.original_key
    if values.strength < 1.0 and abs(width / height - image.width / image.height) > 0.01:
        raise ApiError(
            422,
            errors.BAD_OPTION,
            f"strength below 1 blends toward the original photo ({image.width}x{image.height}),"
            f" but this result is {width}x{height}, framed for a marketplace: keep strength 1",
        )
    key = image.outputs[values.candidate]

    def result_sha() -> str:
        return hashlib.sha256(state.storage.get(tenant.id, key)).hexdigest()

    photo = CheckedImage(
        index=0,
        filename=image.filename,
        data=b"",
        sha256=await asyncio.to_thread(result_sha),
        content_type=content_type_of(key),
        width=width,
        height=height,
        stored_key=key,
        reference_key=reference,
    )
    options = JobOptions(ops=(ADJUST_OP,), style=None, platform=None, candidates=1, adjust=values)
    return await _enqueue(state, tenant, parent, photo, options)

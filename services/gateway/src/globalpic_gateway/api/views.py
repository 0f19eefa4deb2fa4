"""Rows -> response models: the one place that decides what a client sees of a job."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter

from globalpic_common.schemas import ErrorInfo, ImageReport, RuleResult
from globalpic_gateway.api.signed_urls import SignedUrl
from globalpic_gateway.schemas import (
    AdjustmentOut,
    ImageOut,
    JobLinks,
    JobOptionsOut,
    JobOut,
    JobSummary,
    OutputOut,
    RerunOf,
)
from globalpic_jobs.models import ImageState, Job, JobImage, JobStatus

_EXT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class JobFields(Protocol):
    """What a view reads of a job: a ``Job`` row, or ``crud.JobRow`` (read without the ORM)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def ops(self) -> str: ...
    @property
    def style(self) -> str | None: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def candidates(self) -> int: ...
    @property
    def image_count(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def extras(self) -> dict[str, Any]: ...
    @property
    def parent_job_id(self) -> str | None: ...
    @property
    def parent_image(self) -> int | None: ...


class ImageFields(Protocol):
    """What a view reads of an image but its report: a ``JobImage``, or ``crud.ImageRow``."""

    @property
    def id(self) -> int | None: ...
    @property
    def job_id(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def filename(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def percent(self) -> int: ...
    @property
    def cached(self) -> bool: ...
    @property
    def attempts(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def outputs(self) -> list[str]: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def finished_at(self) -> datetime | None: ...


def job_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def result_path(job_id: str, index: int, candidate: int = 1) -> str:
    suffix = f"?candidate={candidate}" if candidate > 1 else ""
    return f"{job_path(job_id)}/images/{index}/result{suffix}"


def _links(job_id: str) -> JobLinks:
    base = job_path(job_id)
    return JobLinks(self=base, events=f"{base}/events", results_zip=f"{base}/results.zip")


def summary(job: JobFields, counts: dict[str, int]) -> JobSummary:
    return JobSummary(
        id=job.id,
        status=JobStatus(job.status),
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        options=_options_out(job),
        image_count=job.image_count,
        counts=counts,
        links=_links(job.id),
        rerun_of=(
            RerunOf(job_id=job.parent_job_id, image=job.parent_image or 0)
            if job.parent_job_id
            else None
        ),
    )


def _options_out(job: JobFields) -> JobOptionsOut:
    extras = job.extras or {}
    adjust = extras.get("adjust")
    return JobOptionsOut(
        ops=job.ops.split(","),
        style=job.style,
        platform=job.platform,
        candidates=job.candidates,
        keywords=extras.get("keywords", []),
        facts=extras.get("facts", ""),
        copy_platforms=extras.get("copy_platforms", []),
        background="background" in extras,
        adjust=AdjustmentOut(**adjust) if adjust else None,
    )


def content_type_of(key: str) -> str:
    return _EXT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def image_out(image: JobImage) -> ImageOut:
    return image_view(image, image.report)


# A storage key -> its signed URL as the client gets it (``api.signed_urls``), or None.
Sign = Callable[[str], SignedUrl | None]


def _outputs(image: ImageFields, sign: Sign | None) -> list[OutputOut]:
    outputs = []
    for k, key in enumerate(image.outputs, start=1):
        signed = sign(key) if sign is not None else None
        outputs.append(
            OutputOut(
                candidate=k,
                url=result_path(image.job_id, image.index, k),
                content_type=content_type_of(key),
                signed_url=signed.url if signed else None,
                signed_url_expires_at=signed.expires_at if signed else None,
            )
        )
    return outputs


_OUTPUTS_JSON = TypeAdapter(list[OutputOut])


def image_view(
    image: ImageFields, report_data: dict[str, Any] | None, sign: Sign | None = None
) -> ImageOut:
    """``image_out`` of an image whose report was read apart; ``sign``: fill the outputs'
    signed URLs (``GET /v1/jobs/{id}``; elsewhere they stay null)."""
    report = ImageReport.model_validate(report_data) if report_data else None
    checks: list[RuleResult] = report.checks if report else []
    if report is not None:
        # Storage keys are an internal detail: a client downloads through the result URLs.
        report = report.model_copy(update={"output": None, "outputs": []})
    outputs = _outputs(image, sign)
    error = (
        ErrorInfo(code=image.error_code, message=image.error_message or "")
        if image.error_code
        else None
    )
    return ImageOut(
        index=image.index,
        filename=image.filename,
        state=ImageState(image.state),
        stage=image.stage,
        percent=image.percent,
        cached=image.cached,
        attempts=image.attempts,
        width=image.width,
        height=image.height,
        outputs=outputs,
        checks=checks,
        report=report,
        error=error,
    )


def job_out(job: Job, images: list[JobImage]) -> JobOut:
    counts = {state.value: 0 for state in ImageState}
    for image in images:
        counts[image.state] += 1
    base = summary(job, counts)
    return JobOut(**base.model_dump(), images=[image_out(image) for image in images])


# --- GET /v1/jobs/{id}: the same JSON as job_out(...).model_dump_json(), cheaper -------------

ImageKey = tuple[int, str, int, str, int, datetime | None]


def _finished_key(image: ImageFields) -> ImageKey | None:
    """The cache key of a finished image; None for an unfinished one (it still changes)."""
    if image.id is None or not ImageState(image.state).terminal:
        return None
    # The id alone would do on PostgreSQL; the rest guards against an id that SQLite re-used
    # after a job was deleted (a submission that could not be queued).
    return (image.id, image.job_id, image.index, image.state, image.attempts, image.finished_at)


class FinishedImageCache:
    """The rendered JSON of finished images, least recently used out first.

    A finished image's row never changes again: every runner update of an image is conditional
    on it being neither completed nor failed (``crud``). Its report (stage seconds, texts with
    their boxes and cues, checks: several KB of JSON) is what makes ``GET /v1/jobs/{id}``
    expensive: decoding, validating and encoding it on every poll was most of the gateway's
    CPU under polling load. So it is rendered once per gateway process. Thread-safe (routes
    render in worker threads); ``max_images`` 0 turns it off.
    """

    def __init__(self, max_images: int) -> None:
        self.max_images = max_images
        self._entries: OrderedDict[ImageKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: ImageKey) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: ImageKey, value: bytes) -> None:
        if self.max_images <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_images:
                self._entries.popitem(last=False)


def _signed(rendered: bytes, image: ImageFields, sign: Sign | None) -> bytes:
    """A finished image's cached JSON with its outputs signed now.

    The cache keeps the image with unsigned outputs (a signature expires; nothing else of a
    finished image changes), so its ``"outputs":[...]`` is swapped for the signed one on the
    way out: a few hundred bytes rendered, not the report. The first match is the image's own
    field (it comes before ``report``, whose ``outputs`` is always empty; a quote inside a
    string, such as the filename, is escaped and cannot match).
    """
    if sign is None or not image.outputs:
        return rendered
    unsigned = b'"outputs":' + _OUTPUTS_JSON.dump_json(_outputs(image, None))
    signed = b'"outputs":' + _OUTPUTS_JSON.dump_json(_outputs(image, sign))
    return rendered.replace(unsigned, signed, 1)


def job_json(
    job: JobFields,
    images: Sequence[tuple[ImageFields, dict[str, Any] | None]],
    load_reports: Callable[[list[int]], dict[int, dict[str, Any] | None]],
    cache: FinishedImageCache,
    sign: Sign | None = None,
) -> bytes:
    """``job_out(job, images).model_dump_json()``, with finished images from ``cache``, and
    with the outputs' signed URLs when ``sign`` is given.

    ``images``: (row, report) pairs in index order, where a finished image's report may be left
    unread (``crud.read_images_for_view``); ``load_reports`` reads those that are not cached.
    """
    counts = {state.value: 0 for state in ImageState}
    parts: list[bytes | None] = []
    missing: list[tuple[int, ImageFields, ImageKey]] = []
    for position, (image, report_data) in enumerate(images):
        counts[image.state] += 1
        key = _finished_key(image)
        if key is None:
            parts.append(image_view(image, report_data, sign).model_dump_json().encode())
            continue
        cached = cache.get(key)
        if cached is None:
            missing.append((position, image, key))
        parts.append(None if cached is None else _signed(cached, image, sign))
    if missing:
        reports = load_reports([key[0] for _position, _image, key in missing])
        for position, image, key in missing:
            rendered = image_view(image, reports.get(key[0])).model_dump_json().encode()
            cache.put(key, rendered)
            parts[position] = _signed(rendered, image, sign)
    rendered_all = [part for part in parts if part is not None]
    assert len(rendered_all) == len(parts)
    # JobOut is JobSummary + `images` (its last field): the summary's object, then the array.
    head = summary(job, counts).model_dump_json().encode()
    return head[:-1] + b',"images":[' + b",".join(rendered_all) + b"]}"

"""Publishing a job's events: per-image progress and the one ``completed`` per job.

Used by the orchestrator (as images go through the stages) and by the gateway (images answered from
the result cache are finished at submission, so their ``done`` events come from there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy.engine import Engine
from sqlmodel import Session

from globalpic_common.schemas import ErrorInfo, ProgressStage, TextAction, TextRegion
from globalpic_db.clock import utcnow
from globalpic_jobs import state as job_state
from globalpic_jobs.events import ImageProgress, JobCompleted
from globalpic_jobs.models import ImageState, Job, JobImage, JobStatus
from globalpic_jobs.queue import Subjects, publish_model


def uncertain_texts(report: dict[str, Any] | None) -> list[TextRegion]:
    """The lines of an image report that clean kept on doubt (``kept_uncertain``)."""
    texts = (report or {}).get("texts") or []
    return [
        TextRegion.model_validate(t)
        for t in texts
        if isinstance(t, dict) and t.get("action") == TextAction.KEPT_UNCERTAIN.value
    ]


def completion(job: Job, images: Sequence[JobImage]) -> JobCompleted:
    """A finished job's ``completed`` event, from its rows (the runner's and SSE's alike)."""
    return JobCompleted(
        job_id=job.id,
        tenant_id=job.tenant_id,
        status=JobStatus(job.status),
        images=job.image_count,
        completed=sum(i.state == ImageState.COMPLETED.value for i in images),
        failed=sum(i.state == ImageState.FAILED.value for i in images),
        cached=sum(i.cached for i in images),
        finished_at=job.finished_at or utcnow(),
    )


class JobEvents:
    def __init__(self, js: JetStreamContext, subjects: Subjects, engine: Engine) -> None:
        self.js = js
        self.subjects = subjects
        self.engine = engine

    async def progress(
        self,
        image: JobImage,
        stage: ProgressStage,
        percent: int,
        *,
        state: ImageState = ImageState.RUNNING,
        eta_seconds: float | None = None,
        error: ErrorInfo | None = None,
        msg_id: str | None = None,
        uncertain: Sequence[TextRegion] = (),
        cached: bool = False,
    ) -> int:
        event = ImageProgress(
            input=image.filename,
            stage=stage,
            percent=percent,
            job_id=image.job_id,
            tenant_id=image.tenant_id,
            image=image.index,
            state=state,
            eta_seconds=eta_seconds,
            error=error,
            cached=cached,
            uncertain_texts=list(uncertain),
        )
        return await publish_model(self.js, self.subjects.progress(image.job_id), event, msg_id)

    async def image_finished(
        self,
        image: JobImage,
        state: ImageState,
        error: ErrorInfo | None,
        report: dict[str, Any] | None = None,
    ) -> int:
        """The image's last progress event (stage ``done``); one per image, deduplicated.

        With the image's ``report`` (the runner that just recorded it), the event lists the
        lines kept on doubt; a re-publish after a crash goes without (the job view has them).
        """
        return await self.progress(
            image,
            ProgressStage.DONE,
            100,
            state=state,
            eta_seconds=0.0,
            error=error,
            msg_id=f"{image.job_id}.{image.index}.done",
            uncertain=uncertain_texts(report),
            cached=bool(image.cached),
        )

    async def completed_if_pending(self, job_id: str) -> bool:
        """Publish the job's ``completed`` event when it is finished and not yet announced."""

        def load() -> JobCompleted | None:
            with Session(self.engine) as session:
                job = job_state.completed_event_pending(session, job_id)
                if job is None:
                    return None
                return completion(job, job_state.job_images(session, job_id))

        event = await asyncio.to_thread(load)
        if event is None:
            return False
        await publish_model(
            self.js, self.subjects.completed(job_id), event, msg_id=f"{job_id}.completed"
        )

        def mark() -> None:
            with Session(self.engine) as session:
                job_state.mark_completed_event_sent(session, job_id)

        await asyncio.to_thread(mark)
        return True

"""The events a team can subscribe to, made from the job events on JetStream.

* ``job.completed``: ``JobCompleted`` with status ``completed`` (at least one image
  succeeded); data: job id, status, image counts, ``finished_at``, the job's API path.
* ``job.failed``: ``JobCompleted`` with status ``failed`` (every image failed); the same.
* ``image.completed``: ``ImageProgress`` stage ``done``, state ``completed`` (images from the
  result cache too, ``cached`` says so); data: job id, image index, input name, the result's
  API path.
* ``webhook.test``: ``SendTest``; data: the endpoint's id.

The body is the Standard Webhooks shape, ``{"type", "timestamp", "data"}``, compact JSON.
The ``webhook-id`` is ``msg_`` + a hash of the event's identity (job id, type, image index):
a NATS message delivered twice, or a ``done`` the orchestrator published twice after a
runner died, gives the same id, and the delivery table keeps one row per endpoint and id.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from globalpic_common.schemas import ProgressStage
from globalpic_jobs.events import ImageProgress, JobCompleted
from globalpic_jobs.models import ImageState, JobStatus


class EventType(StrEnum):
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    IMAGE_COMPLETED = "image.completed"
    TEST = "webhook.test"


# What an endpoint may subscribe to (webhook.test always reaches the endpoint it names).
SUBSCRIBABLE: tuple[str, ...] = (
    EventType.JOB_COMPLETED.value,
    EventType.JOB_FAILED.value,
    EventType.IMAGE_COMPLETED.value,
)


@dataclass(frozen=True)
class WebhookEvent:
    type: str
    message_id: str
    tenant_id: str
    occurred_at: datetime
    body: str  # what is signed and sent, byte for byte


def message_id_for(*identity: str) -> str:
    """``msg_`` + 32 hex digits of SHA-256 over the identity: stable, no dots (the spec
    signs ``{id}.{timestamp}.{body}``)."""
    digest = hashlib.sha256("\x1f".join(identity).encode()).hexdigest()
    return f"msg_{digest[:32]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body_of(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    payload = {"type": event_type, "timestamp": iso(occurred_at), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def from_progress(event: ImageProgress, occurred_at: datetime) -> WebhookEvent | None:
    """``image.completed`` for an image's ``done`` in state completed; else nothing."""
    if event.stage != ProgressStage.DONE or event.state != ImageState.COMPLETED:
        return None
    kind = EventType.IMAGE_COMPLETED.value
    data = {
        "job_id": event.job_id,
        "image": event.image,
        "input": event.input,
        "cached": event.cached,
        "result_path": f"/v1/jobs/{event.job_id}/images/{event.image}/result",
    }
    return WebhookEvent(
        type=kind,
        message_id=message_id_for(event.job_id, kind, str(event.image)),
        tenant_id=event.tenant_id,
        occurred_at=occurred_at,
        body=body_of(kind, occurred_at, data),
    )


def from_completed(event: JobCompleted) -> WebhookEvent | None:
    """``job.completed`` / ``job.failed`` by the job's final status."""
    if event.status == JobStatus.COMPLETED:
        kind = EventType.JOB_COMPLETED.value
    elif event.status == JobStatus.FAILED:
        kind = EventType.JOB_FAILED.value
    else:
        return None
    data = {
        "job_id": event.job_id,
        "status": event.status.value,
        "images": event.images,
        "completed": event.completed,
        "failed": event.failed,
        "cached": event.cached,
        "finished_at": iso(event.finished_at),
        "job_path": f"/v1/jobs/{event.job_id}",
    }
    return WebhookEvent(
        type=kind,
        message_id=message_id_for(event.job_id, kind),
        tenant_id=event.tenant_id,
        occurred_at=event.finished_at,
        body=body_of(kind, event.finished_at, data),
    )


def ping_event(tenant_id: str, endpoint_id: str, now: datetime) -> WebhookEvent:
    """A ``webhook.test`` event: a fresh id each time."""
    kind = EventType.TEST.value
    data = {"endpoint_id": endpoint_id, "message": "a test event from GlobalPic"}
    return WebhookEvent(
        type=kind,
        message_id=f"msg_{secrets.token_hex(16)}",
        tenant_id=tenant_id,
        occurred_at=now,
        body=body_of(kind, now, data),
    )

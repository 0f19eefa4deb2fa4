"""``GET /v1/jobs/{id}/events``: the job's progress as Server-Sent Events.

Events come from the ``GLOBALPIC_EVENTS`` JetStream stream, replayed from its start for the job
(or from just after ``Last-Event-ID``: the SSE id is the stream sequence), then live: read by
direct get, woken by the gateway's one subscription to every job's events
(``core.event_feed``), with no JetStream consumer per connection. Each is
``event: progress`` (``ImageProgress``: stage, percent, ETA per image) or ``event: completed``
(``JobCompleted``), after which the stream ends. A client should stop reconnecting once it has
seen ``completed``; one that resumes after it gets the job's completion again and the end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import nats.errors
from fastapi import APIRouter, Header
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent

from globalpic_common.quantities import IntegerParseError, parse_int
from globalpic_gateway import crud
from globalpic_gateway.api.deps import ReaderDep, StateDep, job_not_found
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError, problem_responses
from globalpic_gateway.core.state import AppState
from globalpic_jobs import state as job_state
from globalpic_jobs.events import JobCompleted
from globalpic_jobs.models import JobStatus
from globalpic_jobs.publisher import completion

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
log = logging.getLogger("globalpic.gateway.events")

# With no event for this long, look at the job's row: a job finished long ago (its events aged
# out of the stream) still gets its completion instead of an endless wait.
IDLE_CHECK_SECONDS = 2.0
PING_SECONDS = 15

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream of `progress` and `completed` events; `id` is the "
        "event's stream sequence (send it back as `Last-Event-ID` to resume).",
        "content": {
            "text/event-stream": {
                # OpenAPI 3.1 (no itemSchema yet): `schema` describes one event
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^[0-9]+$"},
                        "event": {"type": "string", "enum": ["progress", "completed"]},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                        "retry": {"type": "integer"},
                    },
                },
                "example": (
                    'id: 12\nevent: progress\ndata: {"input": "mug.jpg", "stage": "remix", '
                    '"percent": 75, "job_id": "5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a", '
                    '"tenant_id": "acme", "image": 0, "state": "running", "eta_seconds": 1.4, '
                    '"error": null}\n\n'
                    'id: 19\nevent: completed\ndata: {"job_id": '
                    '"5f0c6d1f7a2b4c1e9d8a3b2c1d0e9f8a", "tenant_id": "acme", "status": '
                    '"completed", "images": 1, "completed": 1, "failed": 0, "cached": 0, '
                    '"finished_at": "2026-01-05T10:00:04Z"}\n\n'
                ),
            }
        },
    }
}


# Event ids are JetStream sequences; the largest one a client may send back has 18 digits
# (10^18 events: beyond any stream's life), so every id fits the 64-bit sequence it names.
MAX_EVENT_ID = 10**18 - 1


def _start_sequence(last_event_id: str) -> int | None:
    if last_event_id == "":  # the HTTP server strips surrounding blanks
        return None
    try:
        return parse_int(last_event_id, maximum=MAX_EVENT_ID) + 1
    except IntegerParseError:
        raise ApiError(
            422,
            problems.BAD_LAST_EVENT_ID,
            f"Last-Event-ID {last_event_id!r} is not an event id this stream sent",
        ) from None


def _snapshot(state: AppState, tenant_id: str, job_id: str) -> JobCompleted | None:
    """The job's completion from its rows, once its ``completed`` event went out.

    Not before: the orchestrator records the last image (the job is finished in its row)
    before it publishes that image's ``done`` and the job's ``completed``, and on a busy
    machine that can take longer than the idle check. A snapshot then would end the stream
    without the last image's ``done``; waiting costs nothing, as the events are coming (an
    orchestrator that dies in between leaves the message to be redelivered, which publishes
    them)."""
    with Session(state.engine) as session:
        job = crud.get_job(session, tenant_id, job_id)
        if job is None or job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
            return None
        if not job.completed_event_sent:
            return None
        return completion(job, job_state.job_images(session, job_id))


async def _events(
    state: AppState, tenant_id: str, job_id: str, start: int | None
) -> AsyncIterator[ServerSentEvent]:
    """The job's stored events from ``start`` (its first one by default), then each new one as
    it is published, until ``completed`` (``core.event_feed``: direct gets and a doorbell)."""
    feed = state.event_feed()
    cursor = start or 1  # the next stream sequence to look at
    quiet = False  # the last wait for the doorbell ran out without a ring
    with feed.doorbell(job_id) as bell:
        while True:
            snapshot = None
            if quiet:
                # The store before the stream: ``completed`` is published before it is marked
                # sent, so a snapshot taken first never hides an event the read below finds.
                snapshot = await asyncio.to_thread(_snapshot, state, tenant_id, job_id)
            bell.clear()  # before reading: whatever is published after the read rings again
            try:
                event = await feed.next_stored(job_id, cursor)
            except nats.errors.Error as exc:  # NATS restarting: keep the stream, look again
                log.info("SSE for job %s: events not readable now (%r)", job_id, exc)
                event = None
            if event is not None:
                cursor = event.seq + 1
                yield ServerSentEvent(data=event.data.decode(), event=event.kind, id=str(event.seq))
                if event.kind == "completed":
                    return
                continue
            if snapshot is not None:
                # finished, announced, and nothing left in the stream for us (its events
                # expired, or were read by an earlier connection): the stored outcome
                yield ServerSentEvent(data=snapshot.model_dump_json(), event="completed")
                return
            try:
                await asyncio.wait_for(bell.wait(), IDLE_CHECK_SECONDS)
                quiet = False
            except TimeoutError:
                # a ring lost in a reconnect costs at most this wait, never an event
                quiet = True


@router.get(
    "/{job_id}/events",
    summary="Progress of a job as Server-Sent Events (resumable)",
    response_class=EventSourceResponse,
    responses={**_SSE_DOC, **problem_responses(401, 404, 422, 503)},
)
async def job_events(
    job_id: str,
    state: StateDep,
    tenant: ReaderDep,
    last_event_id: Annotated[
        str,
        Header(
            alias="Last-Event-ID",
            description="Resume after this event id (browsers send it when they reconnect); "
            "empty: from the first event",
            # documented, not enforced by FastAPI: a bad id is `bad_last_event_id`, not a
            # generic validation error
            json_schema_extra={"pattern": f"^[0-9]{{0,{len(str(MAX_EVENT_ID))}}}$"},
        ),
    ] = "",
) -> EventSourceResponse:
    start = _start_sequence(last_event_id)

    def exists() -> bool:
        with state.read_engine.connect() as conn:
            return crud.job_exists(conn, tenant.id, job_id)

    if not await asyncio.to_thread(exists):
        raise job_not_found(job_id)
    state.event_feed()  # 503 now rather than a stream that dies at once
    return EventSourceResponse(
        _events(state, tenant.id, job_id, start),
        ping=PING_SECONDS,
        headers={"Cache-Control": "no-store"},
    )

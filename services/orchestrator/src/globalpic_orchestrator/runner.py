"""The job runner (``globalpic-orchestrator``, its own process): drives each image of a job
through the pipeline.

One JetStream message per image, pulled from the durable consumer all runners share. For each:

1. mark the image running (a message whose image is already finished — a redelivery after a
   crash between record and ack — is acked without processing it again, once its ``done``
   event is re-published: the crash may have come before it went out);
2. fetch the original from storage, run ``localize`` in a worker thread while the event loop
   heartbeats the message (``in_progress()``) and publishes progress events with an ETA;
3. store the results (content-addressed, so a re-put after a crash is harmless), then record
   the image and its cache entry in one transaction (a conditional UPDATE: recorded once);
4. publish the image's ``done`` event and, when the job is finished, ``completed`` — after
   the ``done`` events of the job's other recently finished images once more (deduplicated by
   the stream), so that ``completed`` is the last event even when two runners finish a job's
   last images together;
5. ack — only now, so a runner that dies anywhere above leaves the message to be redelivered.

Between 3 and 4 sits the test failpoint ``after_store`` (``GLOBALPIC_ORCHESTRATOR__FAILPOINT``,
off by default, refused outside development; ``settings.Failpoint``): the runner kills
itself there, or pauses there until a test lets it go on, so tests and the fault bench hit
the "recorded, not acked" window on purpose instead of by timing.

Bad input fails the image for good (acked). Any other error is retried (nak with backoff) until
``max_deliver``; the last failure moves the message to the dead-letter stream and fails the
image. A runner killed during the last delivery is covered by JetStream's max-deliveries
advisory, which a runner turns into the same dead-letter + failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.metrics import observe_stages
from globalpic_common.schemas import STAGE_PERCENT, ErrorInfo, ProgressStage
from globalpic_common.tracing import extract_headers, tracer
from globalpic_db.clock import utcnow
from globalpic_jobs import state as job_state
from globalpic_jobs.events import WorkMessage
from globalpic_jobs.models import ImageState, Job, JobImage
from globalpic_jobs.options import JobOptions, job_options
from globalpic_jobs.publisher import JobEvents
from globalpic_jobs.queue import (
    DUPLICATE_WINDOW_SECONDS,
    Subjects,
    connect,
    ensure_streams,
    fetch_batch,
)
from globalpic_orchestrator.consumer import ensure_work_consumer
from globalpic_orchestrator.eta import EtaEstimator
from globalpic_orchestrator.metrics import RUNNER_IMAGE_SECONDS, RUNNER_IMAGES
from globalpic_orchestrator.processing import ImageInputs, ImageProcessor
from globalpic_orchestrator.settings import OrchestratorSettings, failpoint_subject
from globalpic_storage import Storage

log = logging.getLogger("globalpic.runner")

PROCESSING_FAILED = "processing_failed"
MAX_RETRY_DELAY = 30.0
ADVISORY_QUEUE = "globalpic-runner-advisories"
# What a runner logs when its failpoint fires (the fault bench looks for it in the logs).
FAILPOINT_TEXT = "failpoint fired:"
# The longest a ``pause`` failpoint waits for its answer before going on.
FAILPOINT_PAUSE_LIMIT_SECONDS = 300.0


class Runner:
    def __init__(
        self,
        settings: OrchestratorSettings,
        engine: Engine,
        storage: Storage,
        processor: ImageProcessor,
        nc: NatsClient,
        *,
        fetch_timeout: float = 2.0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.storage = storage
        self.processor = processor
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.subjects = Subjects.from_settings(settings)
        self.events = JobEvents(self.js, self.subjects, engine)
        self.cache = job_state.CachePolicy(
            settings.result_cache_enabled, settings.result_cache_ttl_seconds
        )
        self.eta = EtaEstimator()
        self.fetch_timeout = fetch_timeout
        self._stopping = asyncio.Event()
        self._failpoint = settings.parsed_failpoint  # tests and the fault bench only
        self._failpoint_hits = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Pull and handle messages until ``stop()``; finishes the images in hand first."""
        await ensure_streams(self.js, self.settings)
        await ensure_work_consumer(self.js, self.settings)
        advisory = await self.nc.subscribe(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."
            f"{self.settings.work_stream}.{self.settings.runner_durable}",
            queue=ADVISORY_QUEUE,
            cb=self._on_max_deliveries,
        )
        workers = [
            asyncio.create_task(self._worker(n), name=f"runner-worker-{n}")
            for n in range(self.settings.concurrency)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            with suppress(Exception):
                await advisory.unsubscribe()

    def stop(self) -> None:
        self._stopping.set()

    async def _worker(self, number: int) -> None:
        sub = await self.js.pull_subscribe_bind(
            durable=self.settings.runner_durable, stream=self.settings.work_stream
        )
        log.info("runner worker %d pulling from %s", number, self.settings.work_stream)
        try:
            while not self._stopping.is_set():
                for msg in await fetch_batch(sub, 1, self.fetch_timeout):
                    try:
                        await self.handle(msg)
                    except Exception as exc:
                        # Infrastructure trouble outside the image's own processing (the
                        # database locked or down, NATS gone mid-publish): let JetStream retry.
                        log.exception("work message %s not handled: %s", msg.subject, exc)
                        with suppress(Exception):
                            await msg.nak(delay=MAX_RETRY_DELAY / 6)
        finally:
            with suppress(Exception):
                await sub.unsubscribe()

    # --- one message ------------------------------------------------------------------------

    async def handle(self, msg: Msg) -> None:
        try:
            work = WorkMessage.model_validate_json(msg.data)
        except ValidationError as exc:
            log.error("unreadable work message on %s: %s", msg.subject, exc)
            await self._dead_letter(msg.data, msg.subject, "bad_message", str(exc), 1)
            await msg.term()
            return
        attempt = msg.metadata.num_delivered or 1
        context = extract_headers(msg.headers)
        with tracer().start_as_current_span("runner.image", context=context) as span:
            span.set_attribute("globalpic.job_id", work.job_id)
            span.set_attribute("globalpic.image", work.image)
            span.set_attribute("globalpic.attempt", attempt)
            heartbeat = asyncio.create_task(self._heartbeat(msg))
            try:
                await self._handle_work(msg, work, attempt)
            finally:
                heartbeat.cancel()
                with suppress(asyncio.CancelledError):
                    await heartbeat

    async def _heartbeat(self, msg: Msg) -> None:
        # Long stages (OCR + inpainting of a large photo) outlast ack_wait: tell JetStream the
        # message is still being worked on, so it is not redelivered to another runner.
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            with suppress(Exception):
                await msg.in_progress()

    async def _ack(self, msg: Msg) -> None:
        await msg.ack_sync()

    async def _handle_work(self, msg: Msg, work: WorkMessage, attempt: int) -> None:
        started = await asyncio.to_thread(self._start, work)
        if started is None:
            # Finished already (a redelivery after a crash before the ack), or the job is gone:
            # make sure its done and completed events went out, and drop the message.
            RUNNER_IMAGES.labels("duplicate").inc()
            await self._finished_event_again(work)
            await self._completed_if_pending(work.job_id)
            await self._ack(msg)
            return
        image, job = started
        options = job_options(job)
        t0 = time.monotonic()
        try:
            shared = await self._twin_result(image, job)
            if shared is not None:
                outputs, report = shared
                image.cached = True  # for its done event (and billing: not charged twice)
            else:
                outputs, report = await self._process(image, options)
        except BadInputError as exc:
            log.info("image %s/%d refused: %s", work.job_id, work.image, exc)
            await self._fail(image, exc.code, exc.message)
            RUNNER_IMAGES.labels("failed").inc()
            await self._ack(msg)
            return
        except Exception as exc:
            code = exc.code if isinstance(exc, GlobalPicError) else PROCESSING_FAILED
            if attempt < self.settings.max_deliver:
                delay = min(2.0**attempt, MAX_RETRY_DELAY)
                log.warning(
                    "image %s/%d failed on attempt %d, retrying in %.0f s: %s",
                    work.job_id,
                    work.image,
                    attempt,
                    delay,
                    exc,
                    exc_info=exc,
                )
                RUNNER_IMAGES.labels("retried").inc()
                await msg.nak(delay=delay)
                return
            log.error(
                "image %s/%d failed %d times; dead-lettered",
                work.job_id,
                work.image,
                attempt,
                exc_info=exc,
            )
            await self._dead_letter(msg.data, msg.subject, code, str(exc), attempt)
            await self._fail(image, code, f"gave up after {attempt} attempts: {exc}")
            RUNNER_IMAGES.labels("dead_lettered").inc()
            await self._ack(msg)
            return
        recorded = await asyncio.to_thread(self._record, image, job, outputs, report)
        if recorded and self._failpoint is not None:
            await self._failpoint_after_store(work, attempt, image.attempts)
        if recorded:
            elapsed = time.monotonic() - t0
            if image.cached:
                RUNNER_IMAGES.labels("shared").inc()
            else:  # a shared result's wait is no processing time
                RUNNER_IMAGE_SECONDS.observe(elapsed)
                self.eta.observe(job.ops, elapsed)
                RUNNER_IMAGES.labels("completed").inc()
            log.info(
                "image %s/%d done in %.2f s (attempt %d)",
                work.job_id,
                work.image,
                elapsed,
                attempt,
                extra={"job_id": work.job_id, "image": work.image, "tenant_id": work.tenant_id},
            )
            await self.events.image_finished(image, ImageState.COMPLETED, None, report)
        else:
            RUNNER_IMAGES.labels("duplicate").inc()
        await self._completed_if_pending(work.job_id)
        await self._ack(msg)

    async def _failpoint_after_store(self, work: WorkMessage, delivery: int, attempts: int) -> None:
        # TEST FAILPOINT (GLOBALPIC_ORCHESTRATOR__FAILPOINT, off by default, refused outside
        # development): the result is stored and its row committed; the events and the ack
        # are not done yet.
        failpoint = self._failpoint
        assert failpoint is not None
        if failpoint.count is not None and self._failpoint_hits >= failpoint.count:
            return
        self._failpoint_hits += 1
        where = {
            "failpoint": str(failpoint),
            "job_id": work.job_id,
            "image": work.image,
            "attempts": attempts,  # the row's: the starts recorded, this one included
            "delivery": delivery,  # JetStream's count of deliveries of the message
            "pid": os.getpid(),
        }
        log.warning(
            "%s %s after recording %s/%d (attempt %d)",
            FAILPOINT_TEXT,
            failpoint,
            work.job_id,
            work.image,
            attempts,
            extra=where,
        )
        if failpoint.action == "kill":
            for handler in logging.getLogger().handlers:  # the line above must reach the log
                with suppress(Exception):
                    handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
            return  # not reached
        subject = failpoint_subject(self.settings.runner_durable, failpoint.point)
        try:
            await self.nc.request(
                subject, json.dumps(where).encode(), timeout=FAILPOINT_PAUSE_LIMIT_SECONDS
            )
        except nats.errors.NoRespondersError:
            log.warning("failpoint %s: nobody listens on %s; going on", failpoint, subject)
        except nats.errors.Error as exc:  # no answer in time, NATS away: go on all the same
            log.warning("failpoint %s: no answer on %s (%r); going on", failpoint, subject, exc)

    async def _finished_event_again(self, work: WorkMessage) -> None:
        """Publish a finished image's ``done`` event again: the runner that recorded the image
        may have died before publishing it. When it did publish, the events stream drops this
        copy (same ``Nats-Msg-Id``, inside the duplicate window)."""
        image = await asyncio.to_thread(self._load_image, work.job_id, work.image)
        if image is None or image.tenant_id != work.tenant_id:
            return
        state = ImageState(image.state)
        if not state.terminal:
            return
        await self.events.image_finished(image, state, _error_of(image))

    async def _completed_if_pending(self, job_id: str) -> None:
        """Publish the job's ``completed`` event when it is finished and not yet announced —
        after every image's ``done`` event, which SSE clients rely on (they stop at
        ``completed``).

        Two runners (or two workers of one) finishing a job's last images together each record
        their image, then publish its ``done``; the one that finds the job finished may get
        here while the other's ``done`` is not out yet. So the done events of the images that
        finished inside the events stream's duplicate window go out again first: stored once
        (same ``Nats-Msg-Id``) where they are out already, in order where one was not.
        """
        images = await asyncio.to_thread(self._recently_finished_if_pending, job_id)
        if images is None:
            return
        for image in images:
            await self.events.image_finished(image, ImageState(image.state), _error_of(image))
        await self.events.completed_if_pending(job_id)

    def _recently_finished_if_pending(self, job_id: str) -> list[JobImage] | None:
        """The job's images finished inside half the duplicate window, when the job is
        finished and its ``completed`` not yet out; None otherwise (most calls: one query)."""
        window = min(DUPLICATE_WINDOW_SECONDS, self.settings.events_max_age_seconds) / 2
        since = utcnow() - timedelta(seconds=window)
        with Session(self.engine) as session:
            if job_state.completed_event_pending(session, job_id) is None:
                return None
            images = [
                image
                for image in job_state.job_images(session, job_id)
                if ImageState(image.state).terminal
                and image.finished_at is not None
                and _aware(image.finished_at) >= since
            ]
            for image in images:
                session.expunge(image)
            return images

    def _load_image(self, job_id: str, index: int) -> JobImage | None:
        with Session(self.engine) as session:
            image = job_state.get_image(session, job_id, index)
            if image is not None:
                session.expunge(image)
            return image

    def _start(self, work: WorkMessage) -> tuple[JobImage, Job] | None:
        with Session(self.engine) as session:
            job = session.get(Job, work.job_id)
            if job is None or job.tenant_id != work.tenant_id:
                log.warning("work for unknown job %s dropped", work.job_id)
                return None
            image = job_state.mark_running(session, work.job_id, work.image)
            if image is None:
                return None
            session.refresh(job)
            session.expunge(image)
            session.expunge(job)
            return image, job

    async def _twin_result(
        self, image: JobImage, job: Job
    ) -> tuple[list[str], dict[str, Any]] | None:
        """The result of an identical image of the team (same photo, same options) instead of
        processing this one again: the cache's, at once or once the twin being processed now
        has finished (``job_state.claim``). None: process it here (no twin, the twin failed
        or went away, or it outlasted ``twin_wait_seconds``). The wait costs a worker slot, no
        CPU: the message heartbeats meanwhile; a job canceled meanwhile stops waiting."""
        if not self.cache.enabled:
            return None
        options_hash = image.options_hash or job.options_hash
        deadline = time.monotonic() + self.settings.twin_wait_seconds
        while True:
            hit, process = await asyncio.to_thread(self._cached_or_claim, image, options_hash)
            if hit is not None:
                return hit
            if process or time.monotonic() >= deadline:
                return None
            if await asyncio.to_thread(self._canceled, image.job_id):
                raise BadInputError("the job was canceled", code=errors.CANCELED)
            await asyncio.sleep(self.settings.twin_poll_seconds)

    def _cached_or_claim(
        self, image: JobImage, options_hash: str
    ) -> tuple[tuple[list[str], dict[str, Any]] | None, bool]:
        with Session(self.engine) as session:
            hit = job_state.cached_result(
                session, image.tenant_id, image.input_sha256, options_hash, self.cache
            )
            if hit is not None:
                return (list(hit.outputs), {**hit.report, "input": image.filename}), False
            session.rollback()  # the claim in a transaction of its own (it writes first)
            return None, job_state.claim(session, image, options_hash)

    async def _process(
        self, image: JobImage, options: JobOptions
    ) -> tuple[list[str], dict[str, Any]]:
        loop = asyncio.get_running_loop()
        stages: asyncio.Queue[ProgressStage | None] = asyncio.Queue()
        started = time.monotonic()

        def on_progress(stage: ProgressStage) -> None:  # called from the worker thread
            # A canceled job's running image stops here, at its next stage (the exception
            # leaves the pipeline and fails the image for good).
            if stage is not ProgressStage.DONE and self._canceled(image.job_id):
                raise BadInputError("the job was canceled", code=errors.CANCELED)
            loop.call_soon_threadsafe(stages.put_nowait, stage)

        publisher = asyncio.create_task(self._publish_stages(image, options, stages, started))
        try:
            inputs = await asyncio.to_thread(self._inputs, image, options)
            processed = await asyncio.to_thread(
                self.processor.process, inputs, options, on_progress
            )
        finally:
            stages.put_nowait(None)
            await publisher
        observe_stages(processed.seconds, self.processor.backend)
        keys: list[str] = []
        for final in processed.finals:
            info = await asyncio.to_thread(
                self.storage.put, image.tenant_id, "results", final, processed.content_type
            )
            keys.append(info.key)
        report = processed.report.model_copy(update={"output": keys[0], "outputs": keys})
        return keys, report.model_dump(mode="json")

    def _canceled(self, job_id: str) -> bool:
        with Session(self.engine) as session:
            return job_state.is_canceled(session, job_id)

    def _inputs(self, image: JobImage, options: JobOptions) -> ImageInputs:
        """The photo and whatever else its processing reads from storage (brush masks, the
        seller's background, adjust's reference photo)."""

        def read(key: str | None) -> bytes | None:
            return None if key is None else self.storage.get(image.tenant_id, key)

        data = read(image.original_key)
        assert data is not None
        return ImageInputs(
            data=data,
            filename=image.filename,
            mask=read(image.mask_key),
            keep_mask=read(image.keep_mask_key),
            background=read(options.background),
            reference=read(image.reference_key),
        )

    async def _publish_stages(
        self,
        image: JobImage,
        options: JobOptions,
        stages: asyncio.Queue[ProgressStage | None],
        started: float,
    ) -> None:
        while (stage := await stages.get()) is not None:
            if stage == ProgressStage.DONE:
                continue  # the done event goes out once the result is recorded
            percent = STAGE_PERCENT[stage]
            eta = self.eta.eta(options.ops_text, time.monotonic() - started, percent)
            assert image.id is not None
            try:
                await asyncio.to_thread(self._set_stage, image.id, stage.value, percent)
                await self.events.progress(image, stage, percent, eta_seconds=eta)
            except Exception as exc:  # progress is informative: never fail the image for it
                log.warning("progress event for %s/%d lost: %s", image.job_id, image.index, exc)

    def _set_stage(self, image_id: int, stage: str, percent: int) -> None:
        with Session(self.engine) as session:
            job_state.set_stage(session, image_id, stage, percent)

    def _record(
        self, image: JobImage, job: Job, outputs: list[str], report: dict[str, Any]
    ) -> bool:
        with Session(self.engine) as session:
            recorded = job_state.record_result(
                session,
                image,
                outputs,
                report,
                options_hash=image.options_hash or job.options_hash,
                cache=self.cache,
                cached=bool(image.cached),
            )
            return recorded is not None

    async def _fail(self, image: JobImage, code: str, message: str) -> None:
        def record() -> bool:
            with Session(self.engine) as session:
                return job_state.record_failure(session, image, code, message) is not None

        if await asyncio.to_thread(record):
            await self.events.image_finished(
                image, ImageState.FAILED, ErrorInfo(code=code, message=message)
            )
        await self._completed_if_pending(image.job_id)

    async def _dead_letter(
        self, data: bytes, subject: str, code: str, message: str, deliveries: int
    ) -> None:
        try:
            work = WorkMessage.model_validate_json(data)
            dead_subject = self.subjects.dead(work.job_id, work.image)
        except ValidationError:
            dead_subject = f"{self.settings.dead_subject_prefix}.unreadable"
        headers = {
            "GlobalPic-Original-Subject": subject,
            "GlobalPic-Error-Code": code,
            "GlobalPic-Error": message[:500].replace("\n", " "),
            "GlobalPic-Deliveries": str(deliveries),
        }
        await self.js.publish(dead_subject, data, headers=headers)

    # --- a runner died during the last delivery --------------------------------------------

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        try:
            body = json.loads(advisory.data)
            seq = int(body["stream_seq"])
            deliveries = int(body.get("deliveries", self.settings.max_deliver))
            raw = await self.js.get_msg(self.settings.work_stream, seq)
        except Exception as exc:
            log.warning("max-deliveries advisory not handled: %s", exc)
            return
        data = raw.data or b""
        reason = f"no runner finished it in {deliveries} deliveries (runner stopped mid-image)"
        await self._dead_letter(data, raw.subject or "", PROCESSING_FAILED, reason, deliveries)
        try:
            work = WorkMessage.model_validate_json(data)
        except ValidationError:
            work = None
        if work is not None:
            image = await asyncio.to_thread(self._load_image, work.job_id, work.image)
            if image is not None and not ImageState(image.state).terminal:
                await self._fail(image, PROCESSING_FAILED, reason)
        with suppress(Exception):
            await self.js.delete_msg(self.settings.work_stream, seq)


def _error_of(image: JobImage) -> ErrorInfo | None:
    """A finished image's error as its ``done`` event carries it (None: completed)."""
    if image.state != ImageState.FAILED.value:
        return None
    return ErrorInfo(code=image.error_code or PROCESSING_FAILED, message=image.error_message or "")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def lower_priority(nice: int) -> int:
    """Make this process at least ``nice`` nice (the ``nice`` setting); the niceness it has now.
    A process already nicer (started under ``nice -n 15``) stays as it is. Call it before any
    thread starts: on Linux niceness is per thread, and new threads inherit their creator's."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


async def serve(settings: OrchestratorSettings, processor: ImageProcessor) -> None:
    """Run one orchestrator until SIGINT / SIGTERM: migrate (when asked), serve /metrics (when
    asked), pull work and drive ``processor`` over each image."""
    from globalpic_common.logs import setup_json_logging
    from globalpic_common.metrics import start_metrics_server
    from globalpic_common.tracing import setup_tracing
    from globalpic_jobs.db import make_engine, migrate
    from globalpic_storage.access import describe_storage, storage_from_settings

    setup_json_logging("orchestrator", settings.log_level)
    setup_tracing("globalpic-orchestrator")
    if settings.migrate_on_startup:
        migrate(settings.database_url)
    if settings.metrics_port is not None:
        start_metrics_server(settings.metrics_port, addr=settings.host)
    engine = make_engine(settings.database_url)
    nc = await connect(settings.nats_url, "globalpic-orchestrator")
    runner = Runner(settings, engine, storage_from_settings(settings.storage_addr), processor, nc)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    log.info(
        "runner started: nats %s, database %s, storage %s, models %s, nice %d",
        settings.nats_url,
        engine.url.render_as_string(),
        describe_storage(settings.storage_addr),
        processor.backend,
        niceness,
    )
    try:
        await runner.run()
    finally:
        await nc.drain()
        engine.dispose()
        log.info("runner stopped")


def main() -> None:
    """Console script ``globalpic-orchestrator``: the models behind their services
    (``GLOBALPIC_PIPELINE__<SERVICE>_ADDR``, every one required)."""
    from globalpic_orchestrator.processing import LocalizerProcessor
    from globalpic_orchestrator.settings import get_settings

    settings = get_settings()
    lower_priority(settings.nice)
    try:
        processor = LocalizerProcessor.from_settings(
            settings.image_limits(), settings.output_format
        )
    except GlobalPicError as exc:  # a deployment without its services' addresses
        raise SystemExit(f"globalpic-orchestrator: {exc.code}: {exc}") from None
    asyncio.run(serve(settings, processor))

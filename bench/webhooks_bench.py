"""Webhooks under receiver outages and a service restart (issue 16): ``python -m
bench.webhooks_bench``.

Real processes on this machine: nats-server with JetStream, ``globalpic-webhooks-server`` (its
console script) on SQLite or a throwaway PostgreSQL database, and an HTTP receiver on
loopback. A stream of job events (``--jobs`` jobs of ``--images`` images: each image's
``done``, some failed, some published twice as a runner killed mid-image does, then the job's
``completed``) is published over ``--duration`` seconds while the receiver goes down
``--outages`` times (answering 503, or dropping the connection without an answer) and the
service is killed (SIGKILL) once half-way and started again. The retry schedule is the
production one's shape compressed to seconds (0.25 s, 0.5 s, 1 s, 2 s, ...), so the run ends
in about a minute.

Printed (and ``--json-out``): the webhook events expected from what was published, how many
the receiver accepted (2xx), **lost** (expected, never accepted: target 0), accepted twice
(at-least-once: an attempt the kill cut between the receiver's answer and its record; the
receiver dedupes by ``webhook-id``), events that needed retries and whether **every retry of
an event carried the same ``webhook-id``** and the same body, signatures that failed the
Standard Webhooks reference verifier (target 0), and the delay from publish to acceptance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js.api import StreamConfig

from bench.platform.launcher import throwaway_database
from globalpic_client.webhooks import WebhookVerificationError, verify
from globalpic_clients.webhooks import WebhooksClient
from globalpic_common.schemas import ProgressStage
from globalpic_dev.natsd import NatsServer
from globalpic_jobs.events import ImageProgress, JobCompleted
from globalpic_jobs.models import ImageState, JobStatus
from globalpic_jobs.queue import Subjects, connect, publish_model
from tests.support.gateway_harness import postgres_admin
from tests.support.webhooks_stack import START_TIMEOUT_S, WebhooksProcess, webhooks_service
from tests.support.webhooks_stack import receiving as receive_at

TEAM = "bench-team"
STREAM = "BENCH_EVENTS"
PREFIX = "bench.jobs"
DRAIN_TIMEOUT_S = 120.0


def say(line: str) -> None:
    print(line, flush=True)


Identity = tuple[str, str, int]  # (event type, job id, image index or -1)


@dataclass
class Hit:
    at: float
    status: int  # 0: the connection was dropped without an answer
    webhook_id: str
    body: bytes
    identity: Identity
    verified: bool


@dataclass
class Receiver:
    """An HTTP receiver that can be taken down: ``mode`` is up, 503 or drop."""

    secret: str = ""
    mode: str = "up"
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def take(self, headers: dict[str, str], body: bytes) -> int:
        try:
            verify(body, headers, self.secret)  # the Python client's check, as integrators use it
            verified = True
        except WebhookVerificationError:
            verified = False
        payload = json.loads(body)
        data = payload["data"]
        identity = (str(payload["type"]), str(data["job_id"]), int(data.get("image", -1)))
        status = {"up": 200, "503": 503, "drop": 0}[self.mode]
        with self.lock:
            self.hits.append(
                Hit(
                    time.monotonic(),
                    status,
                    headers.get("webhook-id", ""),
                    body,
                    identity,
                    verified,
                )
            )
        return status

    def accepted(self) -> set[Identity]:
        with self.lock:
            return {h.identity for h in self.hits if h.status == 200}


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    with receive_at(receiver.take) as url:
        receiver.url = url
        yield receiver


@dataclass
class Plan:
    """What is published, and the webhook events it must give."""

    events: list[tuple[float, str, ImageProgress | JobCompleted]]  # (at, subject, event)
    expected: set[Identity]
    duplicates: int


def plan_stream(args: argparse.Namespace, rng: random.Random) -> Plan:
    subjects = Subjects("unused.work", PREFIX, "unused.dead")
    events: list[tuple[float, str, ImageProgress | JobCompleted]] = []
    expected: set[Identity] = set()
    duplicates = 0
    for n in range(args.jobs):
        job = f"job{n:05d}"
        at = args.duration * n / args.jobs
        completed = 0
        for image in range(args.images):
            ok = rng.random() >= args.failure_rate
            progress = ImageProgress(
                input=f"{image}.jpg",
                stage=ProgressStage.DONE,
                percent=100,
                job_id=job,
                tenant_id=TEAM,
                image=image,
                state=ImageState.COMPLETED if ok else ImageState.FAILED,
            )
            events.append((at, subjects.progress(job), progress))
            if rng.random() < args.duplicate_rate:  # a runner killed mid-image: a second done
                events.append((at, subjects.progress(job), progress))
                duplicates += 1
            if ok:
                completed += 1
                expected.add(("image.completed", job, image))
        status = JobStatus.COMPLETED if completed else JobStatus.FAILED
        finished = JobCompleted(
            job_id=job,
            tenant_id=TEAM,
            status=status,
            images=args.images,
            completed=completed,
            failed=args.images - completed,
            cached=0,
            finished_at=datetime.now(UTC),
        )
        events.append((at, subjects.completed(job), finished))
        expected.add((f"job.{status.value}", job, -1))
    return Plan(events, expected, duplicates)


def plan_outages(args: argparse.Namespace, rng: random.Random) -> list[tuple[float, float, str]]:
    """``--outages`` (start, length, mode) in the stream's time, apart from each other."""
    slot = args.duration / args.outages
    return [
        (
            k * slot + rng.uniform(0, slot * 0.4),
            rng.uniform(0.3, slot * 0.5),
            ("503", "drop")[k % 2],
        )
        for k in range(args.outages)
    ]


async def publish(plan: Plan, nats_url: str, t0: float, published: dict[Identity, float]) -> None:
    nc = await connect(nats_url, "webhooks-bench")
    try:
        js = nc.jetstream()
        for at, subject, event in plan.events:
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # "published" counts from the job's completion: finished_at is stamped here
            if isinstance(event, JobCompleted):
                event = event.model_copy(update={"finished_at": datetime.now(UTC)})
                key: Identity = (f"job.{event.status.value}", event.job_id, -1)
            else:
                key = ("image.completed", event.job_id, event.image)
            published.setdefault(key, time.monotonic())
            await publish_model(js, subject, event)
    finally:
        await nc.close()


async def outages(receiver: Receiver, schedule: list[tuple[float, float, str]], t0: float) -> None:
    for start, length, mode in schedule:
        delay = t0 + start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        receiver.mode = mode
        await asyncio.sleep(length)
        receiver.mode = "up"


async def restart(service: WebhooksProcess, at: float, t0: float, down_s: float) -> float:
    await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
    await asyncio.to_thread(service.kill)
    await asyncio.sleep(down_s)
    started = time.monotonic()
    await asyncio.to_thread(service.start)
    return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(
    plan: Plan, receiver: Receiver, published: dict[Identity, float], extra: dict[str, Any]
) -> dict[str, Any]:
    hits = list(receiver.hits)
    by_identity: dict[Identity, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_identity[hit.identity].append(hit)
    accepted_ok = {i for i, hs in by_identity.items() if any(h.status == 200 for h in hs)}
    lost = plan.expected - accepted_ok
    unexpected = accepted_ok - plan.expected
    twice = sum(max(0, sum(h.status == 200 for h in hs) - 1) for hs in by_identity.values())
    retried = [hs for hs in by_identity.values() if len(hs) > 1]
    same_id = all(len({h.webhook_id for h in hs}) == 1 for hs in by_identity.values())
    same_body = all(len({h.body for h in hs}) == 1 for hs in by_identity.values())
    delays = [
        min(h.at for h in hs if h.status == 200) - published[i]
        for i, hs in by_identity.items()
        if i in published and any(h.status == 200 for h in hs)
    ]
    return {
        "events_published": len(plan.events),
        "duplicate_done_events": plan.duplicates,
        "webhook_events_expected": len(plan.expected),
        "webhook_events_accepted": len(accepted_ok & plan.expected),
        "deliveries_lost": len(lost),
        "unexpected_events": len(unexpected),
        "accepted_twice": twice,
        "attempts": len(hits),
        "failed_attempts": sum(h.status != 200 for h in hits),
        "events_retried": len(retried),
        "retries_same_webhook_id": same_id,
        "retries_same_body": same_body,
        "signature_failures": sum(not h.verified for h in hits),
        "delay_p50_s": round(percentile(delays, 0.5), 3),
        "delay_p99_s": round(percentile(delays, 0.99), 3),
        "delay_max_s": round(max(delays, default=float("nan")), 3),
        "lost_examples": sorted(lost)[:5],
        **extra,
    }


async def scenario(
    args: argparse.Namespace, nats_url: str, service: WebhooksProcess
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    plan = plan_stream(args, rng)
    schedule = plan_outages(args, rng)
    nc = await connect(nats_url, "webhooks-bench-setup")
    await nc.jetstream().add_stream(StreamConfig(name=STREAM, subjects=[f"{PREFIX}.>"]))
    await nc.close()
    with receiving() as receiver:
        client = WebhooksClient(f"127.0.0.1:{service.port}")
        try:
            client.wait_until_serving(START_TIMEOUT_S)
            endpoint = client.create_endpoint(
                TEAM, receiver.url, ["job.completed", "job.failed", "image.completed"], "bench"
            )
        finally:
            client.close()
        receiver.secret = endpoint.secret
        published: dict[Identity, float] = {}
        t0 = time.monotonic() + 0.5
        say(
            f"  streaming {len(plan.events)} job events over {args.duration:.0f} s: "
            f"{len(schedule)} receiver outages, a SIGKILL + restart at {args.duration / 2:.0f} s"
        )
        _, _, restart_s = await asyncio.gather(
            publish(plan, nats_url, t0, published),
            outages(receiver, schedule, t0),
            restart(service, args.duration / 2, t0, args.down_s),
        )
        stream_end = time.monotonic()
        deadline = stream_end + DRAIN_TIMEOUT_S
        while receiver.accepted() < plan.expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        drained = time.monotonic() - stream_end
        await asyncio.sleep(args.settle_s)  # anything still arriving is counted (duplicates)
        return summarize(
            plan,
            receiver,
            published,
            {
                "outages": len(schedule),
                "outage_seconds": round(sum(length for _, length, _ in schedule), 1),
                "restarts": 1,
                "restart_seconds": round(restart_s + args.down_s, 2),
                "drain_after_stream_s": round(drained, 2),
            },
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.webhooks_bench", description=__doc__)
    parser.add_argument("--jobs", type=int, default=150)
    parser.add_argument("--images", type=int, default=2, help="images per job")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the stream")
    parser.add_argument("--outages", type=int, default=20)
    parser.add_argument("--down-s", type=float, default=1.0, help="seconds the service is down")
    parser.add_argument("--failure-rate", type=float, default=0.1, help="images that fail")
    parser.add_argument("--duplicate-rate", type=float, default=0.05, help="done published twice")
    parser.add_argument("--settle-s", type=float, default=3.0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--admin-url",
        default=None,
        help="PostgreSQL admin URL (--database postgres); default: the machine's server on "
        "127.0.0.1:5432, else a private one started for the run",
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    say(f"webhooks bench: {os.cpu_count()} cores, every figure measured in this run")

    with tempfile.TemporaryDirectory(prefix="globalpic-webhooks-bench-") as scratch:
        work = Path(scratch)
        with ExitStack() as exits:
            admin_url = args.admin_url
            if args.database == "postgres" and admin_url is None:
                # the machine's server, else a private one (what the tests use)
                admin_url = exits.enter_context(postgres_admin(work / "postgres"))
            database_url, what = exits.enter_context(
                throwaway_database(args.database, work, admin_url or "")
            )
            nats = exits.enter_context(NatsServer(work / "nats"))
            say(f"  database: {what}; NATS {nats.url}")
            service = exits.enter_context(
                webhooks_service(
                    work,
                    database_url,
                    nats.url,
                    (STREAM, PREFIX),
                    RETRY_SCHEDULE_S="[0.25, 0.5, 1, 2]",
                    GIVE_UP_AFTER_S="600",
                    POLL_INTERVAL_S="0.1",
                    REQUEST_TIMEOUT_S="2",
                    CLAIM_LEASE_S="3",
                )
            )
            result = asyncio.run(scenario(args, nats.url, service))
            result["database"] = what.split(" ")[0]

    say("")
    for key, value in result.items():
        say(f"  {key:28s} {value}")
    ok = (
        result["deliveries_lost"] == 0
        and result["retries_same_webhook_id"]
        and result["signature_failures"] == 0
    )
    say(
        f"\ndeliveries lost: {result['deliveries_lost']} (target 0); redeliveries carried the "
        f"same webhook-id: {'yes' if result['retries_same_webhook_id'] else 'NO'}; "
        f"{'PASS' if ok else 'FAIL'}"
    )
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The fault run: runners SIGKILLed at random moments and inside the "stored, not acked"
window, and NATS, every gRPC service and the gateway restarted while batches go through; then,
per image, how many times it was done.

Kills come in two kinds, mixed in random order with the restarts:

* ``window``: a runner is started with the test failpoint
  ``GLOBALPIC_ORCHESTRATOR__FAILPOINT=after_store:kill:1`` (``settings.Failpoint``: off by
  default, refused outside development). On the first image it records, right after the result
  is stored and the row committed and before its events and ack, it logs ``failpoint fired:``
  (with the job, image and attempt) and SIGKILLs itself. The chaos loop waits for that exit,
  keeping work flowing (a new batch whenever every job has finished), and counts the kill as
  "in the window" only when the process died of SIGKILL *and* logged the failpoint: every such
  kill is in the window by construction, never by timing. That runner is not respawned (it was
  one more than ``--fault-runners``);
* ``random``: after a random gap, a random runner that is up (its worker pulling) gets
  SIGKILL wherever it is (idle, fetching, inside a stage, storing, recording, publishing), and
  is respawned at once.

Restarts are SIGTERM + start on the same port (a rollout), one each of NATS, each gRPC service
and the gateway. When every job has finished before the plan is through, another batch of new
photos is submitted, so every action lands while images are in flight.

Counted afterwards, per image of every job: result objects in storage (the ones its row
names, plus orphans — result objects no row names, each attributed to the image whose result
it looks most like), rows, and ``done`` events with state ``completed`` read from the events
stream from its first message; per job, ``completed`` events; plus the dead-letter stream and
what is left in the work stream. For the image of each window kill, also: its row's attempts
must still be the attempt the failpoint logged — the redelivery found it recorded and did not
start it again (a runner that processed or recorded a redelivered image twice shows here even
when its second result is byte-identical and its second ``done`` was deduplicated).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nats
import numpy as np
from nats.js.errors import NotFoundError
from PIL import Image
from sqlmodel import Session, col, select

from bench.platform.client import (
    JobOptions,
    api_client,
    finished,
    submit_retrying,
    wait_finished,
)
from bench.platform.images import PhotoSet
from bench.platform.launcher import TENANT, LogTail, Platform
from globalpic_jobs.db import make_engine
from globalpic_jobs.models import JobImage
from globalpic_jobs.settings import JobQueueSettings
from globalpic_orchestrator.runner import FAILPOINT_TEXT

# The failpoint a window kill's runner starts with: it kills itself on its first record.
WINDOW_FAILPOINT = "after_store:kill:1"

STREAM_DEFAULTS = {
    name: str(JobQueueSettings.model_fields[name].default)
    for name in ("work_stream", "events_stream", "dead_stream")
}


@dataclass(frozen=True)
class Action:
    kind: str  # "kill-window", "kill-random" or "restart"
    target: str | None = None  # restart: "nats", a service name or "gateway"


def chaos_plan(
    kills: int, restarts: list[str], window_share: float, rng: random.Random
) -> list[Action]:
    """``kills`` kills (at least one in the window when there are any) and one restart per
    target, in random order."""
    window = min(kills, max(1 if kills else 0, round(kills * window_share)))
    actions = [Action("kill-window")] * window + [Action("kill-random")] * (kills - window)
    actions += [Action("restart", target) for target in restarts]
    rng.shuffle(actions)
    return actions


@dataclass
class ImageCount:
    job_id: str
    image: int
    state: str
    rows: int
    results: int  # result objects: the row's (existing) outputs + orphans attributed to it
    orphans: int
    done_events: int  # `done` progress events with state completed
    attempts: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.state == "completed"
            and self.rows == 1
            and self.results == 1
            and self.done_events == 1
        )


@dataclass(frozen=True)
class WindowImage:
    """The image a window kill's runner had just recorded, and the attempt it recorded."""

    job_id: str
    image: int
    attempt: int


@dataclass
class FaultResult:
    database: str
    images: int = 0
    jobs: int = 0
    window_kills_planned: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    per_image: list[ImageCount] = field(default_factory=list)
    job_completed_events: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    work_left: int = 0
    orphans_unattributed: int = 0
    # window images whose row was started again after the failpoint's record
    restarted_after_record: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def kills(self) -> int:
        return sum(a["action"].startswith("kill") for a in self.actions)

    @property
    def kills_in_window(self) -> int:
        return sum(bool(a.get("in_window")) for a in self.actions)

    @property
    def window_images(self) -> list[WindowImage]:
        return [
            WindowImage(a["job_id"], int(a["image"]), int(a["attempt"]))
            for a in self.actions
            if a.get("in_window")
        ]

    @property
    def not_once(self) -> list[ImageCount]:
        return [c for c in self.per_image if not c.exactly_once]

    @property
    def lost(self) -> int:
        return sum(c.state != "completed" for c in self.per_image)

    @property
    def ok(self) -> bool:
        return (
            bool(self.per_image)
            and not self.not_once
            and all(n == 1 for n in self.job_completed_events.values())
            and self.dead_letters == 0
            and self.work_left == 0
            and self.orphans_unattributed == 0
            and not self.restarted_after_record
        )

    def summary(self) -> dict[str, Any]:
        totals = Counter[str]()
        for c in self.per_image:
            totals["rows"] += c.rows
            totals["results"] += c.results
            totals["done_events"] += c.done_events
            totals["attempts"] += c.attempts
        return {
            "database": self.database,
            "jobs": self.jobs,
            "images": self.images,
            "kills": self.kills,
            "kills_in_window": self.kills_in_window,
            "window_kills_planned": self.window_kills_planned,
            "window_images_restarted": len(self.restarted_after_record),
            "restarts": [a["target"] for a in self.actions if a["action"] == "restart"],
            "rows": totals["rows"],
            "result_objects": totals["results"],
            "done_events": totals["done_events"],
            "attempts": totals["attempts"],
            "job_completed_events": sum(self.job_completed_events.values()),
            "images_not_exactly_once": len(self.not_once),
            "lost": self.lost,
            "dead_letters": self.dead_letters,
            "work_left": self.work_left,
            "orphans_unattributed": self.orphans_unattributed,
            "wall_s": round(self.wall_s, 1),
            "ok": self.ok,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "actions": self.actions,
            "not_exactly_once": [asdict(c) for c in self.not_once],
            "restarted_after_record": self.restarted_after_record,
            "per_image": [asdict(c) for c in self.per_image],
            "job_completed_events_per_job": self.job_completed_events,
        }


async def run_fault(
    platform: Platform,
    photos: PhotoSet,
    options: JobOptions,
    *,
    database: str,
    kills: int,
    batch: int,
    first_seed: int,
    window_share: float = 0.5,
    gap: tuple[float, float] = (0.5, 3.0),
    seed: int = 0,
    timeout: float = 1800.0,
    log: Any = print,
) -> FaultResult:
    rng = random.Random(seed)
    restarts = ["nats", *sorted(platform.service_ports), "gateway"]
    plan = chaos_plan(kills, restarts, window_share, rng)
    result = FaultResult(database=database)
    result.window_kills_planned = sum(a.kind == "kill-window" for a in plan)
    runners = list(platform.runner_names)
    job_ids: list[str] = []
    next_seed = first_seed
    started = time.monotonic()
    deadline = started + timeout

    async with api_client(platform.base_url, platform.headers) as api:

        async def submit_batch() -> None:
            nonlocal next_seed
            job = await submit_retrying(api, photos.batch(next_seed, batch), options)
            next_seed += batch
            job_ids.append(job.id)
            log(f"  [fault] submitted job {job.id[:8]} ({batch} images)")

        async def all_finished() -> bool:
            for job_id in job_ids:
                if not await finished(api, job_id):
                    return False
            return True

        async def ready_runner() -> str:
            while time.monotonic() < deadline:
                up = [n for n in runners if platform.runner_ready(n)]
                if up:
                    return rng.choice(up)
                await asyncio.sleep(0.1)
            raise RuntimeError("no runner came up")

        async def window_kill(number: int) -> dict[str, Any]:
            """A runner armed with the failpoint, until it has killed itself in the window."""
            name = f"runner-window-{number}"
            tail = LogTail(platform.log_path(name))
            tail.skip_to_end()
            await asyncio.to_thread(platform.spawn_runner, name, WINDOW_FAILPOINT)
            while (code := platform.exit_code(name)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} ({WINDOW_FAILPOINT}) never reached its failpoint")
                if await all_finished():
                    await submit_batch()  # work for it to record
                await asyncio.sleep(0.1)
            platform.forget(name)
            fired = [e for e in tail.lines() if FAILPOINT_TEXT in str(e.get("message"))]
            record: dict[str, Any] = {"runner": name, "exit_code": code, "failpoint": fired}
            if code == -signal.SIGKILL and len(fired) == 1:
                entry = fired[0]
                record |= {
                    "in_window": True,
                    "job_id": entry["job_id"],
                    "image": entry["image"],
                    "attempt": entry["attempts"],  # the row's, as recorded
                }
            else:
                record["in_window"] = False
            return record

        await submit_batch()
        for number, action in enumerate(plan, 1):
            await asyncio.sleep(rng.uniform(*gap))
            if await all_finished():
                await submit_batch()
            t = round(time.monotonic() - started, 2)
            record: dict[str, Any] = {"n": number, "t": t, "action": action.kind}
            if action.kind == "restart":
                assert action.target is not None
                seconds = await asyncio.to_thread(platform.restart, action.target)
                record |= {"action": "restart", "target": action.target, "down_s": seconds}
                log(
                    f"  [fault] {t:7.1f} s  restart {action.target:<18} ready after {seconds:.1f} s"
                )
            elif action.kind == "kill-window":
                record |= await window_kill(number)
                if record["in_window"]:
                    where = (
                        f"killed itself inside the stored-not-acked window (job "
                        f"{record['job_id'][:8]}, image {record['image']}, attempt "
                        f"{record['attempt']})"
                    )
                else:
                    where = f"did NOT die at its failpoint (exit {record['exit_code']})"
                log(f"  [fault] {t:7.1f} s  {record['runner']:<26} {where}")
            else:
                victim = await ready_runner()
                await asyncio.to_thread(platform.kill, victim)
                platform.respawn_runner(victim)
                record |= {"runner": victim, "in_window": False}
                log(f"  [fault] {t:7.1f} s  SIGKILL {victim:<18} at a random moment; respawned")
            result.actions.append(record)

        log("  [fault] plan done; waiting for every job to finish")
        for job_id in job_ids:
            await wait_finished(api, job_id, max(60.0, deadline - time.monotonic()))
    # A job reads as finished once its last row is committed; its events and the ack follow.
    # Count only when the work stream is empty: every message acked (or given up on).
    drained = await wait_drained(platform, max(60.0, deadline - time.monotonic()))
    if not drained:
        log("  [fault] the work stream did not drain in time; counting anyway")
    result.wall_s = time.monotonic() - started
    result.jobs = len(job_ids)
    await count(platform, job_ids, result)
    return result


async def wait_drained(platform: Platform, timeout: float) -> bool:
    """Until the work stream holds no message (each one acked); False on timeout."""
    deadline = time.monotonic() + timeout
    nc = await nats.connect(platform.nats.url, connect_timeout=5)
    try:
        js = nc.jetstream()
        while True:
            info = await js.stream_info(STREAM_DEFAULTS["work_stream"])
            if info.state.messages == 0:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await nc.close()


# --- counting ----------------------------------------------------------------------------------


def _thumb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((48, 48)), dtype=np.float32)


async def count(platform: Platform, job_ids: list[str], result: FaultResult) -> None:
    # rows
    engine = make_engine(platform.database_url)
    try:
        with Session(engine) as session:
            rows = list(session.exec(select(JobImage).where(col(JobImage.job_id).in_(job_ids))))
    finally:
        engine.dispose()
    row_count = Counter((r.job_id, r.index) for r in rows)

    # result objects
    results_dir = platform.storage_root / "tenants" / TENANT / "results"
    objects = {
        f"tenants/{TENANT}/results/{p.name}": p
        for p in sorted(results_dir.glob("*"))
        if p.is_file()
    }
    referenced: dict[tuple[str, int], list[str]] = {}
    for r in rows:
        referenced.setdefault((r.job_id, r.index), []).extend(r.outputs or [])
    named = {key for keys in referenced.values() for key in keys}
    orphans = [path for key, path in objects.items() if key not in named]
    attributed: Counter[tuple[str, int]] = Counter()
    if orphans:
        finals = {
            image: _thumb(objects[keys[0]])
            for image, keys in referenced.items()
            if keys and keys[0] in objects
        }
        for orphan in orphans:
            if not finals:
                result.orphans_unattributed += 1
                continue
            look = _thumb(orphan)
            closest = min(finals, key=lambda image: float(np.abs(finals[image] - look).mean()))
            attributed[closest] += 1

    # events, from the stream's first message
    done: Counter[tuple[str, int]] = Counter()
    completed: Counter[str] = Counter({job_id: 0 for job_id in job_ids})
    nc = await nats.connect(platform.nats.url, connect_timeout=5)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM_DEFAULTS["events_stream"])
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(STREAM_DEFAULTS["events_stream"], seq)
            except NotFoundError:
                continue
            subject = msg.subject or ""
            data = json.loads(msg.data or b"{}")
            job_id = subject.split(".")[-2] if subject.count(".") >= 2 else ""
            if subject.endswith(".completed"):
                completed[job_id] += 1
            elif data.get("stage") == "done" and data.get("state") == "completed":
                done[(job_id, int(data["image"]))] += 1
        dead = await js.stream_info(STREAM_DEFAULTS["dead_stream"])
        work = await js.stream_info(STREAM_DEFAULTS["work_stream"])
        result.dead_letters = int(dead.state.messages)
        result.work_left = int(work.state.messages)
    finally:
        await nc.close()

    for r in sorted(rows, key=lambda r: (job_ids.index(r.job_id), r.index)):
        key = (r.job_id, r.index)
        existing = sum(1 for k in referenced.get(key, []) if k in objects)
        result.per_image.append(
            ImageCount(
                job_id=r.job_id,
                image=r.index,
                state=r.state,
                rows=row_count[key],
                results=existing + attributed[key],
                orphans=attributed[key],
                done_events=done[key],
                attempts=r.attempts,
            )
        )
    result.images = len(result.per_image)
    result.job_completed_events = {job_id: completed[job_id] for job_id in job_ids}
    # A window kill's image was recorded at the failpoint's attempt; its redelivery must find
    # it finished and leave it be: a later start (attempts above it) means it was run again.
    by_key = {(r.job_id, r.index): r for r in rows}
    for window in result.window_images:
        row = by_key.get((window.job_id, window.image))
        if row is None or row.state != "completed" or row.attempts != window.attempt:
            result.restarted_after_record.append(
                {
                    **asdict(window),
                    "state": None if row is None else row.state,
                    "attempts_now": None if row is None else row.attempts,
                }
            )

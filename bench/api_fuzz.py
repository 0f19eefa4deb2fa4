"""``make bench-api``: the REST API under schemathesis: every operation of its own OpenAPI
document, ``--checks all``, at least ``--examples`` generated requests each.

The gateway runs as in production (uvicorn, a throwaway PostgreSQL database, its own
nats-server with JetStream, local-disk storage) with every service behind it: auth and billing
(``tests.support.accounts_stack``, Stripe's stand-in), the webhooks service and a job runner.
Schemathesis calls as a signed-up, verified team owner (``bench/schemathesis_hooks.py`` signs
in again whenever an answer is 401: a fuzzed logout ends the session), so the account, team,
billing and webhook routes do their real work; a finished job is seeded first so that
downloads, the ZIP, the re-runs and the event stream have something real to serve.

The figure that matters is the number of 5xx answers, counted by the gateway itself
(``globalpic_http_requests_total``): it must be 0; and schemathesis' own verdict (schema
conformance, negative data accepted, ...): exit code 0. ``make test`` runs it
(tests/integration/test_api_fuzz.py); ``make bench-api`` prints the figures.
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

from globalpic_client import AsyncGlobalPic
from globalpic_dev.natsd import NatsServer
from tests.support.accounts_stack import accounts_stack, signed_in, with_accounts
from tests.support.gateway_harness import (
    embedded_processor,
    harness_settings,
    photo_bytes,
    postgres_admin,
    running_gateway,
    storage_at,
    throwaway_postgres,
)
from tests.support.webhooks_stack import webhooks_service

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = "bench.schemathesis_hooks"
EMAIL, PASSWORD = "fuzz-owner@example.com", "correct horse battery staple 7"


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


async def _seed_finished_job(base_url: str, token: str, seed: int) -> str:
    async with AsyncGlobalPic(base_url, token=token, timeout=120) as api:
        job = await api.submit((f"种子{seed}.jpg", photo_bytes(640, seed=seed)), ops="extract")
        finished = await api.wait(job.id, timeout=300)
        return finished.id


async def _fuzz(args: argparse.Namespace, database_url: str, nats_url: str, work: Path) -> int:
    base, keys = harness_settings(database_url, nats_url)
    storage = storage_at(work / "storage")
    with (
        accounts_stack(work, database_url, nats_url, base) as stack,
        webhooks_service(
            work, database_url, nats_url, (base.events_stream, base.events_subject_prefix)
        ) as hooks,
    ):
        settings = with_accounts(base, stack, webhooks_addr=f"127.0.0.1:{hooks.port}")
        async with running_gateway(settings, keys, storage, port=stack.gateway_port) as gw:
            owner, pair = await signed_in(gw.base_url, stack, EMAIL, PASSWORD)
            await owner.aclose()
            await gw.start_runner(embedded_processor())
            token = str(pair["access_token"])
            logout_token = await _second_session(gw.base_url)
            # one job for every operation, one for DELETE (which would leave the others 404s)
            job_id = await _seed_finished_job(gw.base_url, token, seed=7)
            doomed_id = await _seed_finished_job(gw.base_url, token, seed=8)
            print(f"seeded finished jobs {job_id} and {doomed_id} (DELETE's)", flush=True)
            before = _http_counts()
            await gw.stop_runners()  # jobs the fuzzer submits stay queued: no pipeline CPU
            tokens = {"GLOBALPIC_FUZZ_TOKEN": token, "GLOBALPIC_FUZZ_LOGOUT_TOKEN": logout_token}
            code, seconds = await _schemathesis(args, gw.base_url, job_id, doomed_id, tokens)
            sent = _http_counts() - before
    return _report(args, sent, code, seconds)


async def _second_session(base_url: str) -> str:
    """Another session of the owner's: the one ``POST /v1/auth/logout`` is fuzzed with."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as anonymous:
        answer = await anonymous.post(
            "/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


async def _schemathesis(
    args: argparse.Namespace,
    base_url: str,
    job_id: str,
    doomed_id: str,
    tokens: dict[str, str],
) -> tuple[int, float]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(args.examples),
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(args.report_dir),
        "--seed",
        str(args.seed),
        # no examples replayed from an earlier run's database: the same seed, the same run
        "--generation-database",
        "none",
        "--no-color",
        "--phases",
        args.phases,
    ]
    env = {
        **os.environ,
        "GLOBALPIC_FUZZ_JOB_ID": job_id,
        "GLOBALPIC_FUZZ_DOOMED_JOB_ID": doomed_id,
        **tokens,
        "GLOBALPIC_FUZZ_BASE_URL": base_url,
        "GLOBALPIC_FUZZ_EMAIL": EMAIL,
        "GLOBALPIC_FUZZ_PASSWORD": PASSWORD,
        "SCHEMATHESIS_HOOKS": HOOKS,
    }
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(*command, env=env)
    code = await process.wait()
    return code, time.monotonic() - started


def _report(
    args: argparse.Namespace, sent: Counter[tuple[str, str, str]], code: int, seconds: float
) -> int:
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
        "statuses": {route: dict(counts) for route, counts in statuses.items()},
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(summary, indent=2))
    return 1 if server_errors or code else 0


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

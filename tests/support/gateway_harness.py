"""A test harness for the gateway and the runner in one asyncio loop (no mocks: real NATS,
real database, real storage, the real app and runner).

Used by ``services/gateway/tests`` and ``tests/integration``. Each harness gets its own stream
names and subject prefixes, so tests sharing one nats-server never see each other's messages.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI
from PIL import Image, ImageDraw, ImageFilter

from globalpic_dev.natsd import free_port
from globalpic_gateway.core.config import ApiKeyEntry, GatewaySettings, hash_api_key, new_api_key
from globalpic_gateway.core.http_limits import server_config
from globalpic_gateway.core.ratelimit import RateLimiter
from globalpic_gateway.core.state import AppState
from globalpic_gateway.main import create_app
from globalpic_jobs.options import JobOptions
from globalpic_jobs.queue import connect
from globalpic_jobs.settings import JobQueueSettings
from globalpic_orchestrator.processing import (
    ImageInputs,
    ImageProcessor,
    LocalizerProcessor,
    ProcessedImage,
    ProgressFn,
)
from globalpic_orchestrator.runner import Runner
from globalpic_orchestrator.settings import OrchestratorSettings
from globalpic_storage import Storage

TENANTS = {"tenant-a": "default", "tenant-b": "default", "tenant-ent": "enterprise"}


def harness_settings(
    database_url: str, nats_url: str, **overrides: Any
) -> tuple[GatewaySettings, dict[str, str]]:
    """Settings with fresh stream names and an API key per tenant of ``TENANTS``."""
    keys = {tenant: new_api_key() for tenant in TENANTS}
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "api_keys": [
            ApiKeyEntry(tenant_id=tenant, key_sha256=hash_api_key(key), plan=TENANTS[tenant])
            for tenant, key in keys.items()
        ],
        "work_stream": f"WORK_{tag}",
        "work_subject_prefix": f"t{tag}.work",
        "events_stream": f"EVENTS_{tag}",
        "events_subject_prefix": f"t{tag}.jobs",
        "dead_stream": f"DEAD_{tag}",
        "dead_subject_prefix": f"t{tag}.dead",
        "runner_durable": f"runner-{tag}",
        "ack_wait_seconds": 30.0,
        "max_deliver": 3,
    }
    unknown = set(overrides) - set(GatewaySettings.model_fields)
    if unknown:
        raise TypeError(
            f"not gateway settings: {sorted(unknown)} (orchestrator ones: runner_settings)"
        )
    values.update(overrides)
    return GatewaySettings(**values), keys


# Settings only the orchestrator has (concurrency, failpoint, heartbeat...): a scenario's
# overrides are split between the two services by name.
ORCHESTRATOR_ONLY = frozenset(OrchestratorSettings.model_fields) - frozenset(
    GatewaySettings.model_fields
)


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``overrides`` as (gateway settings, orchestrator-only settings)."""
    runner = {k: v for k, v in overrides.items() if k in ORCHESTRATOR_ONLY}
    return {k: v for k, v in overrides.items() if k not in runner}, runner


def runner_settings(gateway: GatewaySettings, **overrides: Any) -> OrchestratorSettings:
    """The orchestrator's settings beside ``gateway``: the same job queue (database, NATS,
    streams, storage), niceness off (the test process is both), plus ``overrides``."""
    shared = {name: getattr(gateway, name) for name in JobQueueSettings.model_fields}
    return OrchestratorSettings(**{**shared, "nice": 0, **overrides})


def embedded_processor(output_format: str = "png") -> LocalizerProcessor:
    """The runner's processor on the embedded root: the models in this process (as the
    production loaders build them from the environment), the default image limits."""
    from globalpic_cli.embedded import localizer_from_settings
    from globalpic_common.imageio import ImageLimits

    return LocalizerProcessor(localizer_from_settings(), ImageLimits(), output_format)


def photo_bytes(size: int = 512, seed: int = 0, fmt: str = "JPEG") -> bytes:
    """A product-like photo: a shaded box on a textured table, distinct per ``seed``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    grain = np.sin(x / 7.0 + 3 * np.sin(y / 40.0)) * 12
    tint = rng.uniform(-20, 20, 3)
    base = np.stack([180 + grain, 150 + grain * 0.8, 115 + grain * 0.6], axis=-1) + tint
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = size
    draw.rectangle([s * 0.3, s * 0.3, s * 0.7, s * 0.8], fill=(235, 238, 242))
    draw.rectangle([s * 0.3, s * 0.3, s * 0.36, s * 0.8], fill=(205, 208, 214))
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, 3, (s, s, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, fmt, quality=92)
    return buf.getvalue()


@dataclass
class Harness:
    app: FastAPI
    settings: GatewaySettings
    keys: dict[str, str]
    storage: Storage
    base_url: str
    runner_settings: OrchestratorSettings
    runners: list[tuple[Runner, asyncio.Task[None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` when the harness stops (after the runners stop)."""
        self.closers.append(closer)

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.globalpic
        return state

    def client(self, tenant: str | None = "tenant-a", **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.keys[tenant]}"} if tenant else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=60, **kwargs)

    async def start_runner(
        self, processor: ImageProcessor, runner_cls: type[Runner] = Runner
    ) -> Runner:
        nc = await connect(self.settings.nats_url, "test-runner")
        runner = runner_cls(
            self.runner_settings, self.state.engine, self.storage, processor, nc, fetch_timeout=0.5
        )
        task = asyncio.create_task(runner.run())
        self.runners.append((runner, task))
        return runner

    async def crash_runner(self, runner: Runner) -> None:
        """Kill a runner mid-work: no ack, no clean shutdown, its connection dropped."""
        for entry in list(self.runners):
            if entry[0] is runner:
                entry[1].cancel()
                with suppress(BaseException):  # whatever it died of
                    await entry[1]
                await runner.nc.close()
                self.runners.remove(entry)

    async def stop_runners(self) -> None:
        for runner, _task in self.runners:
            runner.stop()
        for runner, task in self.runners:
            try:
                await asyncio.wait_for(task, 30)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            await runner.nc.close()
        self.runners.clear()


@asynccontextmanager
async def serving_app(
    app: FastAPI, settings: GatewaySettings, port: int | None = None
) -> AsyncIterator[int]:
    """``app`` served as the console script serves it (``server_config``: the limits, the
    protocol) on loopback, in this event loop, until the block ends: its port. The socket is
    bound here and handed to uvicorn: a port picked free and bound later can be taken in
    between by another test worker."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port or 0))
    bound = int(listener.getsockname()[1])
    config = server_config(
        app, settings, host="127.0.0.1", port=bound, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
            await asyncio.sleep(0.02)
        yield bound
    finally:
        server.should_exit = True
        await serving


@asynccontextmanager
async def running_gateway(
    settings: GatewaySettings,
    keys: dict[str, str],
    storage: Storage,
    *,
    port: int | None = None,
    rate_limiter: RateLimiter | None = None,
    **runner_overrides: Any,
) -> AsyncIterator[Harness]:
    """The gateway served on loopback ``port`` (default: a free one), in this event loop;
    runners started on it get ``runner_settings(settings, **runner_overrides)``."""
    app = create_app(settings, storage=storage, rate_limiter=rate_limiter)
    async with serving_app(app, settings, port) as bound:
        base_url = f"http://127.0.0.1:{bound}"
        orchestrator = runner_settings(settings, **runner_overrides)
        harness = Harness(app, settings, keys, storage, base_url, orchestrator)
        if not await harness.state.wait_nats(15):
            raise RuntimeError(f"gateway could not reach NATS at {settings.nats_url}")
        try:
            yield harness
        finally:
            await harness.stop_runners()
            for closer in reversed(harness.closers):
                await closer()


PROBLEM_JSON = "application/problem+json"
# How long a test waits for one job: generous, a busy CI machine runs real (tiny) models.
JOB_LIMIT_S = 240.0


class Gated:
    """Blocks inside process() until released: a runner caught mid-image (to be killed)."""

    def __init__(self, inner: LocalizerProcessor, hold_s: float = 120.0) -> None:
        self.inner, self.backend, self.hold_s = inner, inner.backend, hold_s
        self.started = threading.Event()
        self.release = threading.Event()

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        self.started.set()
        self.release.wait(self.hold_s)
        return self.inner.process(inputs, options, cb)


async def job_finished(
    api: httpx.AsyncClient, job_id: str, timeout: float = JOB_LIMIT_S
) -> dict[str, Any]:
    """``GET /v1/jobs/{id}`` polled until the job completed or failed."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def run_scenario(
    database_url: str,
    tmp_path: Path,
    nats_url: str,
    scenario: Callable[[Harness], Awaitable[None]],
    **overrides: Any,
) -> None:
    """Run ``scenario`` against a served gateway on ``database_url`` with storage under
    ``tmp_path`` (``overrides``: gateway or orchestrator settings)."""
    gateway_overrides, orchestrator_overrides = split_overrides(overrides)
    settings, keys = harness_settings(database_url, nats_url, **gateway_overrides)
    storage = storage_at(tmp_path / "storage")

    async def main() -> None:
        async with running_gateway(settings, keys, storage, **orchestrator_overrides) as gw:
            await scenario(gw)

    asyncio.run(main())


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status`` and the stable ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status, body
    assert body["type"] == f"urn:globalpic:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def storage_at(root: Path) -> Storage:
    from globalpic_storage.local import LocalDiskStorage

    return LocalDiskStorage(root, signing_key="test-signing-key", max_object_bytes=64 * 1024**2)


POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_answers(admin_url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(admin_url, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def _postgres_bin(name: str) -> Path:
    """A PostgreSQL server program: on PATH, or where Debian's ``postgresql`` package puts it."""
    found = shutil.which(name)
    if found:
        return Path(found)
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdecimal() else 0,
    )
    if not versions:
        raise RuntimeError(
            f"no PostgreSQL answers and no {name} to start one: install the server "
            "(`make setup` installs Debian's postgresql) or point GLOBALPIC_TEST_POSTGRES_URL "
            "at one"
        )
    return versions[-1]


@contextmanager
def private_postgres(scratch: Path) -> Iterator[str]:
    """A PostgreSQL server of our own on a free loopback port (trust auth, user ``postgres``),
    for machines where none runs; stopped and deleted afterwards.

    initdb refuses to run as root, so as root the server runs as the ``postgres`` user that
    Debian's package creates, in a directory of its own under the system temp dir (pytest's
    temp dirs are private to root).
    """
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        data_dir = Path(tempfile.mkdtemp(prefix="globalpic-postgres-"))
        shutil.chown(data_dir, "postgres")
    else:
        data_dir = scratch
        data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    pgdata = data_dir / "pgdata"
    pg_ctl = str(_postgres_bin("pg_ctl"))

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    try:
        run(str(_postgres_bin("initdb")), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-sync")  # fmt: skip
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data_dir} -c fsync=off"
        run(pg_ctl, "-D", str(pgdata), "-o", options, "-l", str(data_dir / "server.log"),
            "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(pg_ctl, "-D", str(pgdata), "-m", "immediate", "-w", "stop")
    finally:
        if as_user:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def postgres_admin(scratch: Path) -> Iterator[str]:
    """An admin URL of a PostgreSQL server for tests: ``GLOBALPIC_TEST_POSTGRES_URL``, else the
    machine's own on 127.0.0.1:5432, else a private one started in ``scratch``."""
    configured = os.environ.get("GLOBALPIC_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if postgres_answers(POSTGRES_ADMIN_URL):
        yield POSTGRES_ADMIN_URL
        return
    with private_postgres(scratch) as url:
        yield url


@contextmanager
def throwaway_postgres(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"globalpic_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = admin_url.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

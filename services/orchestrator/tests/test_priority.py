"""Batch work yields the CPU to the API: the orchestrator's niceness, the model services
started niced."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from globalpic_dev.supervisor import Supervisor, batch_nice
from globalpic_orchestrator.settings import OrchestratorSettings

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
    code = "from globalpic_orchestrator.runner import lower_priority as f; print(f({}))"
    assert int(_python(code.format(max(base, 10)))) == max(base, 10)
    # already nicer than asked (started under `nice`): stays as it is
    assert int(_python(code.format(3), nice=12)) == min(19, base + 12)


def test_orchestrator_nice_defaults_to_on_and_can_be_turned_off() -> None:
    assert OrchestratorSettings().nice == 10
    assert batch_nice({}) == 10
    assert batch_nice({"GLOBALPIC_ORCHESTRATOR__NICE": "0"}) == 0
    assert batch_nice({"GLOBALPIC_ORCHESTRATOR__NICE": "15"}) == 15


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

"""``make dev``'s supervisor: one command brings NATS, the orchestrator and the gateway up, a
job goes through, and SIGINT takes every process down (NATS last) — real processes, loopback
only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from globalpic_dev.natsd import free_port
from tests.support.gateway_harness import photo_bytes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_make_dev_runs_a_job_and_stops_cleanly(tmp_path: Path, tiny_models_env: Path) -> None:
    port = free_port()
    dev_dir = tmp_path / ".dev"
    env = {**os.environ, "GLOBALPIC_SEGMENTATION__MODEL_PATH": str(tiny_models_env)}
    command = [
        sys.executable,
        "-m",
        "globalpic_dev.supervisor",
        "--port",
        str(port),
        "--dev-dir",
        str(dev_dir),
        "--in-process",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        ready = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready:
                break
            time.sleep(0.5)
        assert ready, "the gateway never became ready"

        key_file = dev_dir / "api-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
        files = [("images", ("mug.jpg", photo_bytes(512), "image/jpeg"))]
        job = httpx.post(
            f"{base}/v1/jobs", headers=headers, files=files, data={"ops": "extract"}, timeout=30
        ).json()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = httpx.get(f"{base}/v1/jobs/{job['id']}", headers=headers, timeout=10).json()
            if state["status"] in ("completed", "failed"):
                break
            time.sleep(0.5)
        assert state["status"] == "completed", state
        assert (dev_dir / "gateway.db").is_file() and (dev_dir / "nats").is_dir()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", output)]
    assert len(pids) == 2  # orchestrator and gateway (--in-process: no gRPC services)
    assert not any(_alive(pid) for pid in pids), output
    stops = [line.strip() for line in output.splitlines() if line.strip().startswith("stopped")]
    assert stops == ["stopped gateway", "stopped orchestrator", "stopped nats-server"], output

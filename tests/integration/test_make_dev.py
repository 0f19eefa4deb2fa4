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


def _sign_up_and_pay(base: str, dev_dir: Path) -> None:
    """The web app's flow on make dev's accounts: sign up (verified at once here), sign in,
    buy the Personal plan on the Stripe stand-in's Checkout page, which posts the signed
    webhooks to the gateway before it returns to the app."""
    account = {"email": "dev@example.com", "password": "a long dev password"}
    assert httpx.post(f"{base}/v1/auth/signup", json=account, timeout=30).status_code == 201
    pair = httpx.post(
        f"{base}/v1/auth/token",
        data={"username": account["email"], "password": account["password"]},
        timeout=30,
    ).json()
    user = {"Authorization": f"Bearer {pair['access_token']}"}
    me = httpx.get(f"{base}/v1/me", headers=user, timeout=30).json()
    assert me["account"]["plan"]["id"] == "free" and me["user"]["email_verified"]
    checkout = httpx.post(
        f"{base}/v1/billing/checkout", headers=user, json={"plan": "personal"}, timeout=30
    ).json()
    assert httpx.post(checkout["url"], timeout=60).status_code == 303  # "Pay"
    me = httpx.get(f"{base}/v1/me", headers=user, timeout=30).json()
    assert me["account"]["plan"]["id"] == "personal", me
    assert (dev_dir / "stripe-webhook-secret").stat().st_mode & 0o777 == 0o600
    assert list((dev_dir / "mail").glob("*.eml")) == []  # nothing to verify in development


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
        _sign_up_and_pay(base, dev_dir)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", output)]
    # the accounts (mail sink, Stripe stand-in, auth, billing, webhooks), orchestrator and
    # gateway; --in-process: no model services
    assert len(pids) == 7, output
    assert not any(_alive(pid) for pid in pids), output
    stops = [line.strip() for line in output.splitlines() if line.strip().startswith("stopped")]
    assert stops == [
        "stopped gateway",
        "stopped orchestrator",
        "stopped webhooks",
        "stopped billing",
        "stopped auth",
        "stopped stripe-fake",
        "stopped mail-sink",
        "stopped nats-server",
    ], output

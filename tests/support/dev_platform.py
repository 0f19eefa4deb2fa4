"""``make dev``'s supervisor as a subprocess, and Debian's chromium for Playwright: what the web
app's browser tests and ``make bench-web`` run against."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from globalpic_dev.natsd import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB_DIST = ROOT / "services" / "web" / "dist"
SAMPLE = ROOT / "samples" / "taobao_sample.jpg"
# Debian's chromium: Playwright cannot download its own browser here (../shared/OFFLINE.md).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def dev_platform(
    work: Path, env: Mapping[str, str] | None = None, ready_timeout_s: float = 180.0
) -> Iterator[str]:
    """``python -m globalpic_dev.supervisor --in-process`` with its data under ``work`` and the
    built web app: its base URL once ``/readyz`` answers; SIGINT at the end."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "globalpic_dev.supervisor",
        "--port",
        str(port),
        "--dev-dir",
        str(work / ".dev"),
        "--in-process",
        "--web-dir",
        str(WEB_DIST),
    ]
    log_path = work / "supervisor.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            env=dict(env) if env is not None else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + ready_timeout_s
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                raise RuntimeError(f"make dev did not become ready:\n{log_path.read_text()}")
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

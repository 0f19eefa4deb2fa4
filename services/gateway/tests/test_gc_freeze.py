"""The gateway process freezes its start-up objects out of the cyclic GC."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


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

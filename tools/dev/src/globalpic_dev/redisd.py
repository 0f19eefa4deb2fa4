"""Redis for the tests and benches: the one named, else the machine's on 127.0.0.1:6379,
else a private ``redis-server`` (Debian's ``redis-server`` package; ``make redis``) on a free
loopback port, nothing persisted, stopped on exit."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from globalpic_dev.natsd import free_port, port_open

START_TIMEOUT_S = 10.0


class RedisServer:
    """A private ``redis-server`` on a free loopback port (``with``: started, then stopped)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "no redis-server to start: `make redis` (apt-get install redis-server)"
            )
        self.scratch.mkdir(parents=True, exist_ok=True)
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.scratch)]
        with (self.scratch / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start; see {self.scratch}/redis.log")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def redis_url(url: str | None, scratch: Path) -> Iterator[str]:
    """A Redis URL to use: ``url`` when given, else the machine's Redis, else a private one."""
    if url:
        yield url
    elif port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
    else:
        with RedisServer(scratch) as server:
            yield server.url

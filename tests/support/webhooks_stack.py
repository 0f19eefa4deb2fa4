"""A webhook receiver on loopback and the webhooks service as a process (start, SIGKILL,
start again): shared by the webhooks end-to-end test and ``bench/webhooks_bench.py``."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from globalpic_dev.natsd import free_port, port_open

START_TIMEOUT_S = 60.0
# What the receiver answers a delivery (its headers lower-cased, its body): an HTTP status,
# or 0 to drop the connection without a word (a receiver down hard).
Answer = Callable[[dict[str, str], bytes], int]


@contextmanager
def receiving(answer: Answer, path: str = "/hooks") -> Iterator[str]:
    """A receiver on a free loopback port until the block ends: its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = answer({k.lower(): v for k, v in self.headers.items()}, body)
            if status == 0:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()


class WebhooksProcess:
    """``globalpic-webhooks-server`` as a process that can be killed and started again."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = str(Path(sys.executable).parent / "globalpic-webhooks-server")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [script], env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"webhooks did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def webhooks_service(
    log_dir: Path,
    database_url: str,
    nats_url: str,
    events: tuple[str, str],
    **settings: str,
) -> Iterator[WebhooksProcess]:
    """The webhooks service on a free port, reading the events stream ``events`` (name,
    subject prefix: a gateway's ``events_stream`` and ``events_subject_prefix``), allowed to
    deliver to loopback; ``settings``: more GLOBALPIC_WEBHOOKS__ values."""
    port = free_port()
    env = {
        "GLOBALPIC_WEBHOOKS__HOST": "127.0.0.1",
        "GLOBALPIC_WEBHOOKS__PORT": str(port),
        "GLOBALPIC_WEBHOOKS__METRICS_PORT": "0",
        "GLOBALPIC_WEBHOOKS__DATABASE_URL": database_url,
        "GLOBALPIC_WEBHOOKS__NATS_URL": nats_url,
        "GLOBALPIC_WEBHOOKS__EVENTS_STREAM": events[0],
        "GLOBALPIC_WEBHOOKS__EVENTS_SUBJECT_PREFIX": events[1],
        "GLOBALPIC_WEBHOOKS__DURABLE": f"webhooks-{secrets.token_hex(4)}",
        "GLOBALPIC_WEBHOOKS__ALLOW_LOOPBACK": "true",
        **{f"GLOBALPIC_WEBHOOKS__{name.upper()}": value for name, value in settings.items()},
    }
    service = WebhooksProcess(env, port, log_dir / "webhooks.log")
    service.start()
    try:
        yield service
    finally:
        service.stop()

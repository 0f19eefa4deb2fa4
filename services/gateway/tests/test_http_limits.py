"""The server's own limits (``core.http_limits``) on a real uvicorn as ``globalpic-gateway``
serves it, driven by raw sockets: an oversized head is 431 (a 32 MB one too, without the
process holding it), a head or a body that never finishes is dropped, connections past the
limit get 503; and where ``/metrics`` is answered."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from globalpic_gateway.core.http_limits import server_config
from tests.support.gateway_harness import (
    PROBLEM_JSON,
    Harness,
    assert_problem,
    harness_settings,
    run_scenario,
    running_gateway,
    storage_at,
)


@asynccontextmanager
async def serving(
    tmp_path: Path, nats_url: str, **overrides: Any
) -> AsyncIterator[tuple[int, dict[str, str]]]:
    """The gateway under ``server_config`` on a free loopback port: (port, keys)."""
    settings, keys = harness_settings(f"sqlite:///{tmp_path / 'gateway.db'}", nats_url, **overrides)
    async with running_gateway(settings, keys, storage_at(tmp_path / "storage")) as gw:
        yield int(gw.base_url.rsplit(":", 1)[1]), keys


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = 120.0) -> tuple[bytes, float, bool]:
    """Everything the server sends until it closes (or resets), how long that took, and
    whether it did close (False: ``limit`` ran out first)."""
    started = time.monotonic()
    received = b""
    sock.settimeout(limit)
    closed = True
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        closed = False
    return received, time.monotonic() - started, closed


def _response(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body) if body else {}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _huge_header(port: int, size: int) -> tuple[bytes, int]:
    """Send ``size`` bytes of one header from a thread, as fast as the server takes them;
    read the answer meanwhile. (answer, bytes the server took before it stopped reading)."""
    sock = _connect(port)
    sent = 0

    def send() -> None:
        nonlocal sent
        chunk = b"a" * 65536
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server closed: what a client sending 32 MB of header gets
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer, _, _ = _read_until_closed(sock)
    sender.join(10)
    sock.close()
    return answer, sent


def test_a_32_mb_header_is_431_and_the_process_holds_none_of_it(
    tmp_path: Path, nats_url: str
) -> None:
    async def scenario() -> None:
        async with serving(tmp_path, nats_url, max_header_bytes=16 * 1024) as (port, _keys):
            before = _rss_bytes()
            answer, sent = await asyncio.to_thread(_huge_header, port, 32 * 1024 * 1024)
            status, headers, body = _response(answer)
            assert status == 431 and headers["content-type"] == PROBLEM_JSON
            assert body["code"] == "request_header_fields_too_large" and body["request_id"]
            assert headers["connection"] == "close"
            assert sent < 32 * 1024 * 1024  # it stopped reading; the rest was never taken
            assert _rss_bytes() - before < 16 * 1024 * 1024
            # and the server goes on
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/healthz")).status_code == 200

    asyncio.run(scenario())


def test_a_head_over_the_limit_in_one_read_is_431_too(tmp_path: Path, nats_url: str) -> None:
    async def scenario() -> None:
        async with serving(tmp_path, nats_url, max_header_bytes=4096) as (port, _keys):
            client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
            fine = await client.get("/healthz", headers={"X-Pad": "a" * 3000})
            assert fine.status_code == 200
            big = await client.get("/healthz", headers={"X-Pad": "a" * 6000})
            await client.aclose()
            assert_problem(big, 431, "request_header_fields_too_large")
            assert big.json()["instance"] == "/healthz"
            assert big.headers["X-Request-ID"]

    asyncio.run(scenario())


def _slow_head(port: int, send_nothing: bool) -> tuple[bytes, float, bool]:
    sock = _connect(port)
    if not send_nothing:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
    answer, took, closed = _read_until_closed(sock)
    sock.close()
    return answer, took, closed


@pytest.mark.parametrize("send_nothing", [False, True])
def test_a_head_that_never_ends_is_dropped(
    send_nothing: bool, tmp_path: Path, nats_url: str
) -> None:
    async def scenario() -> None:
        async with serving(tmp_path, nats_url, header_timeout_seconds=0.5) as (port, _keys):
            answer, took, closed = await asyncio.to_thread(_slow_head, port, send_nothing)
            # the server closed it, after its timeout (a busy machine: later, never sooner)
            assert closed and took > 0.4
            if send_nothing:  # closed without a word (a browser's preconnect, say)
                assert answer == b""
                return
            status, _headers, body = _response(answer)
            assert status == 408 and body["code"] == "request_timeout"

    asyncio.run(scenario())


def _stalled_upload(port: int, key: str) -> tuple[bytes, float, bool]:
    sock = _connect(port)
    body = b"--b\r\nContent-Disposition: form-data; name=images; filename=a.jpg\r\n\r\n\xff\xd8"
    sock.sendall(
        b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n" + body
    )
    answer, took, closed = _read_until_closed(sock)  # then nothing more, ever
    sock.close()
    return answer, took, closed


def test_a_body_that_stops_coming_is_dropped(tmp_path: Path, nats_url: str) -> None:
    async def scenario() -> None:
        async with serving(tmp_path, nats_url, body_timeout_seconds=0.5) as (port, keys):
            answer, took, closed = await asyncio.to_thread(_stalled_upload, port, keys["tenant-a"])
            assert closed and took > 0.4  # dropped: never a 2xx for a body that did not come
            assert not answer.startswith(b"HTTP/1.1 2")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/healthz")).status_code == 200

    asyncio.run(scenario())


def test_a_slow_but_steady_body_is_not_dropped(tmp_path: Path, nats_url: str) -> None:
    """The body timeout is between bytes, not for the whole upload."""

    def upload(port: int, key: str) -> bytes:
        sock = _connect(port)
        body = b'--b\r\nContent-Disposition: form-data; name="ops"\r\n\r\nclean\r\n--b--\r\n'
        sock.sendall(
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nConnection: close"
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )  # fmt: skip
        # 12 pieces 0.4 s apart: about 5 s in all, longer than the 3 s timeout, each gap far
        # inside it (a busy machine stretches a gap, rarely sevenfold)
        for start in range(0, len(body), 6):
            time.sleep(0.4)
            sock.sendall(body[start : start + 6])
        answer, _, _ = _read_until_closed(sock)
        sock.close()
        return answer

    async def scenario() -> None:
        async with serving(tmp_path, nats_url, body_timeout_seconds=3) as (port, keys):
            answer = await asyncio.to_thread(upload, port, keys["tenant-a"])
            status, _headers, body = _response(answer)
            # the route read it all (an upload without images), it was not cut off
            assert status == 422 and body["code"] == "no_images", body

    asyncio.run(scenario())


def test_connections_past_the_limit_get_503(tmp_path: Path, nats_url: str) -> None:
    def probe(port: int) -> bytes:
        sock = _connect(port)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer, _, _ = _read_until_closed(sock)
        sock.close()
        return answer

    async def answer_becomes(port: int, status: int) -> tuple[dict[str, str], dict[str, Any]]:
        """Probe until the server answers ``status`` (it counts connections as it accepts and
        closes them: a busy machine takes longer, never answers otherwise for good)."""
        for _ in range(600):
            got, headers, body = _response(await asyncio.to_thread(probe, port))
            if got == status:
                return headers, body
            await asyncio.sleep(0.05)
        raise AssertionError(f"never answered {status}; last {got}")

    async def scenario() -> None:
        async with serving(tmp_path, nats_url, max_connections=2) as (port, _keys):
            idle = [await asyncio.to_thread(_connect, port) for _ in range(2)]
            headers, body = await answer_becomes(port, 503)
            assert body["code"] == "service_unavailable"
            assert headers["retry-after"] == "1" and headers["content-type"] == PROBLEM_JSON
            for sock in idle:
                sock.close()
            await answer_becomes(port, 200)

    asyncio.run(scenario())


def test_the_server_config_carries_the_settings(tmp_path: Path) -> None:
    settings, _ = harness_settings(
        f"sqlite:///{tmp_path / 'g.db'}",
        "nats://127.0.0.1:1",
        keep_alive_timeout_seconds=7,
        max_header_bytes=8192,
        header_timeout_seconds=3,
        body_timeout_seconds=4,
        max_connections=10,
    )
    config = server_config(object(), settings)
    assert config.timeout_keep_alive == 7
    assert config.h11_max_incomplete_event_size == 8192
    assert config.limit_concurrency is None  # the protocol answers 503 itself, problem+json
    protocol: Any = config.http
    assert (protocol.max_head_bytes, protocol.header_timeout) == (8192, 3)
    assert (protocol.body_timeout, protocol.max_connections) == (4, 10)
    assert (config.host, config.port) == (settings.host, settings.port)


# -- /metrics ---------------------------------------------------------------------------------


def test_metrics_stay_on_the_api_port_in_development(
    sqlite_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client(None) as anyone:
            answer = await anyone.get("/metrics")
            assert answer.status_code == 200 and "globalpic_http_requests" in answer.text

    run_scenario(sqlite_url, tmp_path, nats_url, scenario)


def test_production_keeps_metrics_off_the_api_port(
    sqlite_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            assert_problem(await api.get("/metrics"), 404, "not_found")
            assert_problem(await api.get("/metrics/"), 404, "not_found")
            assert (await api.get("/healthz")).status_code == 200

    run_scenario(sqlite_url, tmp_path, nats_url, scenario, rate_limits=False)


def test_a_metrics_token_guards_the_api_port(
    sqlite_url: str, tmp_path: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    token = "metrics-3f9c2b7e"

    async def scenario(gw: Harness) -> None:
        async with gw.client(None) as anyone:
            assert_problem(await anyone.get("/metrics"), 401, "unauthorized")
            wrong = await anyone.get("/metrics", headers={b"Authorization": b"Bearer n\xc3\xa9"})
            assert_problem(wrong, 401, "unauthorized")
            ok = await anyone.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and "globalpic_http_requests" in ok.text

    run_scenario(sqlite_url, tmp_path, nats_url, scenario, metrics_token=token, rate_limits=False)


def test_metrics_public_false_hides_it_in_development(
    sqlite_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            assert_problem(await api.get("/metrics"), 404, "not_found")

    run_scenario(sqlite_url, tmp_path, nats_url, scenario, metrics_public=False)

"""SSRF: what CreateEndpoint accepts, and the connection-time guard that refuses a private
address whatever the stored URL says (DNS rebinding)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from globalpic_common.errors import BadInputError
from globalpic_webhooks.urls import UrlPolicy, address_refusal, guarded_transport
from services.webhooks.tests.helpers import PUBLIC_IP, FakeDns

DNS = FakeDns(
    {
        "internal.example.com": ["10.0.0.5"],
        "mixed.example.com": [PUBLIC_IP, "192.168.1.20"],
        "metadata.example.com": ["169.254.169.254"],
        "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
        "rebind.example.com": ["127.0.0.1"],
    }
)


def _policy(allow_loopback: bool = False) -> UrlPolicy:
    return UrlPolicy(allow_loopback=allow_loopback, resolver=DNS)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/globalpic",
        "https://hooks.example.com:8443/x?token=abc",
        f"https://{PUBLIC_IP}/hook",
        "https://v6.example.com/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert _policy().check(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https:///x", "no host"),
        ("https://hooks.example.com:99999/x", "port"),
        ("https://nowhere.example.com/x", "does not resolve"),
        ("https://internal.example.com/x", "private"),
        ("https://mixed.example.com/x", "private"),
        ("https://metadata.example.com/latest", "link-local"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.1.2.3/x", "private"),
        ("https://172.16.0.1/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://100.64.0.1/x", "not a public"),
        ("https://0.0.0.0/x", "not a public"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://localhost/x", "loopback"),
        ("https://api.localhost/x", "loopback"),
        ("https://[::1]/x", "loopback"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[fd00::5]/x", "private"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://[::ffff:127.0.0.1]/x", "loopback"),
        ("https://224.0.0.1/x", "not a public"),
        ("https://hooks.example.com/a b", "whitespace"),
        ("https://hooks.example.com/" + "a" * 2000, "longer"),
        ("", "no URL"),
    ],
)
def test_unsafe_urls_are_refused_with_bad_option(url: str, why: str) -> None:
    with pytest.raises(BadInputError) as refused:
        _policy().check(url)
    assert refused.value.code == "bad_option"
    assert why in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1:8443/hook",
        "http://localhost:9000/hook",
        "http://[::1]:9000/hook",
    ],
)
def test_loopback_is_accepted_only_when_the_setting_allows_it(url: str) -> None:
    assert _policy(allow_loopback=True).check(url) == url
    with pytest.raises(BadInputError, match="loopback"):
        _policy().check(url)


def test_the_setting_opens_loopback_only() -> None:
    policy = _policy(allow_loopback=True)
    for url in ("https://10.0.0.5/x", "http://hooks.example.com/x", "https://169.254.169.254/"):
        with pytest.raises(BadInputError):
            policy.check(url)


def test_address_refusal_names_the_kind() -> None:
    assert address_refusal(PUBLIC_IP, allow_loopback=False) is None
    assert "private" in (address_refusal("10.9.8.7", allow_loopback=True) or "")
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert "not an IP" in (address_refusal("example.com", allow_loopback=False) or "")


@pytest.fixture
def local_http() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_transport_refuses_a_loopback_connection_whatever_was_stored(
    local_http: tuple[str, list[str]],
) -> None:
    base, seen = local_http

    async def post(allow_loopback: bool) -> int:
        transport = guarded_transport(allow_loopback=allow_loopback, max_connections=2)
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.post(f"{base}/hook", content=b"{}")).status_code

    with pytest.raises(httpx.ConnectError, match="loopback"):
        asyncio.run(post(allow_loopback=False))
    assert seen == []  # nothing reached the server
    assert asyncio.run(post(allow_loopback=True)) == 204
    assert seen == ["/hook"]

"""Which URLs a team may register, and the guard that holds it at connection time (SSRF).

A webhook URL is the one place where a customer makes our network send a request where they
say, so two checks stand between it and the cluster's insides:

1. ``UrlPolicy.check`` when the endpoint is created: ``https://`` only, no credentials in the
   URL, and the host (a literal address, or every address its name resolves to) must be
   public: loopback, private (RFC 1918, unique-local), link-local (the cloud metadata
   service at 169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified
   addresses are refused, IPv4-mapped IPv6 included. With ``allow_loopback`` (development,
   tests) loopback hosts are accepted, over ``http://`` too.
2. ``guarded_transport`` when a delivery is sent: the connection resolves the name itself,
   refuses it if any address fails the same test, and connects to the address it checked
   (TLS still verifies the certificate against the name). A name that resolved to a public
   address at creation and to ``10.0.0.5`` today (DNS rebinding) gets no connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from globalpic_common import errors
from globalpic_common.errors import BadInputError

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = ("localhost",)

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def _is_loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


def address_refusal(address: str, *, allow_loopback: bool) -> str | None:
    """Why a webhook may not go to ``address``; ``None`` when it may."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not a public address"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_reserved or not ip.is_global:
        return f"{ip} is not a public address"
    return None


def _all_loopback(addresses: Iterable[str]) -> bool:
    found = False
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            return False
        found = True
    return found


def _refused(url: str, why: str) -> BadInputError:
    return BadInputError(f"webhook URL {url[:200]!r} refused: {why}", code=errors.BAD_OPTION)


class UrlPolicy:
    """What ``CreateEndpoint`` accepts (``check``); ``resolver`` is DNS, or a test's table."""

    def __init__(self, *, allow_loopback: bool, resolver: Resolver = resolve) -> None:
        self.allow_loopback = allow_loopback
        self.resolver = resolver

    def check(self, url: str) -> str:
        """``url`` as stored, or ``BadInputError`` (``bad_option``) saying why not."""
        url = url.strip()
        if not url:
            raise _refused(url, "no URL")
        if len(url) > MAX_URL_LENGTH:
            raise _refused(url, f"longer than {MAX_URL_LENGTH} characters")
        if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
            raise _refused(url, "it contains whitespace or control characters")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise _refused(url, "not an https:// URL")
        if parts.username is not None or parts.password is not None:
            raise _refused(url, "credentials in the URL (put a token in the path instead)")
        host = parts.hostname
        if not host:
            raise _refused(url, "no host")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise _refused(url, "a bad port") from None
        addresses = self._addresses(url, host, port)
        for address in addresses:
            why = address_refusal(address, allow_loopback=self.allow_loopback)
            if why is not None:
                raise _refused(url, why)
        if scheme == "http" and not (self.allow_loopback and _all_loopback(addresses)):
            raise _refused(url, "not an https:// URL")
        return url

    def _addresses(self, url: str, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if _is_loopback_name(host):
            return ["127.0.0.1"]  # RFC 6761: localhost is loopback, whatever DNS says
        addresses = self.resolver(host, port)
        if not addresses:
            raise _refused(url, f"the host {host!r} does not resolve")
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check at connect time: resolve, refuse if
    any address is not allowed, connect to a checked address."""

    def __init__(self, *, allow_loopback: bool, inner: httpcore.AsyncNetworkBackend | None = None):
        self.allow_loopback = allow_loopback
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        for address in addresses:
            why = address_refusal(address, allow_loopback=self.allow_loopback)
            if why is not None:
                raise httpcore.ConnectError(f"refused to connect to {host}: {why}")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never go to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(*, allow_loopback: bool, max_connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's transport whose connections go through ``GuardedBackend``; no proxies from the
    environment (a proxy would connect where it likes), certificates verified."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx builds its httpcore pool without a way to pass a network backend: replace it
    # with the same pool on the guarded backend.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
        network_backend=GuardedBackend(allow_loopback=allow_loopback),
    )
    return transport

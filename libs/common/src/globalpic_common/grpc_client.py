"""Talking to a GlobalPic gRPC service: channel, trace propagation, deadlines, errors.

``GrpcClient`` is the base of each service's client (``OcrClient``, ...): it owns one channel
(thread-safe, shared by every call), gives each call a deadline, and turns a failed call back
into the ``GlobalPicError`` the server raised (``grpc_errors``), so code using a client sees
exactly the errors the in-process class would raise, plus ``ServiceUnavailableError``.

Replicas. A client balances its calls over every address its target resolves to (gRPC's
``round_robin`` policy), so one address can stand for a set of replicas:

* ``host:port`` (or ``dns:///host:port``): every address DNS returns for ``host``. A
  Kubernetes *headless* Service (``dns:///ocr.globalpic.svc:50051``) resolves to every ready
  pod; a ClusterIP Service resolves to one virtual IP, so its client sticks to one pod.
* ``ipv4:10.0.0.1:50051,10.0.0.2:50051`` (``ipv6:[::1]:50051,...``): a fixed list, where
  there is no DNS to ask; a bare ``10.0.0.1:50051,10.0.0.2:50051`` is read the same way.

Every RPC is a pure function of its request, so a call that fails with UNAVAILABLE or
CANCELLED without an answer (its replica died or is stopping) is retried by gRPC on another
replica (``RETRY_POLICY``: up to 5 attempts, backoff from 0.1 s). Any other status, e.g.
INVALID_ARGUMENT with its stable error code, returns at once and is never retried.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Self, TypeVar

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from globalpic_common.errors import ServiceUnavailableError
from globalpic_common.grpc_errors import error_from_rpc
from globalpic_common.grpc_server import CHANNEL_OPTIONS, MAX_MESSAGE_BYTES
from globalpic_common.tracing import inject_metadata, tracer

# CPU inference of one large photo takes seconds; a minute means the peer is stuck.
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_READY_TIMEOUT_S = 30.0

# A call whose replica died (UNAVAILABLE) or was stopping (CANCELLED: the call reached a server
# that had begun to shut down) had no answer; the next attempt goes to another replica. The
# backoff starts at 0.1 s and doubles (with jitter): about 1.5 s over the 4 retries.
RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 5,  # gRPC's own ceiling
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
}
SERVICE_CONFIG: dict[str, Any] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{"name": [{}], "retryPolicy": RETRY_POLICY}],  # [{}]: every method
}
# gRPC retries a call only while its request is buffered, 256 KiB by default: less than one
# 320 x 320 RGB image. Raw images go up to MAX_MESSAGE_BYTES, so the buffer does too (it holds
# the serialized request the call sends anyway, not a copy).
RETRY_BUFFER_BYTES = MAX_MESSAGE_BYTES
GRPC_DEFAULT_RETRY_BUFFER_BYTES = 256 * 1024
_TARGET_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")

Request = TypeVar("Request")
Response = TypeVar("Response")


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _ClientCallDetails(_CallDetails, grpc.ClientCallDetails):  # type: ignore[misc]
    """grpc wants an instance of its (attribute-only) ClientCallDetails class."""


class TracingClientInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc,type-arg]
    """A CLIENT span per call, its context injected into the call's metadata."""

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        method = client_call_details.method
        method = method.decode() if isinstance(method, bytes) else str(method)
        service, _, name = method.lstrip("/").rpartition("/")
        span = tracer().start_span(
            method.lstrip("/"),
            kind=SpanKind.CLIENT,
            attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
        )
        with trace.use_span(span, end_on_exit=False):  # the metadata carries this span
            details = _ClientCallDetails(
                method,
                client_call_details.timeout,
                inject_metadata(client_call_details.metadata),
                client_call_details.credentials,
                client_call_details.wait_for_ready,
                client_call_details.compression,
            )
            outcome = continuation(details, request)

        def finish(call: Any) -> None:
            # Ends the span when the call ends, without blocking a ``.future()`` caller.
            code = call.code()
            if code != grpc.StatusCode.OK:
                span.set_status(Status(StatusCode.ERROR, code.name))
            span.end()

        outcome.add_done_callback(finish)
        return outcome


def channel_target(addr: str) -> str:
    """The gRPC target for a service address (the module docstring's forms): ``host:port``
    and gRPC target URIs as they are; a bare list of ``ip:port`` as ``ipv4:`` / ``ipv6:``.
    A list of host names has no gRPC form: ``ValueError`` (give a DNS name that resolves to
    every replica instead)."""
    addr = addr.strip()
    if "," not in addr or addr.startswith(_TARGET_SCHEMES):
        return addr
    parts = [part.strip() for part in addr.split(",") if part.strip()]
    families = {_ip_family(part) for part in parts}
    if len(families) != 1 or None in families:
        raise ValueError(
            f"{addr!r}: a list of addresses must be all IPv4 'a.b.c.d:port' or all IPv6 "
            "'[::1]:port' (or one DNS name that resolves to every replica)"
        )
    return f"{families.pop()}:{','.join(parts)}"


def _ip_family(part: str) -> str | None:
    host, sep, port = part.rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        ip = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if ip.version == 6 and not host.startswith("["):
        return None
    return f"ipv{ip.version}"


def make_channel(addr: str, *, retry_buffer_bytes: int = RETRY_BUFFER_BYTES) -> grpc.Channel:
    """An insecure channel to ``addr`` (any form of ``channel_target``) with the image-sized
    message limits, round-robin over the replicas, retries (``SERVICE_CONFIG``) and tracing.

    Insecure on purpose: inside the cluster the mesh (or NetworkPolicy) owns transport
    security; services never face the internet, the gateway does.
    """
    options = [
        *CHANNEL_OPTIONS,
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.service_config_disable_resolution", 1),  # ours, not one from DNS TXT records
        ("grpc.enable_retries", 1),
        ("grpc.per_rpc_retry_buffer_size", retry_buffer_bytes),
    ]
    channel = grpc.insecure_channel(channel_target(addr), options=options)
    return grpc.intercept_channel(channel, TracingClientInterceptor())


def _streams_requests(service: str) -> bool:
    """Whether ``service`` (a full name in the protobuf pool) has a client-streaming method:
    storage's ``Put`` streams an object of any size, which a retry buffer would hold whole."""
    try:
        descriptor = descriptor_pool.Default().FindServiceByName(service)
    except KeyError:
        return False
    return any(method.client_streaming for method in descriptor.methods)


class GrpcClient:
    """Base of the service clients: one channel (balanced over the replicas behind ``addr``,
    failed attempts retried on another), deadlines, health, error mapping."""

    def __init__(
        self,
        addr: str,
        health_service: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
    ) -> None:
        self.addr = addr
        self.health_service = health_service
        self.timeout_s = timeout_s
        self.ready_timeout_s = ready_timeout_s
        # An upload stream keeps gRPC's buffer: retried while it is small, never held whole.
        buffer = (
            GRPC_DEFAULT_RETRY_BUFFER_BYTES
            if _streams_requests(health_service)
            else RETRY_BUFFER_BYTES
        )
        self.channel = make_channel(addr, retry_buffer_bytes=buffer)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def health_status(self, timeout_s: float = 2.0) -> str:
        """The peer's ``grpc.health.v1`` status name (SERVING, NOT_SERVING, ...)."""
        request = health_pb2.HealthCheckRequest(service=self.health_service)
        reply = self.call(self._health.Check, request, timeout_s=timeout_s)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    def wait_until_serving(self, timeout_s: float | None = None) -> None:
        """Block until the peer reports SERVING (its model loaded); ``ServiceUnavailableError``
        after ``timeout_s`` (default ``ready_timeout_s``)."""
        limit = self.ready_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        last = "no answer"
        while True:
            try:
                last = self.health_status(timeout_s=max(0.1, min(2.0, limit)))
                if last == "SERVING":
                    return
            except ServiceUnavailableError as exc:
                last = exc.message
            if time.monotonic() >= deadline:
                raise ServiceUnavailableError(
                    f"{self.health_service} at {self.addr} not SERVING after {limit:.0f} s "
                    f"(last: {last})"
                )
            time.sleep(0.1)

    def load(self) -> None:
        """The in-process classes load their model here; a client waits for the peer's."""
        self.wait_until_serving()

    def call(
        self,
        method: Callable[..., Response],
        request: Any,
        *,
        timeout_s: float | None = None,
    ) -> Response:
        try:
            return method(request, timeout=self.timeout_s if timeout_s is None else timeout_s)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, f"{self.health_service} at {self.addr}") from exc

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

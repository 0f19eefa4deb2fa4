"""Talking to a GlobalPic gRPC service: channel, trace propagation, deadlines, errors.

``GrpcClient`` is the base of each service's client (``OcrClient``, ...): it owns one channel
(thread-safe, shared by every call), gives each call a deadline, and turns a failed call back
into the ``GlobalPicError`` the server raised (``grpc_errors``), so code using a client sees
exactly the errors the in-process class would raise, plus ``ServiceUnavailableError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, Self, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from globalpic_common.errors import ServiceUnavailableError
from globalpic_common.grpc_errors import error_from_rpc
from globalpic_common.grpc_server import CHANNEL_OPTIONS
from globalpic_common.tracing import inject_metadata, tracer

# CPU inference of one large photo takes seconds; a minute means the peer is stuck.
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_READY_TIMEOUT_S = 30.0

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


def make_channel(addr: str) -> grpc.Channel:
    """An insecure channel to ``host:port`` with the image-sized message limits and tracing.

    Insecure on purpose: inside the cluster the mesh (or NetworkPolicy) owns transport
    security; services never face the internet, the gateway does.
    """
    channel = grpc.insecure_channel(addr, options=CHANNEL_OPTIONS)
    return grpc.intercept_channel(channel, TracingClientInterceptor())


class GrpcClient:
    """Base of the service clients: one channel, deadlines, health, error mapping."""

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
        self.channel = make_channel(addr)
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

"""The shared gRPC server and client: health lifecycle, error codes across the wire,
deadlines, a stopped peer, trace propagation and per-RPC metrics.

A toy service (``test.Echo``, built from generic handlers with ``ErrorDetail`` as its
message) stands in for a real one, so these tests load no model.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from globalpic.common.v1 import common_pb2
from globalpic_common import errors, tracing
from globalpic_common.errors import (
    BadInputError,
    GlobalPicError,
    ModelUnavailableError,
    ServiceUnavailableError,
)
from globalpic_common.grpc_client import GrpcClient
from globalpic_common.grpc_server import ServiceServer, load_models, serve

SERVICE = "test.Echo"
Detail = common_pb2.ErrorDetail


class _Held:
    """The ``hold`` call of the toy service: it says it is inside the servicer (``entered``),
    then waits for ``release`` — a test controls the moment instead of guessing it."""

    entered = threading.Event()
    release = threading.Event()

    @classmethod
    def reset(cls) -> None:
        cls.entered, cls.release = threading.Event(), threading.Event()


def _echo(request: Detail, context: grpc.ServicerContext) -> Detail:
    """Echoes, or fails the way the request's ``code`` asks."""
    if request.code == "bad":
        raise BadInputError("the image is odd", code=errors.BAD_MASK)
    if request.code == "model":
        raise ModelUnavailableError("weights missing")
    if request.code == "crash":
        raise ZeroDivisionError("oops")
    if request.code == "abort":
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
    if request.code == "hold":
        held = _Held  # this call's events, even if a later test resets them
        entered, release = held.entered, held.release
        entered.set()
        release.wait(60)
    return Detail(code="ok", message=request.message)


def _register(server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(
        _echo, request_deserializer=Detail.FromString, response_serializer=Detail.SerializeToString
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"Echo": handler}),)
    )


class EchoClient(GrpcClient):
    def __init__(self, addr: str, **kwargs: float) -> None:
        super().__init__(addr, SERVICE, **kwargs)
        self._echo: Callable[..., Detail] = self.channel.unary_unary(
            f"/{SERVICE}/Echo",
            request_serializer=Detail.SerializeToString,
            response_deserializer=Detail.FromString,
        )

    def echo(self, code: str = "", message: str = "", timeout_s: float | None = None) -> Detail:
        return self.call(self._echo, Detail(code=code, message=message), timeout_s=timeout_s)


@pytest.fixture
def server() -> Iterator[ServiceServer]:
    _Held.reset()
    server = ServiceServer("echo", _register, port=0, host="127.0.0.1", health_services=[SERVICE])
    server.start()
    yield server
    _Held.release.set()  # a held call must not keep the server from stopping
    server.stop()


@pytest.fixture
def client(server: ServiceServer) -> Iterator[EchoClient]:
    with EchoClient(f"127.0.0.1:{server.port}", ready_timeout_s=5.0) as client:
        yield client


def test_health_is_not_serving_until_loaded_then_serving(
    server: ServiceServer, client: EchoClient
) -> None:
    loaded: list[str] = []

    class Model:
        def load(self) -> None:
            loaded.append("model")

    assert client.health_status() == "NOT_SERVING"
    with pytest.raises(ServiceUnavailableError, match="not SERVING"):
        client.wait_until_serving(timeout_s=0.3)
    load_models(Model(), object())()
    server.set_serving()
    client.load()  # waits for SERVING
    assert loaded == ["model"] and client.health_status() == "SERVING"


def test_calls_answer_and_bad_input_keeps_its_class_and_code(client: EchoClient) -> None:
    assert client.echo(message="hi").message == "hi"
    with pytest.raises(BadInputError) as caught:
        client.echo("bad")
    assert caught.value.code == errors.BAD_MASK and caught.value.message == "the image is odd"


def test_other_errors_cross_with_their_codes(client: EchoClient) -> None:
    with pytest.raises(ModelUnavailableError) as model:
        client.echo("model")
    assert model.value.code == "model_unavailable"
    with pytest.raises(GlobalPicError) as crash:
        client.echo("crash")
    assert type(crash.value) is GlobalPicError and crash.value.code == "internal_error"
    assert "ZeroDivisionError" in crash.value.message
    with pytest.raises(GlobalPicError) as aborted:  # a servicer's own abort stands
        client.echo("abort")
    assert "PERMISSION_DENIED" in aborted.value.message


def test_deadline_is_a_service_timeout(client: EchoClient) -> None:
    # the servicer holds the call until the client has given up: no race with the deadline
    with pytest.raises(ServiceUnavailableError) as caught:
        client.echo("hold", timeout_s=0.1)
    assert caught.value.code == errors.SERVICE_TIMEOUT
    _Held.release.set()


def test_stopped_server_is_service_unavailable(server: ServiceServer, client: EchoClient) -> None:
    assert client.echo(message="up").message == "up"
    server.stop()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.echo()
    assert caught.value.code == errors.SERVICE_UNAVAILABLE
    with pytest.raises(ServiceUnavailableError):
        client.wait_until_serving(timeout_s=0.2)


def test_graceful_stop_says_not_serving_and_lets_a_running_call_finish(
    server: ServiceServer, client: EchoClient
) -> None:
    server.set_serving()
    running = client._echo.future(Detail(code="hold", message="finished"), timeout=60)  # type: ignore[attr-defined]
    assert _Held.entered.wait(30), "the call never reached the servicer"
    assert not running.done()  # held inside the servicer until released below
    stopped = server.begin_stop(grace_s=60.0)
    health = server.health.Check(health_pb2.HealthCheckRequest(service=SERVICE), None)
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    # No new calls once stopping. gRPC core refuses one as UNAVAILABLE (the connection's
    # GOAWAY seen first) or CANCELLED (the call reached the server first; about 1 in 6 under
    # CPU load): the client reports both as a service that is unavailable, retryable.
    with pytest.raises(ServiceUnavailableError):
        client.echo(message="late", timeout_s=30)
    assert not running.done() and not stopped.is_set()  # the grace period waits for it
    _Held.release.set()
    assert running.result(timeout=30).message == "finished"
    assert stopped.wait(30)


def test_server_span_continues_the_client_trace(client: EchoClient) -> None:
    tracing.setup_tracing("test")
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    with tracing.tracer().start_as_current_span("job") as job:
        client.echo(message="traced")
    finished = {span.kind: span for span in exporter.get_finished_spans() if "Echo" in span.name}
    server_span, client_span = finished[SpanKind.SERVER], finished[SpanKind.CLIENT]
    trace_id = job.get_span_context().trace_id
    assert server_span.context.trace_id == client_span.context.trace_id == trace_id
    assert server_span.parent is not None
    assert server_span.parent.span_id == client_span.context.span_id
    exporter.shutdown()


def test_each_rpc_is_timed_by_method_and_status(client: EchoClient) -> None:
    def count(code: str) -> float:
        labels = {"method": f"/{SERVICE}/Echo", "code": code}
        return REGISTRY.get_sample_value("globalpic_grpc_server_seconds_count", labels) or 0.0

    ok, bad = count("OK"), count("INVALID_ARGUMENT")
    client.echo()
    with pytest.raises(BadInputError):
        client.echo("bad")
    assert count("OK") == ok + 1 and count("INVALID_ARGUMENT") == bad + 1


@pytest.fixture
def restore_signal_handlers() -> Iterator[None]:
    """``serve`` installs SIGTERM / SIGINT handlers; put pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.usefixtures("restore_signal_handlers")
def test_serve_loads_then_serves_until_sigterm() -> None:
    port = _free_port()
    seen: list[str] = []

    def load() -> None:  # runs while the port is open: probes must see NOT_SERVING
        with EchoClient(f"127.0.0.1:{port}") as probe:
            deadline = time.monotonic() + 10
            while True:  # the connection may still be in its reconnect backoff
                try:
                    seen.append(probe.health_status())
                    return
                except ServiceUnavailableError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    def operator() -> None:
        with EchoClient(f"127.0.0.1:{port}", ready_timeout_s=10.0) as client:
            client.wait_until_serving()
            seen.append(client.echo(message="served").message)
        os.kill(os.getpid(), signal.SIGTERM)

    worker = threading.Thread(target=operator)
    worker.start()
    serve("echo", _register, port=port, host="127.0.0.1", load=load, grace_s=1.0,
          unload=lambda: seen.append("unloaded"), health_services=[SERVICE])  # fmt: skip
    worker.join(5)
    assert seen == ["NOT_SERVING", "served", "unloaded"]  # unloaded once it stopped


@pytest.mark.usefixtures("restore_signal_handlers")
def test_serve_fails_when_loading_fails() -> None:
    def load() -> None:
        raise ModelUnavailableError("no weights at /models/u2netp.onnx")

    with pytest.raises(ModelUnavailableError):
        serve("echo", _register, port=_free_port(), host="127.0.0.1", load=load)

"""One way to run a GlobalPic gRPC service: health, metrics, tracing, errors, shutdown.

A service module registers its servicer and hands over its model loader; ``serve`` does the
rest (ARCHITECTURE.md conventions):

* ``grpc.health.v1`` answers NOT_SERVING until ``load()`` returned, then SERVING, so
  Kubernetes' native gRPC probe sends traffic only to replicas whose model is in memory;
* SIGTERM / SIGINT: health NOT_SERVING at once, running calls get ``grace_s`` to finish;
* every RPC (health checks aside) runs in a span continued from the caller's trace context,
  is timed into ``globalpic_grpc_server_seconds``, and a ``GlobalPicError`` it raises becomes
  a status + ``ErrorDetail`` (``grpc_errors``) instead of an opaque INTERNAL.

The server is grpcio's synchronous one: each call runs in the thread pool, so inference never
blocks an event loop, and ``max_workers`` bounds how many images are in memory at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.trace import SpanKind, Status, StatusCode

from globalpic_common.errors import GlobalPicError
from globalpic_common.grpc_errors import error_trailers, status_for
from globalpic_common.logs import setup_json_logging
from globalpic_common.metrics import RPC_ERRORS, RPC_SECONDS, start_metrics_server
from globalpic_common.models import load_all
from globalpic_common.settings import ServiceSettings
from globalpic_common.tracing import extract_metadata, setup_tracing, tracer

log = logging.getLogger(__name__)

# Images travel raw: a 50 MP input (the ImageLimits maximum) is 150 MB as RGB and 200 MB as a
# float32 matte; gRPC's 4 MB default would refuse anything above ~1.1 MP.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]
# A client balances (round_robin) over the addresses DNS gave it when it connected, and asks
# DNS again only when a connection drops: pods a scale-up adds behind a headless Service would
# never get a call. Servers close each connection after this age (in-flight calls get the
# grace to finish; the client reconnects at once and re-resolves).
MAX_CONNECTION_AGE_MS = 5 * 60 * 1000
MAX_CONNECTION_AGE_GRACE_MS = 2 * 60 * 1000
SERVER_OPTIONS: list[tuple[str, Any]] = [
    *CHANNEL_OPTIONS,
    ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
    ("grpc.max_connection_age_grace_ms", MAX_CONNECTION_AGE_GRACE_MS),
]
_HEALTH_PREFIX = "/grpc.health.v1."

Register = Callable[[grpc.Server], None]


class GrpcServerSettings(ServiceSettings):
    """What every service's server reads; each subclasses it with its own prefix and ports
    (``GLOBALPIC_OCR__PORT``, ``GLOBALPIC_OCR__METRICS_PORT``, ...)."""

    host: str = "[::]"
    port: int = 50051
    metrics_port: int = 0  # 0: no /metrics endpoint
    # Calls served at once. Each holds its images (and a model's activations) in memory; the
    # models use every core per call, so a few at a time keeps latency without thrashing.
    max_workers: int = 2
    grace_s: float = 10.0  # SIGTERM: running calls get this long to finish
    log_level: str = "INFO"


def load_models(*components: object) -> Callable[[], None]:
    """A loader that gets the ``Loadable`` components ready (``models.load_all``: each model
    loads once, under its lock)."""

    def load() -> None:
        load_all(*components)

    return load


class ObservingInterceptor(grpc.ServerInterceptor):  # type: ignore[misc,type-arg]
    """Span, timing and error mapping around every unary call."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or handler.unary_unary is None or method.startswith(_HEALTH_PREFIX):
            return handler
        inner = handler.unary_unary

        def observed(request: Any, context: grpc.ServicerContext) -> Any:
            return _observe(method, inner, request, context)

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _observe(
    method: str,
    inner: Callable[[Any, grpc.ServicerContext], Any],
    request: Any,
    context: grpc.ServicerContext,
) -> Any:
    service, _, name = method.lstrip("/").rpartition("/")
    parent = extract_metadata(context.invocation_metadata())
    code = grpc.StatusCode.OK
    start = time.perf_counter()
    with tracer().start_as_current_span(
        method.lstrip("/"),
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            return inner(request, context)
        except GlobalPicError as exc:
            code = status_for(exc)
            RPC_ERRORS.labels(method=method, error_code=exc.code).inc()
            span.set_status(Status(StatusCode.ERROR, exc.code))
            level = logging.INFO if code == grpc.StatusCode.INVALID_ARGUMENT else logging.ERROR
            log.log(level, "%s failed: %s", method, exc, extra={"error_code": exc.code})
            context.set_trailing_metadata(error_trailers(exc))
            context.abort(code, exc.message)
        except Exception as exc:
            aborted = context.code()  # type: ignore[attr-defined]
            if aborted is not None and aborted != grpc.StatusCode.OK:
                code = aborted  # the servicer aborted on purpose: its status stands
                raise
            code = grpc.StatusCode.INTERNAL
            RPC_ERRORS.labels(method=method, error_code="internal_error").inc()
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            log.exception("%s crashed", method)
            internal = GlobalPicError(f"{name} failed on the server ({type(exc).__name__})")
            context.set_trailing_metadata(error_trailers(internal))
            context.abort(code, internal.message)
        finally:
            RPC_SECONDS.labels(method=method, code=code.name).observe(time.perf_counter() - start)


class ServiceServer:
    """A started-but-not-ready gRPC server: health says NOT_SERVING until ``set_serving``."""

    def __init__(
        self,
        service: str,
        register: Register,
        *,
        port: int,
        host: str = "[::]",
        max_workers: int = 2,
        health_services: Sequence[str] = (),
    ) -> None:
        self.service = service
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"{service}-rpc"),
            interceptors=[ObservingInterceptor()],
            options=SERVER_OPTIONS,
        )
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        register(self._server)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        # "" is the whole server (what a bare probe asks); each full service name as well.
        self._health_names = ("", *health_services)
        self._set(health_pb2.HealthCheckResponse.NOT_SERVING)

    def _set(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in self._health_names:
            self.health.set(name, status)

    def start(self) -> None:
        self._server.start()
        log.info("%s listening on port %d (NOT_SERVING until loaded)", self.service, self.port)

    def set_serving(self) -> None:
        self._set(health_pb2.HealthCheckResponse.SERVING)
        log.info("%s SERVING", self.service)

    def begin_stop(self, grace_s: float) -> threading.Event:
        """NOT_SERVING now; refuse new calls; running ones get ``grace_s`` seconds."""
        self.health.enter_graceful_shutdown()
        stopped: threading.Event = self._server.stop(grace_s)
        return stopped

    def stop(self, grace_s: float = 0.0) -> None:
        self.begin_stop(grace_s).wait()

    def wait(self) -> None:
        self._server.wait_for_termination()


def run_service(
    service: str,
    register: Register,
    settings: GrpcServerSettings,
    *,
    load: Callable[[], None],
    unload: Callable[[], None] | None = None,
    health_services: Sequence[str] = (),
) -> None:
    """A console script's whole main: JSON logs, tracing, then ``serve`` per ``settings``."""
    setup_json_logging(service, settings.log_level)
    setup_tracing(service)
    serve(
        service,
        register,
        port=settings.port,
        load=load,
        unload=unload,
        max_workers=settings.max_workers,
        grace_s=settings.grace_s,
        host=settings.host,
        health_services=health_services,
        metrics_port=settings.metrics_port,
    )


def serve(
    service: str,
    register: Register,
    *,
    port: int,
    load: Callable[[], None],
    unload: Callable[[], None] | None = None,
    max_workers: int = 2,
    grace_s: float = 10.0,
    host: str = "[::]",
    health_services: Sequence[str] = (),
    metrics_port: int = 0,
) -> None:
    """Run a service until SIGTERM / SIGINT (the console scripts' main loop).

    The port opens before ``load()`` so probes see NOT_SERVING rather than a refused
    connection while the model loads; a failing ``load()`` stops the server and raises (the
    process exits non-zero and Kubernetes restarts it). ``unload()`` runs once the server has
    stopped (in-flight calls finished or past their grace): models release their sessions
    and device memory before the process goes. ``metrics_port`` 0: no /metrics.
    """
    server = ServiceServer(
        service,
        register,
        port=port,
        host=host,
        max_workers=max_workers,
        health_services=health_services,
    )
    if metrics_port:
        start_metrics_server(metrics_port)
        log.info("%s metrics on port %d", service, metrics_port)
    stopping = threading.Event()

    def stop(signum: int) -> None:
        log.info("%s: %s, stopping (grace %.0f s)", service, signal.Signals(signum).name, grace_s)
        server.begin_stop(grace_s)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stopping.set()
        # Off the signal handler: logging and gRPC take locks the interrupted code may hold.
        threading.Thread(target=stop, args=(signum,), name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    try:
        started = time.perf_counter()
        load()
        log.info("%s loaded in %.1f s", service, time.perf_counter() - started)
    except BaseException:
        log.exception("%s: loading failed", service)
        server.stop()
        raise
    if not stopping.is_set():
        server.set_serving()
    server.wait()
    if unload is not None:
        unload()
    log.info("%s stopped", service)

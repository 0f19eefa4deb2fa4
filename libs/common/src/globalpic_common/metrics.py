"""The Prometheus metrics every service exports (one registry: prometheus_client's default).

``globalpic_stage_seconds{stage,backend}`` is the histogram of ARCHITECTURE.md: wall seconds
per pipeline stage (ocr, segment, inpaint, remix.composite, ...) per backend that ran it.
``globalpic_grpc_server_seconds{method,code}`` times every RPC a service answers.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Histogram, start_http_server

# Stages run from milliseconds (classification) to a minute (Z-Image on a busy GPU).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

STAGE_SECONDS = Histogram(
    "globalpic_stage_seconds",
    "Wall seconds per processing stage",
    ("stage", "backend"),
    buckets=_BUCKETS,
)
RPC_SECONDS = Histogram(
    "globalpic_grpc_server_seconds",
    "Wall seconds per gRPC call answered, by method and status code",
    ("method", "code"),
    buckets=_BUCKETS,
)
RPC_ERRORS = Counter(
    "globalpic_grpc_server_errors",
    "gRPC calls answered with an error, by method and stable error code",
    ("method", "error_code"),
)


def observe_stages(seconds: dict[str, float], backend: str) -> None:
    """Record each stage's seconds (a ``StageTimer.seconds`` or a result's ``seconds``)."""
    for stage, value in seconds.items():
        STAGE_SECONDS.labels(stage=stage, backend=backend).observe(value)


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve ``/metrics`` on ``port`` in a daemon thread (0 picks a free port: read it from
    ``server.server_port``); ``server.shutdown()`` stops it."""
    server, _thread = start_http_server(port, addr=addr)
    return server

"""OpenTelemetry tracing shared by every service: gateway -> gRPC -> NATS spans join up.

``setup_tracing`` installs the SDK tracer provider once per process. Spans are exported over
OTLP only when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set;
without it spans still exist (their ids reach the JSON logs and peer services) but go nowhere.

The W3C trace context (``traceparent`` / ``tracestate``) travels in gRPC metadata and in NATS
message headers; both are plain string maps, so one pair of helpers serves both carriers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACER_NAME = "globalpic"


def setup_tracing(service: str) -> None:
    """Install the SDK tracer provider (``service.name`` = ``service``) unless one is set.

    OpenTelemetry allows one global provider per process; a second call (tests start several
    servers in one process) keeps the first.
    """
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if any(os.environ.get(name) for name in _ENDPOINT_VARS):
        # Imported only when used: the exporter pulls its own gRPC client stack.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        # The exporter reads endpoint, headers and TLS from the standard OTEL_* variables.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """The current trace context added to ``headers`` (a NATS message's headers), returned."""
    carrier = {} if headers is None else headers
    propagate.inject(carrier)
    return carrier


def extract_headers(headers: Mapping[str, str] | None) -> Context:
    """The trace context a message's headers carry (an empty context when none)."""
    return propagate.extract(dict(headers or {}))


def inject_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None = None,
) -> list[tuple[str, str | bytes]]:
    """gRPC call metadata with the current trace context appended."""
    items = list(metadata or ())
    items.extend(inject_headers().items())
    return items


def extract_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> Context:
    """The trace context in a call's invocation metadata (text keys only; ``-bin`` skipped)."""
    text = {key: value for key, value in metadata or () if isinstance(value, str)}
    return propagate.extract(text)

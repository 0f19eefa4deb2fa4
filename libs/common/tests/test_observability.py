"""JSON logs carry the trace id; stage timings reach Prometheus; trace context crosses
carriers (gRPC metadata, NATS headers)."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from globalpic_common import tracing
from globalpic_common.logs import JsonFormatter, setup_json_logging
from globalpic_common.metrics import observe_stages, start_metrics_server
from globalpic_common.timing import StageTimer


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    tracing.setup_tracing("test")
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    yield exporter
    exporter.shutdown()


def _log_line(logger: logging.Logger, *args: object, **kwargs: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("ocr"))
    logger.addHandler(handler)
    try:
        logger.warning(*args, **kwargs)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry: dict[str, object] = json.loads(lines[0])
    return entry


def test_json_log_line_has_the_fields_and_extras() -> None:
    entry = _log_line(logging.getLogger("t.logs"), "erased %d lines", 3, extra={"job": "j-1"})
    assert entry["message"] == "erased 3 lines"
    assert entry["level"] == "WARNING" and entry["service"] == "ocr"
    assert entry["logger"] == "t.logs" and entry["job"] == "j-1"
    assert "ts" in entry and "trace_id" not in entry


def test_json_log_line_inside_a_span_carries_its_trace_id(spans: InMemorySpanExporter) -> None:
    with tracing.tracer().start_as_current_span("work") as span:
        entry = _log_line(logging.getLogger("t.logs"), "inside")
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_setup_json_logging_installs_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        setup_json_logging("seg", "info")
        setup_json_logging("seg", "info")
        ours = [h for h in root.handlers if h not in before]
        assert len(ours) == 1
        logging.getLogger("t.setup").info("hello")
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["service"] == "seg"
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)


def _sample(stage: str, backend: str, suffix: str = "_count") -> float:
    value = REGISTRY.get_sample_value(
        f"globalpic_stage_seconds{suffix}", {"stage": stage, "backend": backend}
    )
    return value or 0.0


def test_stage_timer_feeds_the_histogram_only_with_a_backend() -> None:
    with StageTimer().stage("t-quiet"):  # no backend: nothing recorded
        pass
    timer = StageTimer(backend="t-backend")
    for _ in range(2):
        with timer.stage("t-stage"):
            pass
    assert _sample("t-stage", "t-backend") == 2
    assert _sample("t-quiet", "t-backend") == 0
    assert set(timer.seconds) == {"t-stage"}


def test_metrics_endpoint_exposes_stage_seconds() -> None:
    observe_stages({"t-endpoint": 0.3}, "t-backend")
    server = start_metrics_server(0, addr="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
    counts = {
        (sample.labels["stage"], sample.labels["backend"]): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "globalpic_stage_seconds_count"
    }
    assert counts[("t-endpoint", "t-backend")] == 1.0


def test_trace_context_crosses_nats_headers_and_grpc_metadata(
    spans: InMemorySpanExporter,
) -> None:
    with tracing.tracer().start_as_current_span("publisher") as span:
        headers = tracing.inject_headers({"Nats-Msg-Id": "m-1"})
        metadata = tracing.inject_metadata([("x-tenant", "t-1"), ("blob-bin", b"\x00")])
    assert headers["Nats-Msg-Id"] == "m-1" and "traceparent" in headers
    trace_id = span.get_span_context().trace_id
    for context in (tracing.extract_headers(headers), tracing.extract_metadata(metadata)):
        with tracing.tracer().start_as_current_span("consumer", context=context) as child:
            assert child.get_span_context().trace_id == trace_id
    assert tracing.extract_headers(None) == tracing.extract_headers({})

"""``X-Request-ID`` (``core.request_id``): kept when sane, made when missing or not, echoed on
every response, in the log records and the server span of the request, and in problem bodies;
CORS (``cors_origins``) exposing it with the rate-limit headers."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from globalpic_common import tracing
from globalpic_common.logs import JsonFormatter
from globalpic_gateway.core.request_id import SPAN_ATTRIBUTE, accept_request_id
from tests.support.gateway_harness import Harness, assert_problem, run_scenario

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_only_sane_tokens_are_kept() -> None:
    for sane in (b"abc", b"A-b_c.9", b"x" * 128, b"01J9Z3K8Q6"):
        assert accept_request_id(sane) == sane.decode()
    for insane in (None, b"", b"x" * 129, b"a b", b'a"b', b"a\x00b", b"caf\xc3\xa9", b"a/b"):
        assert GENERATED.fullmatch(accept_request_id(insane)), insane


def _add_probe_routes(app: FastAPI) -> None:
    probe = logging.getLogger("globalpic.gateway.probe")

    async def logs() -> dict[str, str]:
        probe.warning("inside the request")
        return {"ok": "yes"}

    async def breaks() -> dict[str, str]:
        raise RuntimeError("a bug")

    app.add_api_route("/probe/logs", logs)
    app.add_api_route("/probe/breaks", breaks)


def test_ids_are_echoed_made_and_replaced_everywhere(
    sqlite_url: str, tmp_path: Path, nats_url: str
) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            kept = await api.get("/v1/jobs", headers={"X-Request-ID": "client-1.a_b"})
            assert kept.status_code == 200 and kept.headers["X-Request-ID"] == "client-1.a_b"
            made = await api.get("/healthz")
            assert GENERATED.fullmatch(made.headers["X-Request-ID"])
            assert (
                made.headers["X-Request-ID"] != (await api.get("/healthz")).headers["X-Request-ID"]
            )
            bad = "x" * 200
            replaced = await api.get("/v1/jobs", headers={"X-Request-ID": bad})
            assert GENERATED.fullmatch(replaced.headers["X-Request-ID"])
            # problem bodies name it, ``instance`` is still the path
            missing = await api.get("/v1/jobs/nope", headers={"X-Request-ID": "trace-me"})
            body = assert_problem(missing, 404, "job_not_found")
            assert body["request_id"] == "trace-me" and body["instance"] == "/v1/jobs/nope"
            assert missing.headers["X-Request-ID"] == "trace-me"
            assert int(missing.headers["content-length"]) == len(missing.content)
            async with gw.client(None) as anonymous:
                refused = await anonymous.get("/v1/jobs")
                body = assert_problem(refused, 401, "unauthorized")
                assert body["request_id"] == refused.headers["X-Request-ID"]
                head = await anonymous.head("/v1/jobs/nope")  # HEAD: no body to stamp
                assert head.status_code in (401, 405) and head.content == b""
                assert GENERATED.fullmatch(head.headers["X-Request-ID"])
            # an unexpected error: the 500 problem and its log line carry it
            broken = await api.get("/probe/breaks", headers={"X-Request-ID": "bug-42"})
            assert_problem(broken, 500, "internal_error")
            assert broken.json()["request_id"] == "bug-42"

    async def wrapped(gw: Harness) -> None:
        _add_probe_routes(gw.app)
        await scenario(gw)

    run_scenario(sqlite_url, tmp_path, nats_url, wrapped)


def test_log_records_and_the_span_carry_the_id(
    sqlite_url: str, tmp_path: Path, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    tracing.setup_tracing("gateway-test")
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(  # type: ignore[attr-defined]
        SimpleSpanProcessor(exporter)
    )

    async def scenario(gw: Harness) -> None:
        _add_probe_routes(gw.app)
        async with gw.client() as api:
            ok = await api.get("/probe/logs", headers={"X-Request-ID": "log-me"})
            assert ok.status_code == 200
            await api.get("/probe/breaks", headers={"X-Request-ID": "bug-7"})

    try:
        with caplog.at_level(logging.INFO):
            run_scenario(sqlite_url, tmp_path, nats_url, scenario)
    finally:
        exporter.shutdown()
    inside = [r for r in caplog.records if r.getMessage() == "inside the request"]
    assert len(inside) == 1 and getattr(inside[0], "request_id", None) == "log-me"
    errors = [r for r in caplog.records if r.getMessage().startswith("unhandled error")]
    assert [getattr(r, "request_id", None) for r in errors] == ["bug-7"]
    # ... and JsonFormatter writes it beside the trace id
    line = json.loads(JsonFormatter("gateway").format(inside[0]))
    assert line["request_id"] == "log-me"
    # outside a request, no id
    outside = logging.getLogger("globalpic.gateway.probe").makeRecord(
        "x", logging.INFO, __file__, 1, "outside", (), None
    )
    assert not hasattr(outside, "request_id")
    attributes = [dict(span.attributes or {}) for span in exporter.get_finished_spans()]
    assert {"log-me", "bug-7"} <= {a.get(SPAN_ATTRIBUTE) for a in attributes}


def test_cors_exposes_the_rate_limit_and_request_id_headers(
    sqlite_url: str, tmp_path: Path, nats_url: str
) -> None:
    origin = "https://app.example"

    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            preflight = await api.options(
                "/v1/jobs",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, idempotency-key",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == origin
            assert preflight.headers["access-control-allow-credentials"] == "true"
            assert "X-Request-ID" in preflight.headers
            simple = await api.get("/v1/jobs", headers={"Origin": origin})
            assert simple.headers["access-control-allow-origin"] == origin
            exposed = {
                h.strip().lower()
                for h in simple.headers["access-control-expose-headers"].split(",")
            }
            assert {
                "ratelimit",
                "ratelimit-policy",
                "retry-after",
                "x-request-id",
                "location",
            } <= exposed
            # the 429 a browser must be able to read
            for _ in range(3):
                last = await api.get("/v1/jobs", headers={"Origin": origin})
            assert_problem(last, 429, "rate_limited")
            assert last.headers["access-control-allow-origin"] == origin
            other = await api.get("/v1/jobs", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers

    run_scenario(
        sqlite_url,
        tmp_path,
        nats_url,
        scenario,
        cors_origins=[origin],
        rate_limits=True,
        rate_limit_window_seconds=3600,
        rate_limit_plans={
            "anonymous": {"reads": 1, "submissions": 1, "streams": 1},
            "default": {"reads": 2, "submissions": 1, "streams": 1},
        },
    )


def test_no_cors_headers_without_origins(sqlite_url: str, tmp_path: Path, nats_url: str) -> None:
    async def scenario(gw: Harness) -> None:
        async with gw.client() as api:
            answer = await api.get("/v1/jobs", headers={"Origin": "https://app.example"})
            assert answer.status_code == 200
            assert not any(h.startswith("access-control-") for h in answer.headers)

    run_scenario(sqlite_url, tmp_path, nats_url, scenario)

"""The client's models mirror the gateway's JSON: the same fields, the same nullability, as the
gateway's own OpenAPI document states them (a field added to ``JobOut`` and not here fails
this test, and the other way round)."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from globalpic_client import (
    Adjustment,
    ErrorInfo,
    GlobalPicError,
    Job,
    JobImage,
    JobLinks,
    JobOptions,
    JobPage,
    JobSummary,
    Output,
    RerunOf,
    RuleResult,
)
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.main import create_app

MIRRORS: list[tuple[type[Any], str]] = [
    (Job, "JobOut"),
    (JobSummary, "JobSummary"),
    (JobImage, "ImageOut"),
    (Output, "OutputOut"),
    (JobOptions, "JobOptionsOut"),
    (Adjustment, "AdjustmentOut"),
    (JobLinks, "JobLinks"),
    (RerunOf, "RerunOf"),
    (JobPage, "JobPage"),
    (ErrorInfo, "ErrorInfo"),
    (RuleResult, "RuleResult"),
]


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = Path(tmp_path_factory.mktemp("openapi")) / "gw.db"
    app = create_app(GatewaySettings(database_url=f"sqlite:///{db}"))
    document: dict[str, Any] = app.openapi()
    return document


def _nullable(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return any(option.get("type") == "null" for option in options)


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


@pytest.mark.parametrize(("model", "schema_name"), MIRRORS, ids=[m[1] for m in MIRRORS])
def test_fields_match_the_gateway(
    openapi: dict[str, Any], model: type[Any], schema_name: str
) -> None:
    schema = openapi["components"]["schemas"][schema_name]
    properties: dict[str, Any] = schema["properties"]
    fields = {f.name for f in dataclasses.fields(model)}
    assert fields == set(properties), (
        f"{model.__name__} vs {schema_name}: missing {sorted(set(properties) - fields)}, "
        f"extra {sorted(fields - set(properties))}"
    )
    hints = typing.get_type_hints(model)
    for name, prop in properties.items():
        assert _optional(hints[name]) == _nullable(prop), f"{schema_name}.{name} nullability"


def test_every_response_schema_the_client_parses_is_mirrored(openapi: dict[str, Any]) -> None:
    """The job routes answer with the mirrored schemas (a new response model is noticed)."""
    mirrored = {name for _, name in MIRRORS}
    paths = openapi["paths"]
    for path, method in [
        ("/v1/jobs", "post"),
        ("/v1/jobs", "get"),
        ("/v1/jobs/{job_id}", "get"),
        ("/v1/jobs/{job_id}/images/{index}/adjust", "post"),
        ("/v1/jobs/{job_id}/images/{index}/clean", "post"),
        ("/v1/jobs/{job_id}/images/{index}/retry", "post"),
    ]:
        responses = paths[path][method]["responses"]
        ok = next(code for code in responses if code.startswith("2"))
        ref = responses[ok]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] in mirrored, (path, method, ref)


def test_problem_members_are_what_the_error_reads(openapi: dict[str, Any]) -> None:
    problem = openapi["components"]["schemas"]["Problem"]["properties"]
    error = GlobalPicError(404, "job_not_found", "no such job")
    for member in ("status", "code", "detail", "title", "instance"):
        assert member in problem and hasattr(error, member)


def test_the_events_the_client_stops_on(openapi: dict[str, Any]) -> None:
    events = openapi["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    schema = events["content"]["text/event-stream"]["schema"]
    assert set(schema["properties"]["event"]["enum"]) == {"progress", "completed"}
    assert set(schema["properties"]) >= {"id", "event", "data", "retry"}

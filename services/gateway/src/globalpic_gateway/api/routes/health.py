"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (database and NATS), ``/metrics``."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from globalpic_gateway.api.deps import StateDep
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import problem_response, problem_responses
from globalpic_gateway.core.state import AppState
from globalpic_gateway.schemas import Health

router = APIRouter(tags=["health"])

PROBE_TIMEOUT = 2.0


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


def _database_ok(state: AppState) -> bool:
    try:
        with state.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


async def _nats_ok(state: AppState) -> bool:
    if not state.nats_ready:
        return False
    try:
        await asyncio.wait_for(state.jetstream().account_info(), PROBE_TIMEOUT)
        return True
    except Exception:
        return False


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: the database and NATS JetStream are reachable",
    responses=problem_responses(503),
)
async def readyz(request: Request, state: StateDep) -> Response:
    database, nats_ok = await asyncio.gather(
        asyncio.to_thread(_database_ok, state), _nats_ok(state)
    )
    checks = {"database": "ok" if database else "down", "nats": "ok" if nats_ok else "down"}
    if database and nats_ok:
        return JSONResponse(Health(status="ok", checks=checks).model_dump())
    down = ", ".join(name for name, value in checks.items() if value != "ok")
    return problem_response(
        request, 503, problems.SERVICE_UNAVAILABLE, f"not ready: {down} unreachable", checks=checks
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""The FastAPI application (``create_app``) and its server (console script
``globalpic-gateway``)."""

from __future__ import annotations

import gc
import inspect
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from globalpic_clients.auth import AuthClient
from globalpic_clients.billing import BillingClient
from globalpic_common.grpc_client import GrpcClient
from globalpic_gateway.api.main import api_router
from globalpic_gateway.api.routes.web import install_web_app
from globalpic_gateway.core.auth import (
    ApiKeyAuthenticator,
    Authenticator,
    AuthServiceAuthenticator,
)
from globalpic_gateway.core.config import GatewaySettings, get_settings
from globalpic_gateway.core.http_limits import MetricsGuard, server_config
from globalpic_gateway.core.metrics import HTTP_REQUESTS, HTTP_SECONDS
from globalpic_gateway.core.problems import document_problems, install_problem_handlers
from globalpic_gateway.core.ratelimit import (
    RateLimiter,
    RateLimitMiddleware,
    classify,
    rate_limits_enabled,
)
from globalpic_gateway.core.request_id import (
    REQUEST_ID_HEADER,
    RequestIdMiddleware,
    install_log_field,
)
from globalpic_gateway.core.state import AppState
from globalpic_jobs.db import make_engine, migrate
from globalpic_jobs.queue import Subjects
from globalpic_storage import Storage

log = logging.getLogger("globalpic.gateway")

DESCRIPTION = """\
Localize Chinese marketplace product photos for Western marketplaces.

Submit photos with `POST /v1/jobs`, follow `GET /v1/jobs/{id}/events` (Server-Sent Events) or
poll `GET /v1/jobs/{id}`, then download `GET /v1/jobs/{id}/images/{n}/result` or
`GET /v1/jobs/{id}/results.zip`. Every route but the probes, sign-up / sign-in and Stripe's
webhook needs `Authorization: Bearer <credential>`: an API key (`gp_live_...`, integrators) or
an access token from `POST /v1/auth/token` (the web app). Errors are `application/problem+json`
(RFC 9457) with a stable `code`; `402 quota_exceeded` says how many images remain and what would
unlock more.
"""


class MetricsMiddleware:
    """Request count and latency per route template (not per raw path: ids would explode the
    label set). SSE streams are counted but not timed: their length is the job's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            if not route.endswith("/events"):
                HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    storage: Storage | None = None,
    authenticator: Authenticator | None = None,
    rate_limiter: RateLimiter | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """The composition root of the API. Tests pass their own settings and storage (and a
    rate limiter of their own: a key prefix, a fake clock).

    ``freeze_gc`` (the server process, not tests): once started, move every object there is
    into the GC's permanent generation (``gc.freeze``). Modules, routes, models, the engine: they
    live as long as the process, and a full collection no longer scans them — a pause that every
    request in flight waits out, every few seconds under polling load (about 100 ms unfrozen on
    the bench machine, a few ms frozen).
    """
    settings = settings or get_settings()
    if rate_limiter is None and rate_limits_enabled(settings):
        rate_limiter = RateLimiter.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_startup:
            migrate(settings.database_url)
        if storage is None:
            from globalpic_storage.access import describe_storage, storage_from_settings

            chosen: Storage = storage_from_settings(settings.storage_addr)
            log.info("storage: %s", describe_storage(settings.storage_addr))
        else:
            chosen = storage
        auth_client, billing_client = _account_clients(settings)
        settings_keys = ApiKeyAuthenticator(settings.api_keys)
        if authenticator is not None:
            chosen_authenticator: Authenticator = authenticator
        elif auth_client is not None:
            chosen_authenticator = AuthServiceAuthenticator(
                auth_client, settings_keys, ttl_seconds=settings.auth_cache_seconds
            )
        else:
            chosen_authenticator = settings_keys
        state = AppState(
            settings=settings,
            engine=make_engine(settings.database_url),
            storage=chosen,
            authenticator=chosen_authenticator,
            subjects=Subjects.from_settings(settings),
            auth_client=auth_client,
            billing_client=billing_client,
        )
        state.start_nats()
        app.state.globalpic = state
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await state.close()
            if rate_limiter is not None:
                await rate_limiter.close()
            if storage is None and isinstance(chosen, GrpcClient):
                chosen.close()  # the storage service's channel, which this app opened

    app = FastAPI(
        title="GlobalPic API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        **_telemetry_options(),
        openapi_tags=[
            {"name": "jobs", "description": "Submit photos and follow their processing"},
            {"name": "results", "description": "Download results"},
            {"name": "catalog", "description": "Styles and platforms a job can name"},
            {"name": "auth", "description": "Sign up, sign in, sessions and passwords"},
            {"name": "account", "description": "Who you are, your team and its API keys"},
            {"name": "billing", "description": "Plans, checkout, usage; Stripe's webhook"},
            {"name": "health", "description": "Probes and metrics"},
        ],
    )
    install_problem_handlers(app)
    app.include_router(api_router)
    if settings.web_dir is not None:
        install_web_app(app, settings.web_dir)  # last: its catch-all must not shadow the API
    # Middleware, innermost first: the limiter answers 429 before a route runs; metrics count
    # its refusals; CORS headers go on every answer (429s included) and answer preflights;
    # the request id stamps everything, CORS preflights and 500s included.
    if rate_limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=rate_limiter)
    app.add_middleware(MetricsGuard, settings=settings)  # /metrics on this port, or not
    app.add_middleware(MetricsMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,  # the refresh-token cookie
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)
    install_log_field()
    _document_events(app)
    return app


# What a browser script may read of a cross-origin response (beyond the CORS-safelisted ones).
CORS_EXPOSED_HEADERS = [
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    REQUEST_ID_HEADER,
    "Location",
    "Content-Disposition",
]


def _account_clients(
    settings: GatewaySettings,
) -> tuple[AuthClient | None, BillingClient | None]:
    auth = AuthClient(settings.auth_addr) if settings.auth_addr else None
    billing = BillingClient(settings.billing_addr) if settings.billing_addr else None
    if auth is not None and billing is None:
        log.warning("accounts without billing (GLOBALPIC_GATEWAY__BILLING_ADDR): not metered")
    return auth, billing


def _telemetry_options() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry (newer releases): one server span per request — the one
    that joins a client's trace to the work messages and the runner's spans — without its
    operation spans (dependency resolution, endpoint, serialization: three more spans on every
    poll, a good share of a status request's CPU)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"operation_spans": False}}


def _document_events(app: FastAPI) -> None:
    """Put the SSE payloads (``ImageProgress``, ``JobCompleted``) in the OpenAPI components and
    name them from the events route: FastAPI cannot infer a stream's item types."""
    from fastapi.openapi.utils import get_openapi

    from globalpic_jobs.events import ImageProgress, JobCompleted

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for model in (ImageProgress, JobCompleted):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas[model.__name__] = schema
        _document_rate_limits(spec)
        document_problems(spec)
        events = spec["paths"]["/v1/jobs/{job_id}/events"]["get"]
        events["x-sse-events"] = {
            "progress": {"$ref": "#/components/schemas/ImageProgress"},
            "completed": {"$ref": "#/components/schemas/JobCompleted"},
        }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _document_rate_limits(spec: dict[str, Any]) -> None:
    """Every operation the rate limiter counts may answer ``429 rate_limited``."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if classify(method.upper(), path):
                operation["responses"].setdefault(
                    "429", {"description": "Too Many Requests (`rate_limited`, `Retry-After`)"}
                )


def serve() -> None:
    """Console script ``globalpic-gateway``: uvicorn on ``GLOBALPIC_GATEWAY__HOST``/``PORT``
    with the server's limits (``core.http_limits``), ``/metrics`` on ``METRICS_PORT`` when
    set."""
    import uvicorn

    from globalpic_common.logs import setup_json_logging
    from globalpic_common.metrics import start_metrics_server
    from globalpic_common.tracing import setup_tracing

    settings = get_settings()
    setup_json_logging("gateway", settings.log_level)
    setup_tracing("globalpic-gateway")
    if settings.metrics_port is not None:
        start_metrics_server(settings.metrics_port, addr=settings.host)
        log.info("metrics on %s:%d", settings.host, settings.metrics_port)
    # uvloop when installed (a dependency): loop "auto"; httptools behind our limits.
    uvicorn.Server(server_config(create_app(settings, freeze_gc=True), settings)).run()


def migrate_main() -> None:
    """Console script ``globalpic-gateway-migrate``: the job store to head, from the gateway's
    ``GLOBALPIC_GATEWAY__DATABASE_URL``."""
    from sqlalchemy.engine import make_url

    from globalpic_jobs.db import normalize_url

    url = get_settings().database_url
    migrate(url)
    print(f"migrated {make_url(normalize_url(url)).render_as_string(hide_password=True)} to head")

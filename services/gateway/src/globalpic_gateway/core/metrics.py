"""Gateway metrics (prometheus_client's default registry, which also holds
``globalpic_stage_seconds`` from ``globalpic_common.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "globalpic_http_requests",
    "HTTP requests answered by the gateway, by route template and status",
    ("method", "route", "status"),
)
HTTP_SECONDS = Histogram(
    "globalpic_http_request_seconds",
    "Wall seconds to answer an HTTP request (SSE streams excluded)",
    ("method", "route"),
)
JOBS_SUBMITTED = Counter("globalpic_jobs_submitted", "Jobs accepted by POST /v1/jobs")
IMAGES_SUBMITTED = Counter(
    "globalpic_images_submitted",
    "Images accepted, by whether the result cache answered",
    ("cached",),
)

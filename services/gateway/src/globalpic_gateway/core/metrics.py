"""Gateway and runner metrics (prometheus_client's default registry, which also holds
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
RUNNER_IMAGES = Counter(
    "globalpic_runner_images",
    "Work messages handled by runners, by outcome "
    "(completed, failed, retried, dead_lettered, duplicate)",
    ("outcome",),
)
RUNNER_IMAGE_SECONDS = Histogram(
    "globalpic_runner_image_seconds",
    "Wall seconds a runner spent on one image (fetch original to result recorded)",
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)

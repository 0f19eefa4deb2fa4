"""Orchestrator metrics (prometheus_client's default registry, which also holds
``globalpic_stage_seconds`` from ``globalpic_common.metrics``). The names keep ``runner``: the
dashboards and the platform bench read them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RUNNER_IMAGES = Counter(
    "globalpic_runner_images",
    "Work messages handled by orchestrators, by outcome "
    "(completed, shared: a twin's result, failed, retried, dead_lettered, duplicate)",
    ("outcome",),
)
RUNNER_IMAGE_SECONDS = Histogram(
    "globalpic_runner_image_seconds",
    "Wall seconds an orchestrator spent on one image (fetch original to result recorded)",
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)

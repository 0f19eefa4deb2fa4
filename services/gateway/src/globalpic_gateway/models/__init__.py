"""SQLModel tables. Every row carries its tenant, and every query filters on it."""

from globalpic_gateway.models.cache import ResultCacheEntry
from globalpic_gateway.models.jobs import (
    IdempotencyKey,
    ImageState,
    Job,
    JobImage,
    JobStatus,
    utcnow,
)

__all__ = [
    "IdempotencyKey",
    "ImageState",
    "Job",
    "JobImage",
    "JobStatus",
    "ResultCacheEntry",
    "utcnow",
]

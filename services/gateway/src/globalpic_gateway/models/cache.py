"""The result cache: identical input + options for the same tenant reuse a stored result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from globalpic_gateway.models.jobs import utcnow


class ResultCacheEntry(SQLModel, table=True):
    __tablename__ = "result_cache"

    # The tenant is part of the key: a result is never served to another tenant, even for
    # byte-identical input.
    tenant_id: str = Field(primary_key=True, max_length=64)
    input_sha256: str = Field(primary_key=True, max_length=64)
    options_hash: str = Field(primary_key=True, max_length=64)
    outputs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    report: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, index=True)

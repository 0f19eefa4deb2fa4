"""SQLModel tables (prefix ``webhooks_``): endpoints and deliveries.

A delivery row is the whole state of one event on its way to one endpoint: what to send (the
body, byte for byte), how many attempts, when the next one is due. The delivery loop reads
nothing else, so a restart goes on where it stopped. ``(endpoint_id, message_id)`` is unique:
an event reaches an endpoint once, whatever the NATS redeliveries.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from globalpic_db.clock import utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (again, after a failed attempt)
    DELIVERED = "delivered"  # a 2xx answer: final
    FAILED = "failed"  # given up (24 h of failures, 410 Gone, endpoint disabled): final


class Endpoint(SQLModel, table=True):
    """One receiver of a team. The secret is kept as issued: the team reads it back to verify
    signatures (it is shown on every listing, to owners and admins only)."""

    __tablename__ = "webhooks_endpoint"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    secret: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    disabled: bool = False


class Delivery(SQLModel, table=True):
    """One event for one endpoint. ``message_id`` is the ``webhook-id`` header (the same on
    every attempt); ``payload`` is the body exactly as signed and sent."""

    __tablename__ = "webhooks_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "message_id", name="uq_webhooks_delivery_message"),
        sa.Index("ix_webhooks_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhooks_delivery_endpoint", "endpoint_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=64)
    endpoint_id: str = Field(foreign_key="webhooks_endpoint.id", ondelete="CASCADE", max_length=40)
    tenant_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


# This service's tables, for its migrations and its schema check (globalpic_db.own_tables).
TABLES: tuple[type[SQLModel], ...] = (Endpoint, Delivery)

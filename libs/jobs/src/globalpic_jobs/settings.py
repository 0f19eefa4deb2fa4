"""What the gateway and the orchestrator must agree on: one database, one NATS, the streams.

``JobQueueSettings`` declares those fields once; ``GatewaySettings`` and
``OrchestratorSettings`` inherit them under their own prefixes (``GLOBALPIC_GATEWAY__NATS_URL``,
``GLOBALPIC_ORCHESTRATOR__NATS_URL``), so each service is configured by its own variables as
every other setting is, and a deployment gives both the same values (one ConfigMap).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from globalpic_common.settings import ServiceSettings

DEFAULT_DATABASE_URL = "sqlite:///./globalpic-gateway.db"


class JobQueueSettings(ServiceSettings):
    database_url: str = DEFAULT_DATABASE_URL
    migrate_on_startup: bool = Field(
        True, description="Run `alembic upgrade head` when the service starts"
    )
    nats_url: str = "nats://127.0.0.1:4222"
    storage_addr: str | None = Field(
        None,
        description="The storage service (host:port) originals and results go through; "
        "unset: storage in process (GLOBALPIC_STORAGE__*)",
    )
    log_level: str = "INFO"

    # The results' format: the orchestrator encodes in it, the gateway keys its cache on it.
    output_format: Literal["png", "jpg", "webp"] = "png"
    result_cache_enabled: bool = True
    result_cache_ttl_seconds: int = Field(24 * 3600, ge=0)

    # JetStream
    work_stream: str = "GLOBALPIC_WORK"
    work_subject_prefix: str = "globalpic.work"
    events_stream: str = "GLOBALPIC_EVENTS"
    events_subject_prefix: str = "globalpic.jobs"
    events_max_age_seconds: int = Field(24 * 3600, ge=60)
    dead_stream: str = "GLOBALPIC_DEAD"
    dead_subject_prefix: str = "globalpic.dead"
    # The orchestrators' shared durable consumer of the work stream.
    runner_durable: str = "globalpic-runner"
    ack_wait_seconds: float = Field(60.0, gt=0)
    max_deliver: int = Field(5, ge=1)

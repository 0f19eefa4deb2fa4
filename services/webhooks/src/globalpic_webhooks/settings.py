"""``GLOBALPIC_WEBHOOKS__*``: the webhooks service's settings.

``ALLOW_LOOPBACK`` lets endpoints on this machine in (``http://127.0.0.1:...``, ``localhost``:
``make dev`` and the tests); it is refused outside development. Without it every endpoint is
``https://`` on a public address.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from globalpic_common.grpc_server import GrpcServerSettings
from globalpic_common.settings import current_environment, settings_config

# The Standard Webhooks spec's example schedule, cut at a day: after the first attempt, wait
# 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h between attempts (the last one lands on the 24 h
# mark), then give up.
DEFAULT_RETRY_SCHEDULE_S = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
DAY_S = 24 * 3600


class WebhooksSettings(GrpcServerSettings):
    model_config = settings_config("webhooks")

    port: int = Field(50063, ge=0, le=65535)
    metrics_port: int = 9463
    # Calls are short database transactions.
    max_workers: int = 8
    database_url: str = "sqlite:///./globalpic-webhooks.db"
    migrate_on_startup: bool = Field(
        True, description="Run `alembic upgrade head` when the service starts"
    )

    # The job events (the same values as the gateway's and the orchestrator's
    # GLOBALPIC_*__NATS_URL / EVENTS_STREAM / EVENTS_SUBJECT_PREFIX).
    nats_url: str = "nats://127.0.0.1:4222"
    events_stream: str = "GLOBALPIC_EVENTS"
    events_subject_prefix: str = "globalpic.jobs"
    durable: str = Field("globalpic-webhooks", description="The events consumer's durable name")
    consume_events: bool = Field(
        True, description="Turn job events into deliveries (off: only SendTest makes any)"
    )
    deliver: bool = Field(True, description="Run the delivery loop in this process")

    allow_loopback: bool = Field(
        False,
        description="Accept endpoints on loopback addresses (http or https): development and "
        "tests only; refused outside development",
    )
    max_endpoints_per_tenant: int = Field(20, ge=1)

    request_timeout_s: float = Field(10.0, gt=0, le=60)
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE_S),
        min_length=1,
        description="Seconds to wait after the 1st, 2nd, ... failed attempt; the last value "
        "repeats",
    )
    give_up_after_s: float = Field(
        DAY_S,
        gt=0,
        description="No attempt later than this after the first one: then the delivery fails",
    )
    retry_jitter: float = Field(
        0.1, ge=0, le=1, description="Each wait is stretched by up to this fraction, at random"
    )
    claim_lease_s: float = Field(
        60.0,
        gt=0,
        description="A claimed delivery is due again after this if its worker died mid-attempt "
        "(longer than request_timeout_s)",
    )
    batch_size: int = Field(32, ge=1, le=500, description="Deliveries claimed at once")
    concurrency: int = Field(16, ge=1, le=256, description="POSTs in flight at once")
    poll_interval_s: float = Field(
        1.0, gt=0, description="How often the loop looks for due deliveries when idle"
    )

    @model_validator(mode="after")
    def _checks(self) -> WebhooksSettings:
        env = current_environment()
        if self.allow_loopback and env != "development":
            raise ValueError(
                f"GLOBALPIC_WEBHOOKS__ALLOW_LOOPBACK is for development only (GLOBALPIC_ENV={env})"
            )
        if any(delay <= 0 for delay in self.retry_schedule_s):
            raise ValueError("GLOBALPIC_WEBHOOKS__RETRY_SCHEDULE_S: every wait must be > 0")
        if self.claim_lease_s <= self.request_timeout_s:
            raise ValueError(
                "GLOBALPIC_WEBHOOKS__CLAIM_LEASE_S must be longer than REQUEST_TIMEOUT_S"
            )
        return self

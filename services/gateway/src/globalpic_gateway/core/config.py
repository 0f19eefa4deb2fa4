"""Gateway and runner settings: ``GLOBALPIC_GATEWAY__<FIELD>`` environment variables.

Image limits are not repeated here: uploads use ``GLOBALPIC_INPUT__*`` (``InputLimitsSettings``)
so the API rejects exactly what the CLI rejects.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from globalpic_common.imageio import ImageLimits, InputLimitsSettings
from globalpic_common.settings import ServiceSettings, current_environment, settings_config
from globalpic_common.tenancy import TENANT_ID_PATTERN

API_KEY_PREFIX = "gp_"


class ApiKeyEntry(BaseModel):
    """One API key: only its SHA-256 is configured, never the key itself."""

    tenant_id: str = Field(pattern=f"^{TENANT_ID_PATTERN}$")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    plan: str = "default"


def hash_api_key(key: str) -> str:
    # API keys are 32 random bytes, so a fast hash is enough: there is nothing to brute-force
    # that a slow KDF would protect (the GitHub / Stripe token practice).
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class GatewaySettings(ServiceSettings):
    model_config = settings_config("gateway")

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///./globalpic-gateway.db"
    migrate_on_startup: bool = Field(
        True, description="Run `alembic upgrade head` when the gateway or runner starts"
    )
    nats_url: str = "nats://127.0.0.1:4222"
    storage_addr: str | None = Field(
        None,
        description="The storage service (host:port) the gateway and runner store through; "
        "unset: storage in process (GLOBALPIC_STORAGE__*)",
    )
    log_level: str = "INFO"
    runner_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="Serve the runner's /metrics on this port; unset: off"
    )

    api_keys: list[ApiKeyEntry] = Field(
        default_factory=list,
        description='JSON list: [{"tenant_id": "acme", "key_sha256": "<hex>", "plan": "default"}]',
    )
    batch_limits: dict[str, int] = Field(
        default_factory=lambda: {"default": 50, "enterprise": 500},
        description="Most images in one job, per plan; unknown plans get 'default'",
    )
    page_size: int = Field(20, ge=1, le=100)
    finished_image_cache_size: int = Field(
        2048,
        ge=0,
        description="Finished images whose rendered JSON GET /v1/jobs/{id} keeps (about 8 KB "
        "each); 0: off",
    )

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
    runner_durable: str = "globalpic-runner"
    ack_wait_seconds: float = Field(60.0, gt=0)
    max_deliver: int = Field(5, ge=1)
    heartbeat_seconds: float | None = Field(
        None, gt=0, description="How often a runner calls in_progress(); default ack_wait / 3"
    )
    runner_concurrency: int = Field(1, ge=1, description="Images one runner processes at once")
    # Batch work yields the CPU to the API: a runner (and what it runs in process) is background
    # work, the gateway answers people. Where they share cores (`make dev`, one VM, the bench)
    # a status poll must not queue behind image processing; on Kubernetes runners and model
    # services get their own nodes and this changes nothing. 0: the runner's priority as started.
    runner_nice: int = Field(
        10, ge=0, le=19, description="CPU niceness the runner sets for itself at start (0: off)"
    )
    output_format: Literal["png", "jpg", "webp"] = "png"
    # TEST HOOK, off (0) by default; refused in production. After recording an image, a runner
    # logs "test hook: pausing before ack ..." and sleeps this long before its events and ack,
    # so a fault injector (make bench-platform) can kill it inside that window on purpose.
    test_pause_before_ack_seconds: float = Field(
        0.0, ge=0, description="Test hook: pause between recording an image and its ack"
    )

    @model_validator(mode="after")
    def _production_needs_keys(self) -> GatewaySettings:
        if current_environment() != "development" and not self.api_keys:
            raise ValueError("GLOBALPIC_GATEWAY__API_KEYS is empty: no tenant could sign in")
        if current_environment() != "development" and self.test_pause_before_ack_seconds:
            raise ValueError("GLOBALPIC_GATEWAY__TEST_PAUSE_BEFORE_ACK_SECONDS is a test hook")
        if "default" not in self.batch_limits:
            raise ValueError("GLOBALPIC_GATEWAY__BATCH_LIMITS needs a 'default' plan")
        return self

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or max(0.5, self.ack_wait_seconds / 3)

    def batch_limit(self, plan: str) -> int:
        return self.batch_limits.get(plan, self.batch_limits["default"])

    def image_limits(self) -> ImageLimits:
        return InputLimitsSettings().limits()


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    return GatewaySettings()

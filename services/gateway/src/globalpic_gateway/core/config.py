"""Gateway and runner settings: ``GLOBALPIC_GATEWAY__<FIELD>`` environment variables.

Image limits are not repeated here: uploads use ``GLOBALPIC_INPUT__*`` (``InputLimitsSettings``)
so the API rejects exactly what the CLI rejects.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

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


FailpointPoint = Literal["after_store"]
FailpointAction = Literal["kill", "pause"]
FAILPOINT_POINTS: tuple[FailpointPoint, ...] = ("after_store",)
FAILPOINT_ACTIONS: tuple[FailpointAction, ...] = ("kill", "pause")


@dataclass(frozen=True)
class Failpoint:
    """A runner failpoint (``GLOBALPIC_GATEWAY__RUNNER_FAILPOINT``): for tests and the fault
    bench only, refused outside development.

    Syntax ``<point>:<action>[:<count>]``. The one point, ``after_store``, is in the runner
    right after an image's result is stored and its row committed, before its events and its
    ack: the window where a crash must lead to a redelivery that records nothing twice.

    * ``kill``: the runner process SIGKILLs itself there (no events, no ack, no clean-up);
    * ``pause``: the runner asks ``failpoint_subject()`` over NATS (a request carrying the job,
      image, attempt and pid) and waits there for the answer, so a test can act inside the
      window (crash the runner, look at the database) and then let it go on. Nobody
      listening: it goes on at once; nobody answering: after ``FAILPOINT_PAUSE_LIMIT_SECONDS``.
    * ``count``: fire on the first ``count`` hits of this runner only, then pass through
      (default: every hit).
    """

    point: FailpointPoint
    action: FailpointAction
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> Failpoint:
        parts = text.strip().split(":")
        syntax = "<point>:<kill|pause>[:<count>]"
        if len(parts) not in (2, 3):
            raise ValueError(f"failpoint {text!r}: expected {syntax}")
        point, action = parts[0], parts[1]
        if point not in FAILPOINT_POINTS:
            raise ValueError(f"failpoint {text!r}: unknown point {point!r} ({FAILPOINT_POINTS})")
        if action not in FAILPOINT_ACTIONS:
            raise ValueError(f"failpoint {text!r}: unknown action {action!r} ({syntax})")
        count = None
        if len(parts) == 3:
            if not parts[2].isdecimal() or int(parts[2]) < 1:
                raise ValueError(f"failpoint {text!r}: the count must be a positive integer")
            count = int(parts[2])
        return cls(point, action, count)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.point}:{self.action}" + ("" if self.count is None else f":{self.count}")


def failpoint_subject(runner_durable: str, point: str) -> str:
    """The NATS subject a ``pause`` failpoint asks on (outside every stream's subjects); the
    durable name tells apart deployments (and test harnesses) sharing one NATS."""
    return f"globalpic.failpoint.{runner_durable}.{point}"


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
    # TEST FAILPOINT, off by default; refused outside development (see ``Failpoint``).
    runner_failpoint: str | None = Field(
        None,
        description="Test failpoint `<point>:<kill|pause>[:<count>]`, e.g. `after_store:kill:1` "
        "(tests and make bench-platform only; refused in production)",
    )

    @field_validator("runner_failpoint", mode="before")
    @classmethod
    def _blank_failpoint_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _production_needs_keys(self) -> GatewaySettings:
        if self.runner_failpoint is not None:
            Failpoint.parse(self.runner_failpoint)  # a typo fails here, not at the first image
            if (env := current_environment()) != "development":
                raise ValueError(
                    f"GLOBALPIC_GATEWAY__RUNNER_FAILPOINT={self.runner_failpoint!r} is a test "
                    f"failpoint: refused outside development (GLOBALPIC_ENV={env}); unset it"
                )
        if current_environment() != "development" and not self.api_keys:
            raise ValueError("GLOBALPIC_GATEWAY__API_KEYS is empty: no tenant could sign in")
        if "default" not in self.batch_limits:
            raise ValueError("GLOBALPIC_GATEWAY__BATCH_LIMITS needs a 'default' plan")
        return self

    @property
    def failpoint(self) -> Failpoint | None:
        """``runner_failpoint`` parsed; None when unset."""
        return None if self.runner_failpoint is None else Failpoint.parse(self.runner_failpoint)

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

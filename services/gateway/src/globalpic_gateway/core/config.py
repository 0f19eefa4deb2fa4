"""Gateway settings: ``GLOBALPIC_GATEWAY__<FIELD>`` environment variables.

Image limits are not repeated here: uploads use ``GLOBALPIC_INPUT__*`` (``InputLimitsSettings``)
so the API rejects exactly what the CLI rejects.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from globalpic_common.imageio import ImageLimits, InputLimitsSettings
from globalpic_common.settings import (
    current_environment,
    refuse_placeholder_secret,
    settings_config,
)
from globalpic_common.tenancy import TENANT_ID_PATTERN
from globalpic_jobs.settings import JobQueueSettings
from globalpic_storage.protocol import MAX_PRESIGN_SECONDS

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


class GatewaySettings(JobQueueSettings):
    """The API's settings; the job queue's (database, NATS, streams, storage) are
    ``JobQueueSettings``, read under this prefix too."""

    model_config = settings_config("gateway")

    host: str = "127.0.0.1"
    port: int = 8000

    api_keys: list[ApiKeyEntry] = Field(
        default_factory=list,
        description='JSON list: [{"tenant_id": "acme", "key_sha256": "<hex>", "plan": "default"}]',
    )
    batch_limits: dict[str, int] = Field(
        default_factory=lambda: {"default": 50, "enterprise": 500},
        description="Most images in one job, per plan; unknown plans get 'default'",
    )
    auth_addr: str | None = Field(
        None,
        description="The auth service (host:port): sign-up, sessions, teams, API keys; unset: "
        "only the settings keys above (make dev without accounts, self-hosted)",
    )
    billing_addr: str | None = Field(
        None,
        description="The billing service (host:port): plans, quotas, Stripe; needed with "
        "auth_addr outside development (accounts without billing would be unlimited)",
    )
    # Webhooks (services/webhooks): a team's endpoints and the job events delivered to them.
    webhooks_addr: str | None = Field(
        None,
        description="The webhooks service (host:port); unset: /v1/webhooks answers 404 "
        "webhooks_disabled",
    )
    auth_cache_seconds: float = Field(
        10.0,
        ge=0,
        le=30,
        description="How long an answer of the auth service is reused: a revoked key or a "
        "logged-out token is refused within this time",
    )
    plan_cache_seconds: float = Field(
        5.0, ge=0, le=60, description="How long a team's plan limits are reused (not quotas)"
    )
    web_dir: Path | None = Field(
        None,
        description="The built web app (services/web/dist) served at / with a fallback to its "
        "index.html for client routes; unset: the API alone (its own container serves it)",
    )
    refresh_cookie_secure: bool = Field(
        True,
        description="The web app's refresh-token cookie is Secure (HTTPS only; browsers treat "
        "http://127.0.0.1 and localhost as secure too)",
    )
    refresh_cookie_max_age_seconds: int = Field(
        30 * 24 * 3600, ge=60, description="Keep it as long as the auth service's refresh TTL"
    )
    page_size: int = Field(20, ge=1, le=100)
    retention_days: int | None = Field(
        None,
        ge=1,
        description="globalpic-gateway-purge deletes jobs (rows, originals, results) finished "
        "more than this many days ago; None: kept until deleted",
    )
    finished_image_cache_size: int = Field(
        2048,
        ge=0,
        description="Finished images whose rendered JSON GET /v1/jobs/{id} keeps (about 8 KB "
        "each); 0: off",
    )
    signed_url_ttl_seconds: int = Field(
        900,
        ge=0,
        le=MAX_PRESIGN_SECONDS,
        description="Lifetime of the signed download URLs GET /v1/jobs/{id} shows in each "
        "output (signed_url); each is reused for half of it. 0: off (the fields are null); "
        "else at least 60",
    )

    # ---- The edge (issue 16): HTTP limits, rate limits, /metrics, CORS --------------------
    # Read by core.http_limits (the server), core.ratelimit and main.create_app; see README.
    max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest request head (request line + headers); more: 431 and the "
        "connection closed, read no further",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="A request head not complete this long after it began: dropped"
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="A request body that gets no byte for this long (while the app waits for "
        "it): the connection is dropped",
    )
    keep_alive_timeout_seconds: float = Field(
        5.0, gt=0, description="An idle keep-alive connection is closed after this long"
    )
    max_connections: int | None = Field(
        1024,
        ge=1,
        description="Connections (SSE streams included) one gateway process serves at once; "
        "past it: 503 service_unavailable. None: no limit",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for the rate limits shared by every replica (redis://host:6379/0); "
        "unset: counted in this process",
    )
    rate_limits: bool | None = Field(
        None, description="Rate limits per credential; None: on outside development"
    )
    rate_limit_plans: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {
            # by client IP: sign-up, sign-in and password resets are its writes
            "anonymous": {"reads": 10, "submissions": 1, "streams": 2, "writes": 2},
            "free": {"reads": 10, "submissions": 1, "streams": 2, "writes": 5},
            "payg": {"reads": 20, "submissions": 2, "streams": 10, "writes": 10},
            "personal": {"reads": 20, "submissions": 2, "streams": 10, "writes": 10},
            "enterprise": {"reads": 50, "submissions": 10, "streams": 50, "writes": 20},
            "default": {"reads": 20, "submissions": 2, "streams": 10, "writes": 10},
        },
        description="Per plan: reads, submissions and other writes per "
        "rate_limit_window_seconds (a token bucket: that many at once, refilled evenly; "
        "writes default to the plan's submissions), SSE streams open at once; unknown "
        "plans get 'default', requests without a valid credential 'anonymous'",
    )
    rate_limit_window_seconds: int = Field(1, ge=1, le=3600)
    metrics_port: int | None = Field(
        None, ge=0, description="Serve /metrics on this port of `host` (not the API's)"
    )
    metrics_public: bool | None = Field(
        None, description="The API's port answers /metrics too; None: only in development"
    )
    metrics_token: str | None = Field(
        None,
        repr=False,
        description="When set, the API's port answers /metrics to 'Authorization: Bearer "
        "<token>' (only)",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API from a browser (["https://app.example"]); '
        "empty: no CORS headers",
    )

    @model_validator(mode="after")
    def _edge_settings(self) -> GatewaySettings:
        for name in ("default", "anonymous"):
            if name not in self.rate_limit_plans:
                raise ValueError(f"GLOBALPIC_GATEWAY__RATE_LIMIT_PLANS needs a {name!r} plan")
        for plan, budgets in self.rate_limit_plans.items():
            given = set(budgets) - {"writes"}
            if given != {"reads", "submissions", "streams"} or min(budgets.values()) < 0:
                raise ValueError(
                    f"GLOBALPIC_GATEWAY__RATE_LIMIT_PLANS[{plan!r}]: give reads, submissions "
                    "and streams (and writes if you like), each >= 0"
                )
        if self.metrics_token is not None:
            refuse_placeholder_secret("GLOBALPIC_GATEWAY__METRICS_TOKEN", self.metrics_token)
        return self

    # ---- end of the edge settings ---------------------------------------------------------

    @field_validator("signed_url_ttl_seconds")
    @classmethod
    def _ttl_off_or_a_minute(cls, value: int) -> int:
        # A URL shown may have only half its TTL left (api.signed_urls, the reuse): give a
        # client at least 30 s to start its download.
        if 0 < value < 60:
            raise ValueError("0 (off) or at least 60 seconds")
        return value

    @model_validator(mode="after")
    def _production_needs_keys(self) -> GatewaySettings:
        production = current_environment() != "development"
        if production and not self.api_keys and self.auth_addr is None:
            raise ValueError(
                "GLOBALPIC_GATEWAY__API_KEYS is empty and GLOBALPIC_GATEWAY__AUTH_ADDR unset: "
                "no tenant could sign in"
            )
        if production and self.auth_addr is not None and self.billing_addr is None:
            raise ValueError(
                "GLOBALPIC_GATEWAY__AUTH_ADDR is set without GLOBALPIC_GATEWAY__BILLING_ADDR: "
                "sign-ups would get unlimited images"
            )
        if "default" not in self.batch_limits:
            raise ValueError("GLOBALPIC_GATEWAY__BATCH_LIMITS needs a 'default' plan")
        return self

    def batch_limit(self, plan: str) -> int:
        return self.batch_limits.get(plan, self.batch_limits["default"])

    def image_limits(self) -> ImageLimits:
        return InputLimitsSettings().limits()


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    return GatewaySettings()

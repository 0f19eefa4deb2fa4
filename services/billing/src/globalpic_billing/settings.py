"""``GLOBALPIC_BILLING__*``: the billing service's settings.

Plans and packs are data (JSON in ``GLOBALPIC_BILLING__PLANS`` / ``__PACKS``); the Stripe price
of each is ``GLOBALPIC_BILLING__STRIPE_PRICES`` (JSON, merged over the defaults, so one price can
be set alone). ``STRIPE_API_BASE`` points the Stripe library at the local stand-in
(``globalpic-stripe-fake``); unset, it talks to Stripe.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from globalpic_billing.plans import (
    DEFAULT_PACKS,
    DEFAULT_PLANS,
    ENTERPRISE,
    PERSONAL,
    Catalog,
    PackSpec,
    PlanSpec,
    catalog_of,
)
from globalpic_common.grpc_server import GrpcServerSettings
from globalpic_common.settings import current_environment, settings_config

DEFAULT_STRIPE_PRICES: dict[str, str] = {
    PERSONAL: "price_personal_monthly",
    ENTERPRISE: "price_enterprise_monthly",
    **{pack.id: f"price_{pack.id}" for pack in DEFAULT_PACKS},
}


class BillingSettings(GrpcServerSettings):
    model_config = settings_config("billing")

    port: int = Field(50062, ge=0, le=65535)
    metrics_port: int = 9462
    # Calls are short database transactions (and Stripe's HTTP answers): many at once.
    max_workers: int = 16
    database_url: str = "sqlite:///./globalpic-billing.db"
    migrate_on_startup: bool = Field(
        True, description="Run `alembic upgrade head` when the service starts"
    )

    # The job events billing settles from (the same values as the gateway's and the
    # orchestrator's GLOBALPIC_*__NATS_URL / EVENTS_STREAM / EVENTS_SUBJECT_PREFIX).
    nats_url: str = "nats://127.0.0.1:4222"
    events_stream: str = "GLOBALPIC_EVENTS"
    events_subject_prefix: str = "globalpic.jobs"
    durable: str = Field("globalpic-billing", description="The settle consumer's durable name")
    settle_consumer: bool = Field(
        True, description="Settle images from the events stream (off: nothing is ever charged)"
    )
    hold_max_age_seconds: int = Field(
        48 * 3600,
        ge=3600,
        description="An image held this long without its done event is given back (its job "
        "was never queued, or its events expired: the events stream keeps 24 h)",
    )

    plans: list[PlanSpec] = Field(default_factory=lambda: list(DEFAULT_PLANS))
    packs: list[PackSpec] = Field(default_factory=lambda: list(DEFAULT_PACKS))

    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(
        None, description="Stripe's API address; set it to the local fake (None: Stripe)"
    )
    stripe_prices: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_STRIPE_PRICES),
        description="Stripe price id per subscription plan and credit pack",
    )
    stripe_timeout_s: float = Field(20.0, gt=0)
    # Where Checkout and the Portal send the user back when the caller gives no URL.
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("stripe_prices", mode="before")
    @classmethod
    def _merge_prices(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {**DEFAULT_STRIPE_PRICES, **value}
        return value

    @model_validator(mode="after")
    def _stripe_secrets_outside_development(self) -> BillingSettings:
        env = current_environment()
        if env == "development":
            return self
        for name in ("stripe_api_key", "stripe_webhook_secret"):
            secret: SecretStr | None = getattr(self, name)
            if secret is None or not secret.get_secret_value().strip():
                raise ValueError(
                    f"GLOBALPIC_BILLING__{name.upper()} must be set (GLOBALPIC_ENV={env})"
                )
        return self

    def catalog(self) -> Catalog:
        return catalog_of(self.plans, self.packs, self.stripe_prices)

    def default_success_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"

    def default_cancel_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/billing/cancelled"

    def default_return_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/billing"

"""Auth service settings (``GLOBALPIC_AUTH__<FIELD>``).

Fails fast outside development (``GLOBALPIC_ENV``): no JWT secret, a placeholder or a short one,
or email verification without an SMTP server to send the mails, and the server does not start.
Development runs with nothing set: a random JWT secret per process (tokens die with it) and
mails written to the log.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from pydantic import Field, SecretStr, model_validator

from globalpic_common.grpc_server import GrpcServerSettings
from globalpic_common.settings import (
    current_environment,
    refuse_placeholder_secret,
    settings_config,
)

log = logging.getLogger(__name__)

# HS256 is as strong as its key: RFC 7518 asks for at least 256 bits.
MIN_JWT_SECRET_CHARS = 32
DAY_S = 24 * 3600


class AuthSettings(GrpcServerSettings):
    """Database, tokens, lockout and mail, plus the gRPC server's (host, port, metrics_port,
    max_workers, grace_s, log_level from ``GrpcServerSettings``)."""

    model_config = settings_config("auth")

    port: int = 50061
    metrics_port: int = 9461
    # Calls are database round trips and one argon2 hash (~64 MiB, tens of ms) at most.
    max_workers: int = 8

    database_url: str = "sqlite:///./globalpic-auth.db"
    migrate_on_startup: bool = True

    # None only in development, where the validator replaces it by a random one.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "globalpic"
    access_token_ttl_seconds: int = Field(900, gt=0)
    refresh_token_ttl_seconds: int = Field(30 * DAY_S, gt=0)

    # Unset: required everywhere but development (filled in by the validator).
    require_email_verification: bool = True

    # No host: mails are logged instead (the link too in development only).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str = "GlobalPic <no-reply@globalpic.local>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    # Base of the links in mails: {public_url}/verify-email?token=...,
    # /reset-password?token=..., /invitations/{token}.
    public_url: str = "http://127.0.0.1:8000"

    login_max_failures: int = Field(5, gt=0)
    login_lock_seconds: int = Field(900, gt=0)
    ip_max_failures: int = Field(20, gt=0)
    ip_window_seconds: int = Field(900, gt=0)
    password_min_length: int = Field(10, ge=8)

    invitation_ttl_seconds: int = Field(7 * DAY_S, gt=0)
    reset_ttl_seconds: int = Field(3600, gt=0)
    verify_ttl_seconds: int = Field(3 * DAY_S, gt=0)
    # An API key's last_used_at is written at most this often: Authenticate runs on every
    # request, and a write per request would be the service's whole load.
    api_key_last_used_resolution_seconds: int = Field(60, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        # The settings are frozen, so the defaults that depend on GLOBALPIC_ENV go in before
        # validation rather than being patched in afterwards.
        if not isinstance(data, dict):
            return data
        development = current_environment() == "development"
        if data.get("require_email_verification") is None:
            data["require_email_verification"] = not development
        if data.get("jwt_secret") in (None, "") and development:
            log.warning(
                "GLOBALPIC_AUTH__JWT_SECRET is not set: a random one for this process; "
                "access tokens will not survive a restart (development only)"
            )
            data["jwt_secret"] = secrets.token_urlsafe(48)
        return data

    @model_validator(mode="after")
    def _production_rules(self) -> AuthSettings:
        env = current_environment()
        if env == "development":
            return self
        if self.jwt_secret is None:
            raise ValueError(f"GLOBALPIC_AUTH__JWT_SECRET is required (GLOBALPIC_ENV={env})")
        secret = self.jwt_secret.get_secret_value()
        refuse_placeholder_secret("GLOBALPIC_AUTH__JWT_SECRET", secret, env)
        if len(secret) < MIN_JWT_SECRET_CHARS:
            raise ValueError(
                f"GLOBALPIC_AUTH__JWT_SECRET must be at least {MIN_JWT_SECRET_CHARS} characters"
            )
        if self.require_email_verification and not self.smtp_host:
            raise ValueError(
                "GLOBALPIC_AUTH__SMTP_HOST is required while email verification is on "
                f"(GLOBALPIC_ENV={env}): nobody could verify an account"
            )
        return self

    def jwt_key(self) -> str:
        if self.jwt_secret is None:  # the validators make this unreachable
            raise ValueError("GLOBALPIC_AUTH__JWT_SECRET is not set")
        return self.jwt_secret.get_secret_value()

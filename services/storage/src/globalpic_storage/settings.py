"""Storage service settings (``GLOBALPIC_STORAGE__<FIELD>``).

Fails fast: the S3 backend without its endpoint, bucket or credentials does not construct,
and outside development (``GLOBALPIC_ENV``) a placeholder signing key or S3 secret is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from globalpic_common.grpc_server import GrpcServerSettings
from globalpic_common.settings import (
    current_environment,
    refuse_placeholder_secret,
    settings_config,
)
from globalpic_storage.signing import DEFAULT_BASE_URL

# Obvious on purpose: development runs with it, production refuses it.
PLACEHOLDER_SIGNING_KEY = "changeme"
# HMAC-SHA256 gains nothing from longer keys, and a shorter one is guessable.
MIN_PRODUCTION_SIGNING_KEY_CHARS = 32


def default_root() -> Path:
    return Path.home() / ".local" / "share" / "globalpic" / "storage"


class StorageSettings(GrpcServerSettings):
    """Backend choice and its settings, plus the gRPC server's (host, port, metrics_port,
    max_workers, grace_s, log_level from ``GrpcServerSettings``)."""

    model_config = settings_config("storage")

    backend: Literal["local", "s3"] = "local"
    # Local disk: every object lives under this directory.
    root: Path = Field(default_factory=default_root)

    # S3 / MinIO / SeaweedFS: endpoint is "host[:port]" without a scheme (``s3_secure`` picks
    # https or http), as the minio SDK takes it.
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    # Object names in the bucket are "<s3_prefix>/<key>", so one bucket can hold several
    # deployments. Empty: keys at the bucket root.
    s3_prefix: str = "globalpic"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = True
    # None lets the SDK ask the server (one extra request on first use).
    s3_region: str | None = None
    # Create the bucket at start-up if it is missing (development); production buckets are
    # provisioned with their policies by infrastructure, so off by default.
    s3_create_bucket: bool = False
    # Connect and read timeout of one S3 request.
    s3_timeout_seconds: float = Field(30.0, gt=0)
    # The endpoint browsers reach for presigned URLs when it differs from ``s3_endpoint``
    # (e.g. "minio:9000" inside the cluster, "files.example.com" outside). SigV4 signs the
    # host, so the URL must be signed for the host it will be fetched from.
    s3_public_endpoint: str | None = None
    s3_public_secure: bool = True

    # Signs local-disk download URLs (S3 URLs are signed with the S3 secret).
    signing_key: SecretStr = SecretStr(PLACEHOLDER_SIGNING_KEY)
    # Where the gateway serves local signed URLs; absolute ("https://api.example.com/v1/files")
    # or a path.
    signed_url_base: str = DEFAULT_BASE_URL
    default_url_expiry_seconds: int = Field(15 * 60, ge=1, le=7 * 24 * 3600)

    max_object_bytes: int = Field(64 * 1024 * 1024, ge=1)
    port: int = Field(50057, ge=0, le=65535)
    # Calls served at once: each waits on disk or network I/O, not the CPU, and holds at most
    # one chunk in memory (uploads spool to disk), so many threads are cheap.
    max_workers: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _complete_for_backend(self) -> StorageSettings:
        env = current_environment()
        prefix = "GLOBALPIC_STORAGE__"
        signing_key = self.signing_key.get_secret_value()
        refuse_placeholder_secret(f"{prefix}SIGNING_KEY", signing_key, env)
        if env != "development" and len(signing_key) < MIN_PRODUCTION_SIGNING_KEY_CHARS:
            raise ValueError(
                f"{prefix}SIGNING_KEY must be at least {MIN_PRODUCTION_SIGNING_KEY_CHARS} "
                "characters outside development"
            )
        if self.backend != "s3":
            return self
        missing = [
            f"{prefix}{name.upper()}"
            for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"backend 's3' needs {', '.join(missing)}")
        assert self.s3_endpoint is not None and self.s3_secret_key is not None  # checked above
        for name, endpoint in (
            ("S3_ENDPOINT", self.s3_endpoint),
            ("S3_PUBLIC_ENDPOINT", self.s3_public_endpoint or ""),
        ):
            if "/" in endpoint:
                raise ValueError(
                    f"{prefix}{name} is host[:port] without scheme or path (got {endpoint!r}); "
                    f"{prefix}S3_SECURE / S3_PUBLIC_SECURE pick https"
                )
        refuse_placeholder_secret(
            f"{prefix}S3_SECRET_KEY", self.s3_secret_key.get_secret_value(), env
        )
        if self.s3_prefix.startswith("/") or self.s3_prefix.endswith("/"):
            raise ValueError(f"{prefix}S3_PREFIX takes no leading or trailing '/'")
        return self

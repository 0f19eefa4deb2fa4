"""Settings conventions: ``GLOBALPIC_<SERVICE>__<FIELD>`` environment variables.

Each service subclasses ``ServiceSettings`` with ``model_config = settings_config("ocr")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


def settings_config(service: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=f"GLOBALPIC_{service.upper()}__",
        env_file=None,
        extra="ignore",
        frozen=True,
    )


def default_model_dir() -> Path:
    """Where downloaded / extracted model files live unless a service is told otherwise."""
    cache = Path.home() / ".cache"
    return cache / "globalpic" / "models"


class ServiceSettings(BaseSettings):
    model_config = settings_config("common")


# ``GLOBALPIC_ENV``: one switch for the whole deployment. Development (the default, so a fresh
# checkout, the CLI and the tests run without secrets) tolerates placeholder secrets;
# production refuses to start with one (the fastapi full-stack template's rule).
Environment = Literal["development", "production"]

# Values that show a secret was never set. Compared case-insensitively.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "change-this", "secret", "password", "dev"}
)


class _DeploymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GLOBALPIC_", env_file=None, extra="ignore")

    env: Environment = "development"


def current_environment() -> Environment:
    """The deployment's environment from ``GLOBALPIC_ENV`` (read on every call, not cached)."""
    return _DeploymentSettings().env


def is_placeholder_secret(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDER_SECRETS


def refuse_placeholder_secret(setting: str, value: str, env: Environment | None = None) -> None:
    """Raise ``ValueError`` (a settings validation error) when a placeholder secret is used
    outside development. Call it from a settings validator; ``setting`` names the variable."""
    env = env or current_environment()
    if env != "development" and is_placeholder_secret(value):
        raise ValueError(f"{setting} is a placeholder secret; set a real one (GLOBALPIC_ENV={env})")

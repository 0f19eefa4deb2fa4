"""Settings conventions: ``GLOBALPIC_<SERVICE>__<FIELD>`` environment variables.

Each service subclasses ``ServiceSettings`` with ``model_config = settings_config("ocr")``.
"""

from __future__ import annotations

from pathlib import Path

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

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from globalpic_storage.settings import StorageSettings

REAL_KEY = "r" * 40


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only what each test sets: a developer's exported variables must not change the outcome.
    import os

    for name in list(os.environ):
        if name.startswith("GLOBALPIC_STORAGE__") or name == "GLOBALPIC_ENV":
            monkeypatch.delenv(name)


def test_defaults_are_local_disk_in_development() -> None:
    settings = StorageSettings()
    assert settings.backend == "local"
    assert settings.max_object_bytes == 64 * 1024 * 1024


def test_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GLOBALPIC_STORAGE__ROOT", str(tmp_path))
    monkeypatch.setenv("GLOBALPIC_STORAGE__MAX_OBJECT_BYTES", "1000")
    monkeypatch.setenv("GLOBALPIC_STORAGE__PORT", "6000")
    settings = StorageSettings()
    assert (settings.root, settings.max_object_bytes, settings.port) == (tmp_path, 1000, 6000)


def test_s3_without_its_settings_fails_fast_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_STORAGE__BACKEND", "s3")
    monkeypatch.setenv("GLOBALPIC_STORAGE__S3_ENDPOINT", "minio:9000")
    with pytest.raises(ValidationError) as excinfo:
        StorageSettings()
    message = str(excinfo.value)
    for name in ("S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert f"GLOBALPIC_STORAGE__{name}" in message
    assert "S3_ENDPOINT" not in message


def _s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: str = "minio:9000") -> None:
    for name, value in {
        "BACKEND": "s3",
        "S3_ENDPOINT": endpoint,
        "S3_BUCKET": "globalpic",
        "S3_ACCESS_KEY": "access",
        "S3_SECRET_KEY": "a-real-secret-value",
    }.items():
        monkeypatch.setenv(f"GLOBALPIC_STORAGE__{name}", value)


def test_complete_s3_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _s3_env(monkeypatch)
    settings = StorageSettings()
    assert settings.s3_secret_key is not None
    assert settings.s3_secret_key.get_secret_value() == "a-real-secret-value"
    assert "a-real-secret-value" not in repr(settings)  # secrets never end up in logs


@pytest.mark.parametrize("endpoint", ["http://minio:9000", "minio:9000/bucket"])
def test_s3_endpoint_is_host_and_port_only(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    _s3_env(monkeypatch, endpoint)
    with pytest.raises(ValidationError, match="host\\[:port\\]"):
        StorageSettings()


def test_production_refuses_the_placeholder_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    with pytest.raises(ValidationError, match="SIGNING_KEY is a placeholder"):
        StorageSettings()
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNING_KEY", "short-but-not-placeholder")
    with pytest.raises(ValidationError, match="at least 32"):
        StorageSettings()
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNING_KEY", REAL_KEY)
    assert StorageSettings().signing_key.get_secret_value() == REAL_KEY


def test_production_refuses_a_placeholder_s3_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    monkeypatch.setenv("GLOBALPIC_STORAGE__SIGNING_KEY", REAL_KEY)
    _s3_env(monkeypatch)
    monkeypatch.setenv("GLOBALPIC_STORAGE__S3_SECRET_KEY", "changeme")
    with pytest.raises(ValidationError, match="S3_SECRET_KEY is a placeholder"):
        StorageSettings()
    monkeypatch.setenv("GLOBALPIC_ENV", "development")
    monkeypatch.delenv("GLOBALPIC_STORAGE__SIGNING_KEY")
    assert StorageSettings().backend == "s3"  # development tolerates placeholders


def test_unknown_environment_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "staging-ish")
    with pytest.raises(ValidationError):
        StorageSettings()

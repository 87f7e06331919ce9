"""Test harness: one schema built by Alembic per run, each test inside a rolled-back transaction.

The suite runs on SQLite by default and on PostgreSQL when INBOUND_TEST_DATABASE_URL points at
a (disposable) PostgreSQL database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import db as app_db
from app import migrations
from app.api.deps import get_session_factory
from app.api.routes.positions import get_position_writer
from app.db import build_engine, get_session, normalise_url
from app.main import create_app
from app.services.ingest_writer import SessionWriter
from app.settings import Settings, get_settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _test_database_url() -> str:
    url = os.environ.get("INBOUND_TEST_DATABASE_URL")
    if url:
        return normalise_url(url)
    path = Path(tempfile.gettempdir()) / f"inbound-test-{os.getpid()}.db"
    return f"sqlite:///{path}"


def _reset(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    if "test" not in (parsed.database or ""):
        raise RuntimeError("refusing to wipe a PostgreSQL database whose name lacks 'test'")
    engine = build_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> str:
    return _test_database_url()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    _reset(database_url)
    migrations.upgrade(url=database_url)
    engine = build_engine(database_url, pool_size=5)
    app_db.set_engine(engine)
    yield engine
    app_db.set_engine(None)
    engine.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment="test",
        secret_key=TEST_SECRET,
        scheduler_enabled=False,
        live_enabled=False,
    )


@pytest.fixture()
def app(session: Session, settings: Settings) -> FastAPI:
    application = create_app(settings)

    def _session() -> Iterator[Session]:
        # As in production, a failed request leaves nothing half-done behind it.
        try:
            yield session
        except Exception:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _session
    application.dependency_overrides[get_position_writer] = lambda: SessionWriter(session)
    application.dependency_overrides[get_session_factory] = lambda: lambda: nullcontext(session)
    application.dependency_overrides[get_settings] = lambda: settings
    return application


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def world(session: Session, settings: Settings):  # noqa: ANN201
    """Two suppliers, two sites and a user of every role; see tests/factories.py."""
    from tests.factories import make_world

    return make_world(session, secret_key=settings.secret_key)

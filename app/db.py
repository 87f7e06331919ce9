"""Database engine and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine
from starlette.requests import Request

from app.settings import Settings, get_settings

_engine: Engine | None = None


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite opens transactions lazily and never for DDL; taking over BEGIN makes
    # savepoints, rollbacks and the test suite's per-test transactions behave as on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run while the ingest writer commits; NORMAL sync is durable in WAL
        # mode against process crashes (a power loss may drop the last commits).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers that read first (the background jobs) begin IMMEDIATE: a deferred
        # transaction that reads and then writes while another connection committed cannot
        # wait for the lock in WAL mode and fails at once with "database is locked".
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(SQLITE_BEGIN, '')}")


SQLITE_BEGIN = "sqlite_begin"


def writer_engine(engine: Engine) -> Engine:
    """The engine for short read-then-write jobs: on SQLite their transactions take the write
    lock when they begin (waiting for it up to the busy timeout); elsewhere unchanged."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def get_engine(settings: Settings | None = None) -> Engine:
    global _engine
    if _engine is None:
        settings = settings or get_settings()
        _engine = build_engine(settings.database_url, pool_size=settings.db_pool_size)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process-wide engine (tests, CLI with an explicit URL)."""
    global _engine
    _engine = engine


_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """A session per request. On SQLite a request that may write (any method but GET, HEAD,
    OPTIONS) takes the write lock when it begins: a deferred transaction that reads, then
    writes after a background job committed, fails at once with "database is locked"."""
    engine = get_engine()
    if request.method not in _READ_ONLY_METHODS:
        engine = writer_engine(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session

"""Builds the FastAPI application; nothing heavy happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.routes import (
    alerts,
    api_keys,
    auth,
    board,
    deliveries,
    eta,
    forecast,
    health,
    lifecycle,
    live,
    osmand,
    positions,
    sites,
    suppliers,
    users,
    vehicles,
    webhooks,
)
from app.db import get_engine
from app.errors import install_error_handlers
from app.live import PgListener
from app.middleware import BodySizeLimit, Metrics, RejectNul
from app.scheduler import SchedulerRunner
from app.services.cache import IngestCache
from app.services.ingest_writer import GroupCommitWriter
from app.services.retention import ensure_partitions
from app.settings import Settings, get_settings
from app.web import pages
from app.web.pages import WEB_DIR
from models import utcnow

DESCRIPTION = """
Inbound shows every supplier truck heading to a warehouse, distribution centre or darkstore:
where it is, when it will arrive and whether it will make its unloading slot.

Authenticate with a supplier API key (`X-API-Key` or `Authorization: Bearer inb_…`), with a
bearer token from `POST /api/v1/auth/token`, or with the dashboard's session cookie.
Errors always look like `{"error": {"code": "...", "message": "...", "details": ...}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with get_engine(settings).begin() as conn:
            ensure_partitions(conn, now=utcnow(), retention_days=settings.retention_days)
        writer = GroupCommitWriter(
            get_engine(settings), max_group_rows=settings.ingest_max_group_rows
        )
        writer.start()
        _app.state.position_writer = writer
        listener = None
        if settings.live_enabled and not settings.is_sqlite:
            listener = PgListener(settings.database_url)
            listener.start()
        runner = None
        if settings.scheduler_enabled:
            runner = SchedulerRunner(get_engine(settings), settings)
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            if listener is not None:
                listener.stop()
            # Drains the queue: every request already waiting gets its commit.
            writer.stop()

    app = FastAPI(
        title="Inbound",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.state.ingest_cache = IngestCache()
    for module in (
        health,
        lifecycle,
        auth,
        sites,
        suppliers,
        vehicles,
        deliveries,
        users,
        api_keys,
        positions,
        osmand,
        forecast,
        eta,
        alerts,
        webhooks,
        live,
        board,
        pages,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RejectNul)
    app.add_middleware(Metrics)
    return app

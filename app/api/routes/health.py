"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import SessionDep
from app.migrations import current_and_head

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(session: SessionDep) -> Any:
    """`ok` when the database answers and its schema is at the newest migration."""
    checks: dict[str, Any] = {}
    healthy = True
    try:
        connection = session.connection()
        current, head = current_and_head(connection)
        checks["database"] = "ok"
        checks["migrations"] = {"current": current, "head": head, "ok": current == head}
        healthy = current == head
    except Exception as exc:  # any database failure is reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
        healthy = False
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

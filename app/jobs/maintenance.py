"""Job: keep position partitions ahead of time and prune positions past retention."""

from __future__ import annotations

from sqlalchemy import Engine

from app.services.retention import ensure_partitions, prune_positions
from app.settings import Settings
from models import utcnow


def run_once(engine: Engine, settings: Settings) -> dict[str, int]:
    now = utcnow()
    with engine.begin() as conn:
        created = ensure_partitions(conn, now=now, retention_days=settings.retention_days)
        pruned = prune_positions(conn, now=now, retention_days=settings.retention_days)
    return {"partitions_created": len(created), "positions_pruned": pruned}

"""Job: advance deliveries from new GPS (en route, arrived, left)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.lifecycle import refresh_from_gps
from models import utcnow


def run_once(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        return refresh_from_gps(session, now=utcnow())

"""Job: keep every inbound delivery's ETA fresh (and logged for accuracy checks)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.eta_serving import refresh_all
from models import utcnow


def run_once(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as session:
        return refresh_all(session, now=utcnow())

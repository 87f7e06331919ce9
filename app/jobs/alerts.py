"""Job: open, update and resolve delivery alerts."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.alerts import evaluate
from models import utcnow


def run_once(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        return evaluate(session, now=utcnow())

"""Job: open, update and resolve delivery alerts."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.alerts import evaluate, evaluate_site_queues
from models import utcnow


def run_once(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        return evaluate(session, now=utcnow())


def run_site_queues(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        return evaluate_site_queues(session, now=utcnow())

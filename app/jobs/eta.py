"""Job: keep every inbound delivery's ETA fresh (and logged for accuracy checks)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.services.eta_serving import refresh_all
from app.services.eta_training import train_and_maybe_activate
from models import utcnow


def run_once(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as session:
        return refresh_all(session, now=utcnow())


def retrain(engine: Engine) -> str:
    """Daily: train on the last four weeks; the new model goes live only if it is better."""
    with Session(engine, expire_on_commit=False) as session:
        row = train_and_maybe_activate(session, now=utcnow())
    if row is None:
        return "not enough completed trips to train"
    return f"trained {row.version}: {'active' if row.is_active else 'kept the active model'}"

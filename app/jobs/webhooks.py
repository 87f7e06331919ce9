"""Job: deliver due webhook events from the outbox."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from app.services.webhooks import deliver_due
from models import utcnow


def run_once(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session, httpx.Client() as client:
        return deliver_due(session, now=utcnow(), client=client)

"""Job: advance deliveries from new GPS (en route, arrived, left)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.services.lifecycle import refresh_from_gps
from models import utcnow

log = logging.getLogger(__name__)


def run_once(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as session:
        return refresh_from_gps(session, now=utcnow())


async def run_forever(engine: Engine, *, interval_s: float) -> None:
    """In-process loop until the scheduler takes this over; each pass is idempotent."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            counts = await run_in_threadpool(run_once, engine)
            if counts:
                log.info("lifecycle from GPS: %s", counts)
        except Exception:  # the loop must survive a bad pass; the next one retries
            log.exception("lifecycle refresh failed")

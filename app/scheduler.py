"""The background scheduler: APScheduler jobs, run by exactly one process at a time.

Every process that starts a scheduler competes for one lock: a PostgreSQL advisory lock held
on a dedicated connection, or on SQLite (one machine by nature) an exclusive file lock next
to the database file. Both are released by the operating system or the database when the
holder dies, so another process takes over at its next attempt (every few seconds).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from app.db import writer_engine
from app.jobs import alerts as alerts_job
from app.jobs import eta as eta_job
from app.jobs import lifecycle as lifecycle_job
from app.jobs import maintenance as maintenance_job
from app.jobs import webhooks as webhooks_job
from app.settings import Settings

log = logging.getLogger("inbound.scheduler")

# Arbitrary but fixed: the advisory lock key every Inbound process agrees on.
ADVISORY_KEY = 0x1B0D_5C4E
LEADER_CHECK_S = 5.0


class LeaderLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def try_acquire(self) -> bool:
        if self.held:
            return self._still_held()
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
            conn.commit()
            if got:
                self._conn = conn
                return True
            conn.close()
            return False
        path = Path(f"{make_url(str(self.engine.url)).database}.scheduler.lock")
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def _still_held(self) -> bool:
        if self._conn is None:
            return True
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection died: so did the lock
            log.warning("lost the scheduler lock's connection")
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
                self._conn.close()
            finally:
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class SchedulerRunner:
    """APScheduler with every job gated on holding the leader lock."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        # Jobs are short read-then-write passes; retraining reads for minutes and keeps the
        # plain engine so that it never holds the SQLite write lock while it thinks.
        self.engine = writer_engine(engine)
        self.plain_engine = engine
        self.settings = settings
        self.lock = LeaderLock(engine)
        self.scheduler = BackgroundScheduler(
            timezone="UTC",
            # A job that overruns its interval is skipped, never run twice at once.
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30},
        )
        self.is_leader = False

    def _elect(self) -> None:
        was = self.is_leader
        self.is_leader = self.lock.try_acquire()
        if self.is_leader and not was:
            log.info("scheduler active in process %s", os.getpid())

    def _gated(self, name: str, func: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if not self.is_leader:
                return
            try:
                result = func()
                log.info("job %s ran in process %s: %s", name, os.getpid(), result)
            except Exception:
                log.exception("job %s failed", name)

        return run

    def start(self) -> None:
        s = self.settings
        self.scheduler.add_job(
            self._elect, "interval", seconds=LEADER_CHECK_S, id="elect", next_run_time=_now()
        )
        if s.lifecycle_refresh_s > 0:
            self.scheduler.add_job(
                self._gated("lifecycle", lambda: lifecycle_job.run_once(self.engine)),
                "interval",
                seconds=s.lifecycle_refresh_s,
                id="lifecycle",
            )
        if s.eta_refresh_s > 0:
            self.scheduler.add_job(
                self._gated("eta", lambda: eta_job.run_once(self.engine)),
                "interval",
                seconds=s.eta_refresh_s,
                id="eta",
            )
            self.scheduler.add_job(
                self._gated("alerts", lambda: alerts_job.run_once(self.engine)),
                "interval",
                seconds=s.eta_refresh_s,
                id="alerts",
            )
        if s.eta_retrain_hour_utc >= 0:
            self.scheduler.add_job(
                self._gated("eta_retrain", lambda: eta_job.retrain(self.plain_engine)),
                "cron",
                hour=s.eta_retrain_hour_utc,
                minute=17,
                id="eta_retrain",
            )
        if s.forecast_refresh_s > 0:
            self.scheduler.add_job(
                self._gated("site_queues", lambda: alerts_job.run_site_queues(self.engine)),
                "interval",
                seconds=s.forecast_refresh_s,
                id="site_queues",
            )
        if s.webhook_interval_s > 0:
            self.scheduler.add_job(
                self._gated("webhooks", lambda: webhooks_job.run_once(self.engine)),
                "interval",
                seconds=s.webhook_interval_s,
                id="webhooks",
            )
        self.scheduler.add_job(
            self._gated("maintenance", lambda: maintenance_job.run_once(self.engine, s)),
            "interval",
            hours=6,
            id="maintenance",
            next_run_time=_now() + timedelta(seconds=10),
        )
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lock.release()
        self.is_leader = False


def _now() -> Any:
    from models import utcnow

    return utcnow()

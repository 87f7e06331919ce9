"""Exactly one scheduler runs the jobs, and another takes over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.jobs import maintenance
from app.settings import Settings


def _start(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        INBOUND_DATABASE_URL=database_url,
        INBOUND_LIFECYCLE_REFRESH_S="1",
        INBOUND_ENVIRONMENT="test",
    )
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "scheduler"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _runs(log: Path) -> int:
    return log.read_text(errors="replace").count("job lifecycle ran")


def _wait_for(predicate, timeout: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.slow
def test_one_active_scheduler_and_takeover(database_url: str, engine: Engine) -> None:
    folder = Path(tempfile.mkdtemp())
    logs = [folder / "a.log", folder / "b.log"]
    procs = [_start(database_url, logs[0])]
    try:
        assert _wait_for(lambda: _runs(logs[0]) >= 2, 30), logs[0].read_text()
        procs.append(_start(database_url, logs[1]))
        time.sleep(6)  # the second one has tried to take the lock at least once
        assert _runs(logs[1]) == 0, "two schedulers ran jobs at once"
        before = _runs(logs[0])
        assert before >= 4
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        # The lock dies with its holder; the standby takes over at its next attempt.
        assert _wait_for(lambda: _runs(logs[1]) >= 2, 30), logs[1].read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)


def test_maintenance_job_runs(engine: Engine, database_url: str) -> None:
    result = maintenance.run_once(engine, Settings(database_url=database_url, retention_days=90))
    assert set(result) == {"partitions_created", "positions_pruned"}


def test_eta_job_logs_a_prediction_per_inbound_delivery(session) -> None:  # noqa: ANN001
    from datetime import UTC, datetime, timedelta

    from app.services.eta_serving import refresh_all
    from models import EtaPrediction
    from tests.factories import make_delivery, make_site, make_supplier, make_vehicle

    site = make_site(session)
    supplier = make_supplier(session)
    vehicle = make_vehicle(session, supplier=supplier)
    soon = datetime.now(UTC) + timedelta(hours=1)
    delivery = make_delivery(
        session, supplier=supplier, site=site, vehicle=vehicle, slot_start_at=soon
    )
    later = make_delivery(
        session,
        supplier=supplier,
        site=site,
        vehicle=vehicle,
        slot_start_at=soon + timedelta(days=3),
    )
    now = datetime.now(UTC)
    assert refresh_all(session, now=now) >= 1
    from sqlmodel import select

    ids = {p.delivery_id for p in session.exec(select(EtaPrediction)).all()}
    assert delivery.id in ids and later.id not in ids

"""The `inbound` command as an operator runs it: migrate, create-admin, import."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.security import verify_password
from models import ApiKey, Position, Supplier, User, Vehicle
from tests.factories import make_supplier, make_vehicle

FIXTURES = Path(__file__).parent / "fixtures"


def _inbound(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, INBOUND_DATABASE_URL=database_url, **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_is_idempotent(database_url: str, engine: Engine) -> None:
    result = _inbound(database_url, "migrate")
    assert result.returncode == 0, result.stderr
    assert "newest migration" in result.stdout


@pytest.fixture()
def cleanup_user(engine: Engine) -> Iterator[str]:
    email = f"ops-{os.getpid()}@example.com"
    yield email
    with Session(engine) as session:
        session.exec(delete(User).where(col(User.email) == email))
        session.commit()


def test_create_admin(database_url: str, engine: Engine, cleanup_user: str) -> None:
    result = _inbound(
        database_url,
        "create-admin",
        "--email",
        cleanup_user,
        env={"INBOUND_ADMIN_PASSWORD": "a-long-password"},
    )
    assert result.returncode == 0, result.stderr
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == cleanup_user)).one()
        assert user.role == "admin" and verify_password("a-long-password", user.password_hash)
    again = _inbound(
        database_url,
        "create-admin",
        "--email",
        cleanup_user,
        env={"INBOUND_ADMIN_PASSWORD": "a-long-password"},
    )
    assert again.returncode == 1 and "exists" in again.stdout


def test_create_admin_refuses_short_password(database_url: str, engine: Engine) -> None:
    result = _inbound(
        database_url,
        "create-admin",
        "--email",
        "x@example.com",
        env={"INBOUND_ADMIN_PASSWORD": "short"},
    )
    assert result.returncode == 2


def test_import_gpx_with_progress(database_url: str, engine: Engine) -> None:
    with Session(engine) as session:
        supplier = make_supplier(session)
        vehicle = make_vehicle(session, supplier=supplier)
        ids = (supplier.id, vehicle.id)
    try:
        result = _inbound(
            database_url, "import", "--vehicle-id", str(ids[1]), str(FIXTURES / "track.gpx")
        )
        assert result.returncode == 0, result.stderr
        assert "accepted 4, duplicates 0, rejected 1 (null_island: 1)" in result.stdout
        with Session(engine) as session:
            count = len(session.exec(select(Position).where(Position.vehicle_id == ids[1])).all())
        assert count == 4
        missing = _inbound(
            database_url, "import", "--vehicle-id", "999999", str(FIXTURES / "track.gpx")
        )
        assert missing.returncode == 1
    finally:
        with Session(engine) as session:
            session.exec(delete(Position).where(col(Position.vehicle_id) == ids[1]))
            session.exec(delete(ApiKey).where(col(ApiKey.supplier_id) == ids[0]))
            session.exec(delete(Vehicle).where(col(Vehicle.id) == ids[1]))
            session.exec(delete(Supplier).where(col(Supplier.id) == ids[0]))
            session.commit()


def test_forecast_backtest_on_stored_history(database_url: str, engine: Engine) -> None:
    import json
    import random
    from datetime import UTC, datetime, timedelta

    from models import Delivery, Site
    from tests.factories import make_site

    rng = random.Random(5)
    base = datetime(2026, 10, 1, tzinfo=UTC)
    with Session(engine) as session:
        site = make_site(session, code=f"BT{os.getpid()}")
        supplier = make_supplier(session)
        ids = (site.id, supplier.id)
        for day in range(21):
            for hour in (6, 9, 13, 17):
                slot = base + timedelta(days=day, hours=hour)
                no_show = rng.random() < 0.1
                session.add(
                    Delivery(
                        site_id=site.id,
                        supplier_id=supplier.id,
                        external_ref=f"BT-{day}-{hour}",
                        slot_start_at=slot,
                        slot_end_at=slot + timedelta(hours=1),
                        pallets=10,
                        status="no_show" if no_show else "completed",
                        arrived_at=None if no_show else slot + timedelta(minutes=rng.gauss(20, 15)),
                    )
                )
        session.commit()
    try:
        result = _inbound(
            database_url,
            "forecast",
            "backtest",
            "--site",
            f"BT{os.getpid()}",
            "--days",
            "5",
            "--json",
        )
        assert result.returncode == 0, result.stderr + result.stdout
        report = json.loads(result.stdout)
        for method in ("model", "naive"):
            assert set(report[method]) == {"2", "12", "24"}
            assert report[method]["2"]["hours"] > 0
        unknown = _inbound(database_url, "forecast", "backtest", "--site", "NOPE")
        assert unknown.returncode == 1
    finally:
        with Session(engine) as session:
            session.exec(delete(Delivery).where(col(Delivery.site_id) == ids[0]))
            session.exec(delete(Site).where(col(Site.id) == ids[0]))
            session.exec(delete(Supplier).where(col(Supplier.id) == ids[1]))
            session.commit()

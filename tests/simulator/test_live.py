"""Live mode against a real server, and `inbound demo` from an empty SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, create_engine, func, select

from app.simulator.fleet import FleetConfig, SimConfig
from app.simulator.live import LiveOptions, LiveRunner
from eta.geofence import distance_m
from models import (
    ApiKey,
    Delivery,
    DeliveryEvent,
    Dock,
    Position,
    Role,
    Site,
    Supplier,
    User,
    Vehicle,
)
from tests.factories import _PASSWORD, make_site, make_supplier, make_user, make_vehicle
from tests.servers import free_port, start_server

NO_SCHEDULER = {"INBOUND_SCHEDULER_ENABLED": "false"}
# Every truck on shift whatever the hour the test runs, loading quickly.
BUSY = SimConfig(
    fleet=FleetConfig(plan_hours=24.0, weekend_work=(1.0, 1.0), loading_s=(60.0, 120.0))
)


@dataclass
class Fleet:
    site_code: str
    supplier_code: str
    vehicle_ids: list[int]
    email: str


@pytest.fixture()
def fleet(engine: Engine) -> Iterator[Fleet]:
    tag = f"{os.getpid()}"
    with Session(engine) as session:
        site = make_site(session, code=f"LIVESIM{tag}", lat=55.80, lon=37.50, dock_count=2)
        supplier = make_supplier(session, code=f"LIVESUP{tag}")
        vehicles = [make_vehicle(session, supplier=supplier) for _ in range(4)]
        admin = make_user(session, role=Role.admin)
        data = Fleet(site.code, supplier.code, [v.id for v in vehicles if v.id], admin.email)
        site_id, supplier_id, user_id = site.id, supplier.id, admin.id
    yield data
    with Session(engine) as session:
        for model, column, values in (
            (Position, Position.vehicle_id, data.vehicle_ids),
            (DeliveryEvent, DeliveryEvent.delivery_id, _deliveries(session, site_id)),
            (Delivery, Delivery.site_id, [site_id]),
            (ApiKey, ApiKey.supplier_id, [supplier_id]),
            (Vehicle, Vehicle.supplier_id, [supplier_id]),
            (Supplier, Supplier.id, [supplier_id]),
            (Dock, Dock.site_id, [site_id]),
            (Site, Site.id, [site_id]),
            (User, User.id, [user_id]),
        ):
            session.exec(delete(model).where(col(column).in_(values)))  # type: ignore[call-overload]
        session.commit()


def _deliveries(session: Session, site_id: int | None) -> list[int]:
    return [d for d in session.exec(select(Delivery.id).where(Delivery.site_id == site_id)) if d]


def test_live_mode_posts_positions_the_api_accepts_and_trucks_move(
    database_url: str, engine: Engine, fleet: Fleet
) -> None:
    server, base = start_server(database_url, env=NO_SCHEDULER)
    try:
        runner = LiveRunner(
            LiveOptions(
                base_url=base,
                seed=5,
                speed=120.0,
                lead_s=1800.0,
                warmup_s=3 * 3600.0,
                username=fleet.email,
                password=_PASSWORD,
                tick_s=0.5,
                duration_s=6.0,
                site_codes=(fleet.site_code,),
                supplier_codes=(fleet.supplier_code,),
            ),
            config=BUSY,
        )
        world = runner.connect()
        assert [v.key for v in world.vehicles] == fleet.vehicle_ids
        stats = runner.run()
        runner.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(stats.line())
    assert stats.accepted > 20
    assert stats.failures == 0
    # Only the rare wild fix may be refused (as an impossible jump).
    assert sum(stats.rejected.values()) <= max(2, stats.posted // 50)
    assert set(stats.rejected) <= {"impossible_jump"}
    assert stats.bookings >= 1
    with Session(engine) as session:
        stored = session.exec(
            select(func.count())
            .select_from(Position)
            .where(col(Position.vehicle_id).in_(fleet.vehicle_ids), Position.source == "api")
        ).one()
        assert stored == stats.accepted
        moved = 0
        for vehicle_id in fleet.vehicle_ids:
            vehicle = session.get(Vehicle, vehicle_id)
            assert vehicle is not None
            track = session.exec(
                select(Position)
                .where(Position.vehicle_id == vehicle_id)
                .order_by(col(Position.device_at))
            ).all()
            if len(track) < 2:
                continue
            assert vehicle.last_fix_at == track[-1].device_at
            assert (vehicle.last_lat, vehicle.last_lon) == (track[-1].lat, track[-1].lon)
            if distance_m(track[0].lat, track[0].lon, track[-1].lat, track[-1].lon) > 200:
                moved += 1
        assert moved >= 1
        booked = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.vehicle_id).in_(fleet.vehicle_ids))
        ).one()
        assert booked == stats.bookings


def test_demo_seeds_generates_serves_drives_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    port = free_port()
    env = dict(
        os.environ,
        INBOUND_DATABASE_URL=f"sqlite:///{database}",
        INBOUND_MODEL_DIR=str(tmp_path / "models"),
        INBOUND_OSMAND_PORT="0",
    )
    command = [sys.executable, "-c", "from app.cli import main; main()", "demo"]
    args = ["--fresh", "--port", str(port), "--speed", "60", "--weeks", "0.15", "--no-train"]
    proc = subprocess.Popen(
        [*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        output.append(line)
        if "Ctrl-C stops" in line or time.monotonic() > deadline:
            break
    time.sleep(8)  # let the live fleet post for a while
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    text = "".join(output) + rest
    assert proc.returncode == 0, text
    assert f"http://127.0.0.1:{port}/" in text and "/docs" in text
    assert "logistician@demo.inbound" in text and "inbound-demo" in text
    assert "demo stopped" in text and "KeyboardInterrupt" not in text
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        sites = session.exec(select(Site).order_by(col(Site.code))).all()
        assert {s.kind for s in sites} == {"distribution_centre", "warehouse", "darkstore"}
        assert all(s.timezone == "Europe/Moscow" and s.shifts for s in sites)
        docks = session.exec(select(func.count()).select_from(Dock)).one()
        assert docks == sum(s.dock_count for s in sites)
        suppliers = session.exec(select(Supplier)).all()
        keys = session.exec(select(func.count()).select_from(ApiKey)).one()
        assert len(suppliers) >= 3 and keys >= len(suppliers)
        roles = {u.role for u in session.exec(select(User)).all()}
        assert roles == {Role.admin, Role.logistician, Role.planner, Role.supplier_viewer}
        completed = session.exec(
            select(func.count()).select_from(Delivery).where(Delivery.status == "completed")
        ).one()
        assert completed > 0
        live = session.exec(
            select(func.count()).select_from(Position).where(Position.source == "api")
        ).one()
        assert live > 0
    engine.dispose()

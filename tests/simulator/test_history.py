"""History mode writes completed deliveries, their events and positions like the API would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from app.simulator.fleet import FleetConfig, SimConfig, VehicleSpec
from app.simulator.gps import GpsConfig
from app.simulator.history import (
    HistoryConflict,
    build_world,
    load_world,
    run_history,
    site_spec,
)
from eta.geofence import distance_m
from models import Delivery, DeliveryEvent, DeliveryStatus, Position, Supplier, Vehicle
from tests.factories import make_site, make_supplier, make_vehicle

END = datetime(2026, 11, 18, 21, 0, tzinfo=UTC)  # Thursday 00:00 in Moscow
CONFIG = SimConfig(fleet=FleetConfig(plan_hours=16.0))


def _world(session: Session) -> tuple[object, list[Vehicle]]:
    site = make_site(session, lat=55.80, lon=37.50, dock_count=1, geofence_radius_m=250.0)
    supplier = make_supplier(session)
    vehicles = [make_vehicle(session, supplier=supplier) for _ in range(3)]
    assert supplier.id is not None
    world = build_world(
        [site_spec(site)],
        [(supplier.id, supplier.code)],
        [VehicleSpec(v.id, v.supplier_id, v.device_id) for v in vehicles if v.id is not None],
        timezone=site.timezone,
        seed=4,
        config=CONFIG,
        at=END,
    )
    return world, vehicles


def test_history_writes_completed_deliveries_ending_inside_the_geofence(
    session: Session,
) -> None:
    world, vehicles = _world(session)
    ids = [v.id for v in vehicles]
    stats = run_history(
        session, world=world, seed=4, start=END - timedelta(days=2), end=END, config=CONFIG
    )
    deliveries = session.exec(select(Delivery).where(col(Delivery.vehicle_id).in_(ids))).all()
    completed = [d for d in deliveries if d.status == DeliveryStatus.completed]
    print(
        f"{stats.positions} positions, {len(completed)} completed, {stats.no_shows} no-shows, "
        f"mean wait {stats.mean_wait_min:.1f} min"
    )
    assert len(completed) >= 6 and stats.completed == len(completed)
    assert (
        stats.positions
        == session.exec(
            select(func.count()).select_from(Position).where(col(Position.vehicle_id).in_(ids))
        ).one()
    )
    site = world.sites[0]  # type: ignore[attr-defined]
    for d in completed:
        assert d.departed_at and d.arrived_at and d.dock_start_at and d.dock_end_at and d.left_at
        assert d.departed_at < d.arrived_at <= d.dock_start_at < d.dock_end_at < d.left_at
        assert d.dock_id is not None
        track = session.exec(
            select(Position)
            .where(Position.vehicle_id == d.vehicle_id)
            .where(Position.device_at >= d.departed_at, Position.device_at <= d.dock_end_at)
            .order_by(col(Position.device_at))
        ).all()
        assert len(track) > 10
        last = track[-1]
        assert distance_m(last.lat, last.lon, site.lat, site.lon) <= site.radius_m
        first = track[0]
        assert distance_m(first.lat, first.lon, site.lat, site.lon) > site.radius_m
        kinds = [
            e.kind
            for e in session.exec(
                select(DeliveryEvent)
                .where(DeliveryEvent.delivery_id == d.id)
                .order_by(col(DeliveryEvent.at))
            )
        ]
        assert kinds[:2] == ["en_route", "arrived"] and "completed" in kinds
    for d in deliveries:
        if d.status == DeliveryStatus.no_show:
            assert d.arrived_at is None and d.dock_start_at is None
    # The denormalised latest fix is the newest stored one.
    vehicle = vehicles[0]
    session.refresh(vehicle)
    newest = session.exec(
        select(func.max(Position.device_at)).where(Position.vehicle_id == ids[0])
    ).one()
    assert vehicle.last_fix_at == newest
    with pytest.raises(HistoryConflict):
        run_history(
            session, world=world, seed=4, start=END - timedelta(days=1), end=END, config=CONFIG
        )


def test_load_world_fills_the_fleet_with_simulated_suppliers(session: Session) -> None:
    make_site(session)
    active = session.exec(
        select(func.count()).select_from(Vehicle).where(col(Vehicle.is_active).is_(True))
    ).one()
    world = load_world(session, vehicles=active + 7, seed=2, at=END)
    assert len(world.vehicles) == active + 7
    assert len({v.key for v in world.vehicles}) == active + 7
    assert session.exec(select(Supplier).where(Supplier.code == "SIM1")).first() is not None
    assert all(s.depot_lat != world.suppliers[0].depot_lat for s in world.suppliers[1:])


def test_history_runs_when_the_gps_reports_nothing(session: Session) -> None:
    # Every fix lost (one endless loss run): trips still happen and are written, untracked.
    silent = SimConfig(
        fleet=FleetConfig(plan_hours=16.0), gps=GpsConfig(fix_loss=0.999, loss_run_mean=1e12)
    )
    world, vehicles = _world(session)
    ids = [v.id for v in vehicles]
    stats = run_history(
        session, world=world, seed=4, start=END - timedelta(days=1), end=END, config=silent
    )
    deliveries = session.exec(select(Delivery).where(col(Delivery.vehicle_id).in_(ids))).all()
    completed = [d for d in deliveries if d.status == DeliveryStatus.completed]
    assert stats.positions == 0 and len(completed) >= 3
    for d in completed:
        assert d.departed_at is None  # no fix, so no departure was seen
        assert d.arrived_at is not None and d.arrived_at <= d.dock_start_at  # the yard saw it

"""Each flag opens and resolves at the right moment with the right reason; no flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.services.alerts import evaluate
from models import Alert, Position
from tests.factories import make_delivery, position_row

M_PER_DEG_LAT = 111_195.0
NOW = datetime.now(UTC).replace(microsecond=0)


def put_vehicle(session: Session, vehicle, site, *, km: float, at: datetime) -> None:  # noqa: ANN001
    vehicle.last_lat = site.lat + km * 1000 / M_PER_DEG_LAT
    vehicle.last_lon = site.lon
    vehicle.last_fix_at = at
    session.add(vehicle)
    session.commit()


def alerts(session: Session, delivery) -> dict[str, str]:  # noqa: ANN001
    rows = session.exec(select(Alert).where(Alert.delivery_id == delivery.id)).all()
    return {a.reason: a.state for a in sorted(rows, key=lambda a: a.id)}


def en_route(session: Session, world, *, slot_end_in: timedelta):  # noqa: ANN001, ANN201
    world.delivery_a.status = "cancelled"  # the world's own booking stays out of the way
    session.add(world.delivery_a)
    delivery = make_delivery(
        session,
        supplier=world.supplier_a,
        site=world.site_a,
        vehicle=world.vehicle_a,
        slot_start_at=NOW + slot_end_in - timedelta(minutes=60),
        slot_minutes=60,
    )
    delivery.status = "en_route"
    session.add(delivery)
    session.commit()
    return delivery


def test_truck_stuck_in_traffic_is_vehicle_late(session: Session, world) -> None:
    # 45 km out (P50 ≈ 78 min) with the slot ending in 40 min.
    delivery = en_route(session, world, slot_end_in=timedelta(minutes=40))
    put_vehicle(session, world.vehicle_a, world.site_a, km=45, at=NOW)
    evaluate(session, now=NOW)
    assert alerts(session, delivery) == {"vehicle_late": "open"}
    alert = session.exec(select(Alert).where(Alert.delivery_id == delivery.id)).one()
    assert alert.severity == "critical" and alert.details["minutes_late"] >= 30
    # 20 km out two minutes later: P50 ≈ 35 min, 5 min before the slot ends → resolved.
    later = NOW + timedelta(minutes=2)
    put_vehicle(session, world.vehicle_a, world.site_a, km=20, at=later)
    evaluate(session, now=later)
    assert alerts(session, delivery) == {"vehicle_late": "resolved"}


def test_late_flag_does_not_flap_inside_the_band(session: Session, world) -> None:
    delivery = en_route(session, world, slot_end_in=timedelta(minutes=40))
    put_vehicle(session, world.vehicle_a, world.site_a, km=45, at=NOW)
    evaluate(session, now=NOW)
    # P50 ≈ 5 min after the slot: between the 0 min close and 10 min open thresholds.
    later = NOW + timedelta(minutes=2)
    put_vehicle(session, world.vehicle_a, world.site_a, km=24.5, at=later)
    assert evaluate(session, now=later) == {"opened": 0, "resolved": 0}
    assert alerts(session, delivery) == {"vehicle_late": "open"}


def test_on_time_arrival_behind_others_is_unloading_queue(session: Session, world) -> None:
    delivery = en_route(session, world, slot_end_in=timedelta(minutes=30))
    delivery.status, delivery.arrived_at = "arrived", NOW - timedelta(minutes=25)
    session.add(delivery)
    session.commit()
    evaluate(session, now=NOW)  # waited 25 min > the site's 20 min target
    assert alerts(session, delivery) == {"unloading_queue": "open"}
    alert = session.exec(select(Alert).where(Alert.delivery_id == delivery.id)).one()
    assert alert.details == {"kind": "waiting_for_dock"}
    delivery.status, delivery.dock_start_at = "unloading", NOW
    session.add(delivery)
    session.commit()
    evaluate(session, now=NOW + timedelta(minutes=1))
    assert alerts(session, delivery) == {"unloading_queue": "resolved"}


def test_silent_vehicle_with_hysteresis(session: Session, world) -> None:
    delivery = en_route(session, world, slot_end_in=timedelta(hours=5))
    put_vehicle(session, world.vehicle_a, world.site_a, km=5, at=NOW - timedelta(minutes=20))
    evaluate(session, now=NOW)
    assert alerts(session, delivery)["vehicle_silent"] == "open"
    put_vehicle(session, world.vehicle_a, world.site_a, km=5, at=NOW - timedelta(minutes=12))
    evaluate(session, now=NOW)
    assert alerts(session, delivery)["vehicle_silent"] == "open"  # 12 min: inside the band
    put_vehicle(session, world.vehicle_a, world.site_a, km=5, at=NOW - timedelta(minutes=1))
    evaluate(session, now=NOW)
    assert alerts(session, delivery)["vehicle_silent"] == "resolved"


def test_driving_away_is_off_course(session: Session, world) -> None:
    delivery = en_route(session, world, slot_end_in=timedelta(hours=5))
    rows = []
    for i in range(6):
        at = NOW - timedelta(minutes=20 - i * 4)
        rows.append(
            position_row(
                world.vehicle_a.id,
                at,
                lat=world.site_a.lat + (10 + i) * 1000 / M_PER_DEG_LAT,
                lon=world.site_a.lon,
            )
        )
        session.add(Position(**rows[-1]))
    session.commit()
    put_vehicle(session, world.vehicle_a, world.site_a, km=15, at=NOW)
    evaluate(session, now=NOW)
    assert alerts(session, delivery)["off_course"] == "open"


def test_long_dwell_and_early(session: Session, world) -> None:
    unloading = en_route(session, world, slot_end_in=timedelta(hours=1))
    unloading.status, unloading.arrived_at = "unloading", NOW - timedelta(hours=2)
    unloading.dock_start_at, unloading.pallets = NOW - timedelta(minutes=90), 10
    session.add(unloading)
    session.commit()
    evaluate(session, now=NOW)  # 10 pallets at 30/h ≈ 20 min; 90 min is far beyond 2× + 15
    assert alerts(session, unloading) == {"long_dwell": "open"}
    unloading.status, unloading.dock_end_at = "completed", NOW
    session.add(unloading)
    session.commit()
    evaluate(session, now=NOW)
    assert alerts(session, unloading) == {"long_dwell": "resolved"}
    early = make_delivery(
        session,
        supplier=world.supplier_a,
        site=world.site_a,
        vehicle=world.vehicle_a,
        slot_start_at=NOW + timedelta(hours=6),
    )
    early.status = "en_route"
    session.add(early)
    session.commit()
    put_vehicle(session, world.vehicle_a, world.site_a, km=10, at=NOW)
    evaluate(session, now=NOW + timedelta(minutes=2))
    assert alerts(session, early).get("early") == "open"


def test_acknowledge(client: TestClient, session: Session, world) -> None:
    delivery = en_route(session, world, slot_end_in=timedelta(minutes=40))
    put_vehicle(session, world.vehicle_a, world.site_a, km=45, at=NOW)
    evaluate(session, now=NOW)
    alert = session.exec(select(Alert).where(Alert.delivery_id == delivery.id)).one()
    feed = client.get(
        f"/api/v1/sites/{world.site_a.id}/alerts",
        params={"state": "open"},
        headers=world.headers["logistician"],
    ).json()
    assert [a["id"] for a in feed] == [alert.id] and feed[0]["reason"] == "vehicle_late"
    assert (
        client.post(
            f"/api/v1/alerts/{alert.id}/acknowledge", headers=world.headers["planner"]
        ).status_code
        == 403
    )
    ok = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=world.headers["logistician"])
    assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"
    again = client.post(
        f"/api/v1/alerts/{alert.id}/acknowledge", headers=world.headers["logistician"]
    )
    assert again.status_code == 409
    assert (
        client.get(
            f"/api/v1/sites/{world.site_a.id}/alerts", headers=world.headers["key_a"]
        ).status_code
        == 403
    )

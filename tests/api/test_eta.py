"""Served ETAs, their log, and risk against the slot (physics estimate until a model is active)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import EtaPrediction
from tests.factories import make_delivery

M_PER_DEG_LAT = 111_195.0


def place_vehicle(session: Session, world, *, km_north: float) -> None:
    vehicle = world.vehicle_a
    vehicle.last_lat = world.site_a.lat + km_north * 1000 / M_PER_DEG_LAT
    vehicle.last_lon = world.site_a.lon
    vehicle.last_fix_at = datetime.now(UTC)
    session.add(vehicle)
    session.commit()


@pytest.mark.parametrize(
    ("slot_end_in_min", "expected"),
    # 45 km → P50 ≈ 78 min (1.3 × 45 km at 12.5 m/s), P90 ≈ 117 min.
    [(180, "on_time"), (85, "at_risk"), (60, "late")],
)
def test_risk_against_the_slot(
    client: TestClient, world, session: Session, slot_end_in_min: int, expected: str
) -> None:
    place_vehicle(session, world, km_north=45)
    end = datetime.now(UTC) + timedelta(minutes=slot_end_in_min)
    delivery = make_delivery(
        session,
        supplier=world.supplier_a,
        site=world.site_a,
        vehicle=world.vehicle_a,
        slot_start_at=end - timedelta(minutes=30),
        slot_minutes=30,
    )
    body = client.get(
        f"/api/v1/deliveries/{delivery.id}/eta", headers=world.headers["key_a"]
    ).json()
    assert body["risk"] == expected
    p50 = datetime.fromisoformat(body["eta_p50_at"])
    assert abs((p50 - datetime.now(UTC)).total_seconds() / 60 - 78) < 2
    assert body["eta_p10_at"] <= body["eta_p50_at"] <= body["eta_p90_at"]
    assert body["model_version"] == "physics-0"
    assert abs(body["remaining_m"] - 45_000) < 100


def test_every_served_eta_is_logged_once_a_minute(
    client: TestClient, world, session: Session
) -> None:
    place_vehicle(session, world, km_north=10)
    url = f"/api/v1/deliveries/{world.delivery_a.id}/eta"
    first = client.get(url, headers=world.headers["logistician"]).json()
    second = client.get(url, headers=world.headers["logistician"]).json()
    logged = session.exec(
        select(EtaPrediction).where(EtaPrediction.delivery_id == world.delivery_a.id)
    ).all()
    assert len(logged) == 1 and first == second
    assert logged[0].model_version == "physics-0"


def test_arrived_delivery_reports_its_lateness(client: TestClient, world, session: Session) -> None:
    delivery = world.delivery_a
    delivery.status = "arrived"
    delivery.arrived_at = delivery.slot_end_at + timedelta(minutes=12)
    session.add(delivery)
    session.commit()
    body = client.get(
        f"/api/v1/deliveries/{delivery.id}/eta", headers=world.headers["admin"]
    ).json()
    assert body["risk"] == "arrived" and body["minutes_late"] == 12.0 and body["eta_p50_at"] is None


def test_site_inbound_is_for_staff_of_the_site(client: TestClient, world, session: Session) -> None:
    place_vehicle(session, world, km_north=5)
    rows = client.get(
        f"/api/v1/sites/{world.site_a.id}/inbound", headers=world.headers["logistician"]
    ).json()
    assert [r["delivery_id"] for r in rows] == [world.delivery_a.id]
    assert rows[0]["risk"] == "on_time"
    assert (
        client.get(
            f"/api/v1/sites/{world.site_b.id}/inbound", headers=world.headers["logistician"]
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/sites/{world.site_a.id}/inbound", headers=world.headers["key_a"]
        ).status_code
        == 403
    )
    foreign = client.get(
        f"/api/v1/deliveries/{world.delivery_b.id}/eta", headers=world.headers["key_a"]
    )
    assert foreign.status_code == 404

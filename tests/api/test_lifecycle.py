"""Delivery lifecycle driven by GPS through the ingestion API, and by dock events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.services.lifecycle import refresh_from_gps
from models import Delivery, DeliveryEvent, Dock, Site
from tests.factories import make_delivery, make_site

M_PER_DEG_LAT = 111_195.0
# Site A of the test world is at 55.75, 37.62 with a 300 m fence.
SITE = (55.75, 37.62)
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=5)


def north(metres: float, at: datetime) -> dict:
    return {
        "device_id": "dev-a1",
        "ts": at.isoformat(),
        "lat": SITE[0] + metres / M_PER_DEG_LAT,
        "lon": SITE[1],
        "speed_mps": 12.0,
    }


def trip(*, stay_min: int = 40, leave: bool = True) -> list[dict]:
    """12 km approach at 15 m/s, a stay at the dock with fence-edge jitter, then away."""
    points, t, d = [], T0, 12_100.0
    while d > 0:
        points.append(north(d, t))
        t += timedelta(seconds=30)
        d -= 450
    rng = random.Random(11)
    for i in range(stay_min * 2):
        # Mostly parked near the dock, sometimes scattered out to the fence edge.
        points.append(north(rng.uniform(240, 360) if i % 5 == 0 else 60, t))
        t += timedelta(seconds=30)
    if leave:
        for i in range(12):
            points.append(north(800 + i * 400, t))
            t += timedelta(seconds=30)
    return points


def first_inside(points: list[dict]) -> datetime:
    return next(
        datetime.fromisoformat(p["ts"])
        for p in points
        if (p["lat"] - SITE[0]) * M_PER_DEG_LAT <= 300
    )


def post(client: TestClient, headers: dict, points: list[dict]) -> None:
    for start in range(0, len(points), 50):
        response = client.post(
            "/api/v1/positions", json={"positions": points[start : start + 50]}, headers=headers
        )
        assert response.status_code == 200 and response.json()["rejected"] == 0, response.text


def booked(session: Session, world) -> Delivery:
    # The shared world books vehicle A for later today; take that booking out of the way.
    world.delivery_a.status = "cancelled"
    session.add(world.delivery_a)
    session.commit()
    return make_delivery(
        session,
        supplier=world.supplier_a,
        site=world.site_a,
        vehicle=world.vehicle_a,
        slot_start_at=T0 + timedelta(minutes=20),
        slot_minutes=30,
        pallets=12,
    )


def kinds(session: Session, delivery: Delivery) -> list[tuple[str, str]]:
    events = session.exec(
        select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery.id)
    ).all()
    return [(e.kind, e.source) for e in sorted(events, key=lambda e: (e.at, e.id))]


def test_gps_drives_en_route_arrived_and_left(client: TestClient, world, session: Session) -> None:
    delivery = booked(session, world)
    points = trip()
    points_on_site = [p for p in points if (p["lat"] - SITE[0]) * M_PER_DEG_LAT < 400]
    post(client, world.headers["key_a"], points[: points.index(points_on_site[-1]) + 1])
    counts = refresh_from_gps(session, now=datetime.now(UTC))
    assert counts == {"en_route": 1, "arrived": 1}
    session.refresh(delivery)
    assert delivery.status == "arrived"
    assert delivery.departed_at == T0
    assert delivery.arrived_at == first_inside(points)
    assert delivery.left_at is None
    # Unloading at a dock, then GPS sees it leave.
    dock = session.exec(select(Dock).where(Dock.site_id == world.site_a.id)).first()
    h = world.headers["logistician"]
    start = delivery.arrived_at + timedelta(minutes=10)
    end = start + timedelta(minutes=20)
    for body in (
        {
            "kind": "dock_assigned",
            "dock_id": dock.id,
            "at": (start - timedelta(minutes=5)).isoformat(),
        },
        {"kind": "unloading", "at": start.isoformat()},
        {"kind": "completed", "at": end.isoformat()},
    ):
        response = client.post(f"/api/v1/deliveries/{delivery.id}/events", json=body, headers=h)
        assert response.status_code == 201, response.text
    post(client, world.headers["key_a"], points)  # the rest of the track: driving away
    assert refresh_from_gps(session, now=datetime.now(UTC)) == {"left": 1}
    session.refresh(delivery)
    leave_at = datetime.fromisoformat(points[-12]["ts"])
    assert delivery.left_at == leave_at
    assert kinds(session, delivery) == [
        ("en_route", "gps"),
        ("arrived", "gps"),
        ("dock_assigned", "user"),
        ("unloading", "user"),
        ("completed", "user"),
        ("left", "gps"),
    ]
    # Nothing more happens on another pass.
    assert refresh_from_gps(session, now=datetime.now(UTC)) == {}
    timeline = client.get(f"/api/v1/deliveries/{delivery.id}/timeline", headers=h).json()
    assert [e["kind"] for e in timeline["events"]][-1] == "left"
    assert timeline["dwell"]["yard_wait_min"] == 10.0
    assert timeline["dwell"]["unloading_min"] == 20.0
    assert timeline["dwell"]["travel_min"] == (delivery.arrived_at - T0).total_seconds() / 60
    assert 0 < len(timeline["track"]) <= 400


def test_out_of_order_points_give_the_same_result(
    client: TestClient, world, session: Session
) -> None:
    delivery = booked(session, world)
    points = trip(leave=False)
    # The late half of the trip arrives first (a tracker's buffered burst), then the rest.
    half = len(points) // 2
    post(client, world.headers["key_a"], points[half:])
    refresh_from_gps(session, now=datetime.now(UTC))
    session.refresh(delivery)
    early_guess = delivery.arrived_at
    post(client, world.headers["key_a"], points[:half])
    refresh_from_gps(session, now=datetime.now(UTC))
    session.refresh(delivery)
    assert delivery.status == "arrived"
    assert delivery.arrived_at == first_inside(points)
    assert delivery.departed_at == T0
    assert early_guess is None or early_guess >= delivery.arrived_at
    arrived_events = [k for k in kinds(session, delivery) if k[0] == "arrived"]
    assert arrived_events == [("arrived", "gps")]


def test_passing_truck_does_not_arrive(client: TestClient, world, session: Session) -> None:
    delivery = booked(session, world)
    t = T0
    points = []
    for d in range(-5000, 5001, 450):
        points.append(north(d, t))
        t += timedelta(seconds=30)
    post(client, world.headers["key_a"], points)
    refresh_from_gps(session, now=datetime.now(UTC))
    session.refresh(delivery)
    assert delivery.arrived_at is None and delivery.status in ("planned", "en_route")


def test_illegal_transitions_are_409(client: TestClient, world, session: Session) -> None:
    delivery = booked(session, world)
    h = world.headers["logistician"]
    url = f"/api/v1/deliveries/{delivery.id}/events"
    response = client.post(url, json={"kind": "completed"}, headers=h)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    assert response.json()["error"]["details"]["allowed"] == [
        "arrived",
        "cancelled",
        "en_route",
        "no_show",
    ]
    no_dock = client.post(url, json={"kind": "arrived"}, headers=h)
    assert no_dock.status_code == 201
    unloading = client.post(url, json={"kind": "unloading"}, headers=h)
    assert unloading.status_code == 409 and unloading.json()["error"]["code"] == "dock_required"
    assert client.post(url, json={"kind": "cancelled"}, headers=h).status_code == 201
    assert client.post(url, json={"kind": "arrived"}, headers=h).status_code == 409
    assert client.post(url, json={"kind": "teleported"}, headers=h).status_code == 422
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    other = booked(session, world)
    bad_time = client.post(
        f"/api/v1/deliveries/{other.id}/events", json={"kind": "arrived", "at": future}, headers=h
    )
    assert bad_time.status_code == 422


def test_a_dock_unloads_one_truck_at_a_time(client: TestClient, world, session: Session) -> None:
    h = world.headers["key_a"]  # the supplier's own system may report dock events too
    dock = session.exec(select(Dock).where(Dock.site_id == world.site_a.id)).first()
    first, second = booked(session, world), booked(session, world)
    for d in (first, second):
        url = f"/api/v1/deliveries/{d.id}/events"
        assert client.post(url, json={"kind": "arrived"}, headers=h).status_code == 201
        assert (
            client.post(
                url, json={"kind": "dock_assigned", "dock_id": dock.id}, headers=h
            ).status_code
            == 201
        )
    assert (
        client.post(
            f"/api/v1/deliveries/{first.id}/events", json={"kind": "unloading"}, headers=h
        ).status_code
        == 201
    )
    docks = client.get(
        f"/api/v1/sites/{world.site_a.id}/docks", headers=world.headers["logistician"]
    ).json()
    assert {d["id"]: d["busy_delivery_id"] for d in docks}[dock.id] == first.id
    busy = client.post(
        f"/api/v1/deliveries/{second.id}/events", json={"kind": "unloading"}, headers=h
    )
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "dock_busy"
    foreign_dock = session.exec(select(Dock).where(Dock.site_id == world.site_b.id)).first()
    wrong = client.post(
        f"/api/v1/deliveries/{second.id}/events",
        json={"kind": "dock_assigned", "dock_id": foreign_dock.id},
        headers=h,
    )
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "dock_not_found"


def test_who_may_record_events(client: TestClient, world, session: Session) -> None:
    delivery = booked(session, world)
    url = f"/api/v1/deliveries/{delivery.id}/events"
    for who in ("planner", "supplier_viewer"):
        assert (
            client.post(url, json={"kind": "arrived"}, headers=world.headers[who]).status_code
            == 403
        )
    assert (
        client.post(url, json={"kind": "arrived"}, headers=world.headers["key_b"]).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/deliveries/{delivery.id}/timeline", headers=world.headers["key_b"]
        ).status_code
        == 404
    )


def _site_c_3km_north_of_a(session: Session, world) -> Site:
    """Site C lies 3 km north of site A: a drive south to C also closes in on A."""
    world.delivery_a.status = "cancelled"  # vehicle A's own booking, out of the way
    session.add(world.delivery_a)
    return make_site(
        session, code="SITE-C", name="Site C", lat=SITE[0] + 3000 / M_PER_DEG_LAT, lon=SITE[1]
    )


def _book(session: Session, world, site: Site, slot_start_at: datetime) -> Delivery:
    return make_delivery(
        session,
        supplier=world.supplier_a,
        site=site,
        vehicle=world.vehicle_a,
        slot_start_at=slot_start_at,
    )


def _drive(points: list[dict], t: datetime, start_m: float, end_m: float) -> datetime:
    """Straight along the meridian at 15 m/s, a fix every 30 s; returns the next fix time."""
    step = 450 if end_m < start_m else -450
    d = start_m
    while (d > end_m) if step > 0 else (d < end_m):
        points.append(north(d, t))
        t += timedelta(seconds=30)
        d -= step
    return t


def _stay(points: list[dict], t: datetime, at_m: float, minutes: int) -> datetime:
    for _ in range(minutes * 2):
        points.append(north(at_m, t))
        t += timedelta(seconds=30)
    return t


def test_a_drive_to_another_site_is_not_this_deliverys_trip(
    client: TestClient, world, session: Session
) -> None:
    site_c = _site_c_3km_north_of_a(session, world)
    to_c = _book(session, world, site_c, T0 + timedelta(minutes=20))
    later_to_a = _book(session, world, world.site_a, T0 + timedelta(hours=3))
    points: list[dict] = []
    t = _drive(points, T0, 12_100, 3000)
    t = _stay(points, t, 3000, 30)  # unloading at C
    t = _drive(points, t, 4000, 8800)  # and home, northwards
    post(client, world.headers["key_a"], points)
    counts = refresh_from_gps(session, now=t + timedelta(minutes=5))
    session.refresh(to_c)
    session.refresh(later_to_a)
    assert to_c.departed_at == T0 and to_c.arrived_at is not None and to_c.left_at is not None
    assert later_to_a.status == "planned" and later_to_a.departed_at is None, counts


def test_a_truck_serving_its_stops_out_of_slot_order_still_arrives_at_both(
    client: TestClient, world, session: Session
) -> None:
    # Booked for A first, but the driver goes to C (on the way) first.
    site_c = _site_c_3km_north_of_a(session, world)
    to_a = _book(session, world, world.site_a, T0 + timedelta(minutes=20))
    to_c = _book(session, world, site_c, T0 + timedelta(minutes=40))
    points: list[dict] = []
    t = _drive(points, T0, 12_100, 3000)
    t = _stay(points, t, 3000, 30)  # unloading at C
    t = _drive(points, t, 2600, 0)  # on to A
    t = _stay(points, t, 50, 10)
    post(client, world.headers["key_a"], points)  # one buffered burst, one pass
    refresh_from_gps(session, now=t + timedelta(minutes=5))
    session.refresh(to_a)
    session.refresh(to_c)
    assert to_c.status == "arrived" and to_a.status == "arrived"
    assert to_c.arrived_at is not None and to_a.arrived_at is not None
    assert to_c.arrived_at < to_a.arrived_at

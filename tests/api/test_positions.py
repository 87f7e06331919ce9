"""Batch position ingest: per-point reasons, idempotent retries, order, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import Position, Vehicle

# One base per run, so that repeated calls name the same instants.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _ts(minutes: float = 0) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def _stored(session: Session, vehicle_id: int) -> list[Position]:
    return list(session.exec(select(Position).where(Position.vehicle_id == vehicle_id)).all())


def test_mixed_batch_reports_each_bad_point(client: TestClient, world, session: Session) -> None:
    good = {"device_id": "dev-a1", "lat": 55.70, "lon": 37.60, "speed_mps": 12.5}
    batch = [
        dict(good, ts=_ts(0)),
        dict(good, ts=_ts(1), lat=95.0),
        dict(good, ts=_ts(2), lon=-190.0),
        dict(good, ts=_ts(3), lat=0.0, lon=0.0),
        dict(good, ts=(datetime.now(UTC) + timedelta(hours=1)).isoformat()),
        dict(good, ts=(datetime.now(UTC) - timedelta(days=400)).isoformat()),
        dict(good, ts=_ts(4), speed_mps=120.0),
        dict(good, ts=_ts(5), accuracy_m=5000),
        dict(good, ts=_ts(6), lat="fifty"),
        dict(good, ts="yesterday-ish"),
        {"lat": 1, "lon": 1, "ts": _ts(7)},
        "not an object",
        dict(good, ts=_ts(8), device_id="dev-b1"),
        dict(good, ts=_ts(9), device_id="no-such-device"),
        dict(good, ts=int((datetime.now(UTC) - timedelta(minutes=30)).timestamp() * 1000)),
    ]
    response = client.post(
        "/api/v1/positions", json={"positions": batch}, headers=world.headers["key_a"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    reasons = {e["index"]: e["reason"] for e in body["errors"]}
    assert reasons == {
        1: "lat_out_of_range",
        2: "lon_out_of_range",
        3: "null_island",
        4: "future_timestamp",
        5: "too_old",
        6: "impossible_speed",
        7: "poor_accuracy",
        8: "malformed_number",
        9: "invalid_timestamp",
        10: "missing_field",
        11: "invalid_point",
        12: "unknown_device",
        13: "unknown_device",
    }
    assert body["accepted"] == 2 and body["rejected"] == 13 and body["duplicates"] == 0
    stored = _stored(session, world.vehicle_a.id)
    assert len(stored) == 2
    assert {round(p.speed_mps or 0, 3) for p in stored} == {12.5}
    assert _stored(session, world.vehicle_b.id) == []


def test_foreign_device_looks_like_unknown(client: TestClient, world) -> None:
    def post(device: str) -> dict:
        point = {"device_id": device, "ts": _ts(), "lat": 55.7, "lon": 37.6}
        return client.post(
            "/api/v1/positions", json={"positions": [point]}, headers=world.headers["key_a"]
        ).json()

    foreign, missing = post("dev-b1"), post("dev-zz")
    assert foreign["errors"][0]["reason"] == missing["errors"][0]["reason"] == "unknown_device"
    assert foreign["errors"][0]["message"].replace("dev-b1", "X") == missing["errors"][0][
        "message"
    ].replace("dev-zz", "X")


def test_retry_is_idempotent_and_order_free(client: TestClient, world, session: Session) -> None:
    points = [
        {"device_id": "dev-a1", "ts": _ts(m), "lat": 55.70 + m * 0.001, "lon": 37.60}
        for m in (5, 1, 3, 2, 4)
    ]
    first = client.post(
        "/api/v1/positions", json={"positions": points}, headers=world.headers["key_a"]
    )
    assert first.json()["accepted"] == 5
    again = client.post(
        "/api/v1/positions", json={"positions": points}, headers=world.headers["key_a"]
    )
    assert again.json() == {"accepted": 0, "duplicates": 5, "rejected": 0, "errors": []}
    doubled = client.post(
        "/api/v1/positions",
        json={"positions": [points[0], points[0]]},
        headers=world.headers["key_a"],
    )
    assert doubled.json()["duplicates"] == 2
    assert len(_stored(session, world.vehicle_a.id)) == 5
    vehicle = session.get(Vehicle, world.vehicle_a.id)
    session.refresh(vehicle)
    # The latest fix is the newest device time, whatever order the points came in.
    assert vehicle.last_fix_at == datetime.fromisoformat(_ts(5))
    assert vehicle.last_lat == pytest.approx(55.705)
    late = {"device_id": "dev-a1", "ts": _ts(0), "lat": 55.69, "lon": 37.60}
    client.post("/api/v1/positions", json={"positions": [late]}, headers=world.headers["key_a"])
    session.refresh(vehicle)
    assert vehicle.last_fix_at == datetime.fromisoformat(_ts(5))


def test_impossible_jump_is_rejected_but_jitter_is_not(
    client: TestClient, world, session: Session
) -> None:
    h = world.headers["key_a"]
    base = {"device_id": "dev-a1", "lat": 55.70, "lon": 37.60}
    assert (
        client.post(
            "/api/v1/positions", json={"positions": [dict(base, ts=_ts(0))]}, headers=h
        ).json()["accepted"]
        == 1
    )
    # 30 m in one second is GPS jitter, not a jump.
    jitter = dict(base, ts=_ts(1 / 60), lat=55.70027)
    assert (
        client.post("/api/v1/positions", json={"positions": [jitter]}, headers=h).json()["accepted"]
        == 1
    )
    # 100 km in 30 s is no truck.
    jump = dict(base, ts=_ts(0.5 + 1 / 60), lat=56.60)
    body = client.post("/api/v1/positions", json={"positions": [jump]}, headers=h).json()
    assert body["errors"][0]["reason"] == "impossible_jump"
    # The track continues from the last good fix.
    nxt = dict(base, ts=_ts(1), lat=55.703)
    assert (
        client.post("/api/v1/positions", json={"positions": [nxt]}, headers=h).json()["accepted"]
        == 1
    )


def test_batch_limits(client: TestClient, world) -> None:
    h = world.headers["key_a"]
    empty = client.post("/api/v1/positions", json={"positions": []}, headers=h)
    assert empty.status_code == 422
    too_many = [{"device_id": "dev-a1", "ts": _ts(), "lat": 1, "lon": 1}] * 10_001
    response = client.post("/api/v1/positions", json={"positions": too_many}, headers=h)
    assert response.status_code in (413, 422)
    assert response.json()["error"]["code"] in ("validation_error", "payload_too_large")
    not_json = client.post(
        "/api/v1/positions", content=b"[1,2", headers={**h, "content-type": "application/json"}
    )
    assert not_json.status_code == 422


def test_only_supplier_keys_post_positions(client: TestClient, world) -> None:
    point = {"device_id": "dev-a1", "ts": _ts(), "lat": 55.7, "lon": 37.6}
    for who in ("admin", "logistician", "supplier_viewer"):
        response = client.post(
            "/api/v1/positions", json={"positions": [point]}, headers=world.headers[who]
        )
        assert response.status_code == 403
    assert client.post("/api/v1/positions", json={"positions": [point]}).status_code == 401


def test_track_is_scoped_to_owner(client: TestClient, world) -> None:
    point = {"device_id": "dev-b1", "ts": _ts(), "lat": 59.9, "lon": 30.3}
    client.post("/api/v1/positions", json={"positions": [point]}, headers=world.headers["key_b"])
    mine = client.get(
        f"/api/v1/vehicles/{world.vehicle_b.id}/positions", headers=world.headers["key_b"]
    )
    assert mine.status_code == 200 and len(mine.json()) == 1
    theirs = client.get(
        f"/api/v1/vehicles/{world.vehicle_b.id}/positions", headers=world.headers["key_a"]
    )
    missing = client.get("/api/v1/vehicles/999999/positions", headers=world.headers["key_a"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"]

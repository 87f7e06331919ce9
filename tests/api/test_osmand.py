"""OsmAnd / Traccar Client protocol, replayed exactly as the clients send it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import Position


def _latest(session: Session, vehicle_id: int) -> Position:
    rows = session.exec(select(Position).where(Position.vehicle_id == vehicle_id)).all()
    return max(rows, key=lambda p: p.device_at)


def _epoch(minutes_ago: float = 5) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes_ago)).timestamp())


def test_query_form_converts_knots(client: TestClient, world, session: Session) -> None:
    ts = _epoch()
    # Exactly what Traccar Client (Android, OsmAnd protocol) sends, plus its extras.
    params = {
        "id": "dev-a1",
        "timestamp": str(ts),
        "lat": "55.751244",
        "lon": "37.618423",
        "speed": "10.0",
        "bearing": "93.5",
        "altitude": "152.0",
        "accuracy": "7.5",
        "batt": "87.0",
        "charge": "false",
        "ignition": "true",
        "key": world.key_a,
    }
    response = client.get("/osmand", params=params)
    assert response.status_code == 200, response.text
    stored = _latest(session, world.vehicle_a.id)
    assert stored.speed_mps == pytest.approx(5.14444, abs=1e-4)  # 10 knots
    assert stored.heading == pytest.approx(93.5)
    assert stored.accuracy_m == 7.5 and stored.altitude_m == 152.0
    assert stored.device_at == datetime.fromtimestamp(ts, tz=UTC)
    assert stored.source == "osmand"
    assert stored.attributes == {"batt": "87.0", "charge": "false", "ignition": "true"}


@pytest.mark.parametrize(
    "stamp",
    ["ms", "iso", "plain", "missing"],
)
def test_timestamp_forms(client: TestClient, world, session: Session, stamp: str) -> None:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    value = {
        "ms": str(int(when.timestamp() * 1000)),
        "iso": when.isoformat().replace("+00:00", "Z"),
        "plain": when.strftime("%Y-%m-%d %H:%M:%S"),
        "missing": "",
    }[stamp]
    params = {"id": "dev-a1", "lat": "55.75", "lon": "37.61", "key": world.key_a}
    if value:
        params["timestamp"] = value
    assert client.get("/osmand", params=params).status_code == 200
    stored = _latest(session, world.vehicle_a.id)
    if stamp == "missing":
        assert abs((stored.device_at - datetime.now(UTC)).total_seconds()) < 60
    else:
        assert stored.device_at == when


def test_form_post_and_location_param_at_root(client: TestClient, world, session: Session) -> None:
    body = {
        "deviceid": "dev-a1",
        "location": "55.76,37.62",
        "timestamp": str(_epoch(3)),
        "speed": "0",
    }
    response = client.post(f"/?key={world.key_a}", data=body)
    assert response.status_code == 200, response.text
    stored = _latest(session, world.vehicle_a.id)
    assert (stored.lat, stored.lon, stored.speed_mps) == (55.76, 37.62, 0.0)


def test_traccar_client_json_uses_mps(client: TestClient, world, session: Session) -> None:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    body = {
        "location": {
            "timestamp": when.isoformat().replace("+00:00", ".000Z"),
            "coords": {
                "latitude": 55.7522,
                "longitude": 37.6156,
                "accuracy": 4.8,
                "speed": 13.9,
                "heading": -1,
                "altitude": 160.2,
            },
            "is_moving": True,
            "odometer": 12345.6,
            "event": "motionchange",
            "battery": {"level": 0.76, "is_charging": False},
            "activity": {"type": "in_vehicle"},
            "extras": {},
            "uuid": "abc",
            "mock": False,
        },
        "device_id": "dev-a1",
    }
    response = client.post("/", json=body, headers={"X-API-Key": world.key_a})
    assert response.status_code == 200, response.text
    stored = _latest(session, world.vehicle_a.id)
    assert stored.speed_mps == pytest.approx(13.9)  # m/s, not knots
    assert stored.heading is None  # -1 means unknown
    assert stored.attributes == {"battery": 0.76, "is_moving": True, "odometer": 12345.6}


def test_errors_are_clear_4xx(client: TestClient, world, session: Session) -> None:
    key = world.key_a
    no_position = client.get("/osmand", params={"id": "dev-a1", "key": key})
    assert no_position.status_code == 400 and no_position.json()["error"]["code"] == "no_position"
    no_id = client.get("/osmand", params={"lat": "1", "lon": "1", "key": key})
    assert no_id.status_code == 400 and no_id.json()["error"]["code"] == "missing_device_id"
    no_key = client.get("/osmand", params={"id": "dev-a1", "lat": "55.7", "lon": "37.6"})
    assert no_key.status_code == 401
    foreign = client.get(
        "/osmand", params={"id": "dev-b1", "lat": "55.7", "lon": "37.6", "key": key}
    )
    unknown = client.get(
        "/osmand", params={"id": "dev-q", "lat": "55.7", "lon": "37.6", "key": key}
    )
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_device"
    bad = client.get("/osmand", params={"id": "dev-a1", "lat": "abc", "lon": "37.6", "key": key})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "malformed_number"
    island = client.get("/osmand", params={"id": "dev-a1", "lat": "0", "lon": "0", "key": key})
    assert island.status_code == 422 and island.json()["error"]["code"] == "null_island"
    broken_json = client.post(
        "/", content=b"{", headers={"content-type": "application/json", "X-API-Key": key}
    )
    assert broken_json.status_code == 400
    assert session.exec(select(Position)).all() == []


def test_root_without_device_params_redirects_browsers(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/home"
    # Not signed in: the dashboard asks for a login first.
    home = client.get("/home", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith("/login")

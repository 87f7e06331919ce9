"""Importing past tracks from GPX and CSV files, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import Position

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_gpx_upload_imports_history(client: TestClient, world, session: Session) -> None:
    data = (FIXTURES / "track.gpx").read_bytes()
    response = client.post(
        f"/api/v1/vehicles/{world.vehicle_a.id}/tracks",
        files={"file": ("trip.gpx", data, "application/gpx+xml")},
        headers=world.headers["key_a"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (4, 1)
    assert body["errors"][0] == {
        "index": 3,
        "reason": "null_island",
        "message": body["errors"][0]["message"],
    }
    rows = session.exec(select(Position).where(Position.vehicle_id == world.vehicle_a.id)).all()
    assert len(rows) == 4 and {r.source for r in rows} == {"import"}
    assert {r.altitude_m for r in rows} >= {150.0, 151.0}
    again = client.post(
        f"/api/v1/vehicles/{world.vehicle_a.id}/tracks",
        files={"file": ("trip.gpx", data, "application/gpx+xml")},
        headers=world.headers["key_a"],
    ).json()
    assert again["accepted"] == 0 and again["duplicates"] == 4


def test_csv_upload_with_kmh(client: TestClient, world, session: Session) -> None:
    csv = b"time,latitude,longitude,speed_kmh\n2026-01-10T09:00:00Z,55.7,37.6,36\n1768035615,55.701,37.601,72\n"
    response = client.post(
        f"/api/v1/vehicles/{world.vehicle_a.id}/tracks",
        files={"file": ("trip.csv", csv, "text/csv")},
        headers=world.headers["admin"],
    )
    assert response.json()["accepted"] == 2
    speeds = sorted(r.speed_mps for r in session.exec(select(Position)).all())
    assert speeds == [10.0, 20.0]


def test_bad_files_are_refused_clearly(client: TestClient, world) -> None:
    url = f"/api/v1/vehicles/{world.vehicle_a.id}/tracks"
    h = world.headers["key_a"]
    no_columns = client.post(url, files={"file": ("t.csv", b"a,b\n1,2\n", "text/csv")}, headers=h)
    assert no_columns.status_code == 422 and no_columns.json()["error"]["code"] == "invalid_csv"
    broken = client.post(
        url, files={"file": ("t.gpx", b"<gpx><trk>", "application/xml")}, headers=h
    )
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_gpx"
    foreign = client.post(
        f"/api/v1/vehicles/{world.vehicle_b.id}/tracks",
        files={"file": ("t.gpx", (FIXTURES / "track.gpx").read_bytes(), "application/xml")},
        headers=h,
    )
    assert foreign.status_code == 404
    viewer = client.post(
        url,
        files={"file": ("t.gpx", b"<gpx/>", "application/xml")},
        headers=world.headers["supplier_viewer"],
    )
    assert viewer.status_code == 403

"""Planner API: arrivals forecast and staffing from booked deliveries, with what-if and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_delivery


@pytest.fixture()
def busy_site(session: Session, world):  # noqa: ANN201
    """Eight 20-pallet trucks booked into the same hour, three hours from now."""
    slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    for _ in range(8):
        make_delivery(
            session, supplier=world.supplier_a, site=world.site_a, slot_start_at=slot, pallets=20
        )
    return slot


def test_forecast_counts_booked_trucks(client: TestClient, world, busy_site) -> None:
    rows = client.get(
        f"/api/v1/sites/{world.site_a.id}/forecast",
        params={"hours": 24},
        headers=world.headers["planner"],
    ).json()
    assert len(rows) == 24
    total = sum(r["trucks"] for r in rows)
    # 8 booked + the world's own booking; the prior's no-show rate keeps it a little below.
    assert 7.5 < total <= 9.0
    peak = max(rows, key=lambda r: r["trucks"])
    assert abs(datetime.fromisoformat(peak["hour_start"]) - busy_site) <= timedelta(hours=1)
    # Counts are whole trucks: the band holds the integers, the mean may sit above P90 in quiet hours.
    assert all(
        r["trucks_p10"] <= r["trucks_p90"] and r["trucks_p10"] <= r["trucks"] + 1e-9 for r in rows
    )
    csv_text = client.get(
        f"/api/v1/sites/{world.site_a.id}/forecast",
        params={"hours": 24, "format": "csv"},
        headers=world.headers["planner"],
    ).text
    assert len(list(csv.DictReader(io.StringIO(csv_text)))) == 24


def test_staffing_and_what_if_change_the_queue(client: TestClient, world, busy_site) -> None:
    url = f"/api/v1/sites/{world.site_a.id}/staffing"
    h = world.headers["planner"]
    plan = client.get(url, params={"hours": 24}, headers=h).json()
    assert plan["shifts"] and {s["name"] for s in plan["shifts"]} <= {"day", "evening", "night"}
    recommended = max(s["crews"] for s in plan["shifts"])
    assert 1 <= recommended <= world.site_a.dock_count

    def waiting(crews: int) -> float:
        body = client.get(
            url,
            params={"hours": 24, "crews": [f"day:{crews}", f"evening:{crews}", f"night:{crews}"]},
            headers=h,
        ).json()
        assert body["what_if"]["day"] == crews
        return sum(q["mean_waiting"] for q in body["queue"])

    assert waiting(1) > waiting(2)
    bad = client.get(url, params={"crews": "lunch:2"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_crews"


def test_forecast_is_for_staff_of_the_site(client: TestClient, world) -> None:
    assert (
        client.get(
            f"/api/v1/sites/{world.site_a.id}/forecast", headers=world.headers["key_a"]
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/sites/{world.site_b.id}/forecast", headers=world.headers["planner"]
        ).status_code
        == 404
    )

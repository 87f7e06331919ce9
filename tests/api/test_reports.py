"""Plan versus fact on a small fixture whose figures were computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models import Delivery, Role
from tests.factories import bearer, make_site, make_supplier, make_user

DAY = datetime(2026, 1, 5, tzinfo=UTC)


def hm(text: str) -> datetime:
    h, m = map(int, text.split(":"))
    return DAY + timedelta(hours=h, minutes=m)


@pytest.fixture()
def fixture(session: Session, settings):  # noqa: ANN201
    site = make_site(session, code="RPT", name="Report DC")
    a = make_supplier(session, code="RA", name="Report A")
    b = make_supplier(session, code="RB", name="Report B")
    rows = [
        # supplier, slot start, status, arrived, dock start, dock end, pallets
        (a, "08:00", "completed", "08:30", "08:40", "09:10", 10),
        (a, "10:00", "completed", "11:20", "11:50", "12:10", 20),
        (a, "12:00", "completed", "11:45", "11:45", "12:15", 10),
        (a, "14:00", "no_show", None, None, None, 5),
        (a, "16:00", "cancelled", None, None, None, 5),
        (b, "09:00", "arrived", "10:40", None, None, 8),
    ]
    for n, (supplier, slot, status, arrived, start, end, pallets) in enumerate(rows):
        session.add(
            Delivery(
                site_id=site.id,
                supplier_id=supplier.id,
                external_ref=f"R{n}",
                slot_start_at=hm(slot),
                slot_end_at=hm(slot) + timedelta(hours=1),
                status=status,
                arrived_at=hm(arrived) if arrived else None,
                dock_start_at=hm(start) if start else None,
                dock_end_at=hm(end) if end else None,
                pallets=pallets,
            )
        )
    session.commit()
    planner = make_user(session, role=Role.planner, sites=[site])
    return bearer(settings.secret_key, planner)


PERIOD = {"from": "2026-01-05T00:00:00Z", "to": "2026-01-06T00:00:00Z"}


def test_by_site(client: TestClient, fixture) -> None:
    rows = client.get("/api/v1/reports/plan-vs-fact", params=PERIOD, headers=fixture).json()
    assert rows == [
        {
            "group": "site",
            "code": "RPT",
            "name": "Report DC",
            "deliveries": 5,
            "arrived": 4,
            "on_time_rate": 0.5,  # lateness 0, 20, -15, 40 → two on time
            "mean_lateness_min": 11.25,  # 45 / 4
            "p90_lateness_min": 34.0,  # sorted -15 0 20 40; rank 2.7 → 20 + 0.7 × 20
            "no_show_rate": 0.2,  # 1 of 5 decided
            "mean_yard_wait_min": 13.33,  # waits 10, 30, 0
            "unloading_min_per_pallet": 2.0,  # 80 min / 40 pallets
        }
    ]


def test_by_supplier_and_csv(client: TestClient, fixture) -> None:
    rows = client.get(
        "/api/v1/reports/plan-vs-fact", params={**PERIOD, "group_by": "supplier"}, headers=fixture
    ).json()
    by_code = {r["code"]: r for r in rows}
    assert by_code["RA"]["on_time_rate"] == 0.6667
    assert by_code["RA"]["mean_lateness_min"] == 1.67
    assert by_code["RA"]["p90_lateness_min"] == 16.0
    assert by_code["RA"]["no_show_rate"] == 0.25
    assert by_code["RB"]["on_time_rate"] == 0.0 and by_code["RB"]["mean_yard_wait_min"] is None
    response = client.get(
        "/api/v1/reports/plan-vs-fact",
        params={**PERIOD, "group_by": "supplier", "format": "csv"},
        headers=fixture,
    )
    assert response.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["code"] for r in parsed] == ["RA", "RB"]
    assert parsed[0]["p90_lateness_min"] == "16.0" and parsed[1]["mean_yard_wait_min"] == ""


def test_scope_and_bad_period(client: TestClient, fixture, world) -> None:
    # The world's logistician is assigned to another site: nothing of this one shows.
    assert (
        client.get(
            "/api/v1/reports/plan-vs-fact", params=PERIOD, headers=world.headers["logistician"]
        ).json()
        == []
    )
    bad = client.get(
        "/api/v1/reports/plan-vs-fact",
        params={"from": PERIOD["to"], "to": PERIOD["from"]},
        headers=fixture,
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_period"

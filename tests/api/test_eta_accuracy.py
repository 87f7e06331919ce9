"""ETA accuracy after arrival, per site and per supplier, scoped to the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import DeliveryStatus, EtaPrediction


def _arrive_with_predictions(
    session: Session, delivery, arrived: datetime, errors_min: list[tuple[int, int]]
) -> None:
    """errors_min: (minutes before arrival the ETA was served, minutes it was off by)."""
    delivery.status, delivery.arrived_at = DeliveryStatus.arrived, arrived
    session.add(delivery)
    for before, off in errors_min:
        at = arrived - timedelta(minutes=before)
        p50 = arrived + timedelta(minutes=off)
        session.add(
            EtaPrediction(
                delivery_id=delivery.id,
                predicted_at=at,
                eta_p10_at=p50 - timedelta(minutes=5),
                eta_p50_at=p50,
                eta_p90_at=p50 + timedelta(minutes=5),
                model_version="hgb-test",
            )
        )
    session.commit()


def test_accuracy_by_site_and_horizon_with_scoping(
    client: TestClient, world, session: Session
) -> None:
    arrived = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    _arrive_with_predictions(session, world.delivery_a, arrived, [(10, 2), (20, -4), (90, 30)])
    _arrive_with_predictions(session, world.delivery_b, arrived, [(10, 50)])

    reply = client.get("/api/v1/eta/accuracy", headers=world.headers["admin"])
    assert reply.status_code == 200, reply.text
    rows = {r["code"]: r for r in reply.json()}
    a = rows["SITE-A"]
    assert a["all"]["n"] == 3 and a["all"]["mae_min"] == 12.0  # (2 + 4 + 30) / 3
    assert a["by_horizon"]["0-15"]["mae_min"] == 2.0
    assert a["by_horizon"]["15-30"]["mae_min"] == 4.0
    assert a["by_horizon"]["60-120"]["mae_min"] == 30.0
    assert a["all"]["coverage_p10_p90"] == round(2 / 3, 3)  # the 30-min miss is outside its band
    assert rows["SITE-B"]["all"]["mae_min"] == 50.0

    # A supplier sees only its own deliveries, grouped by supplier.
    mine = client.get(
        "/api/v1/eta/accuracy?group_by=supplier", headers=world.headers["supplier_viewer"]
    )
    assert [r["code"] for r in mine.json()] == ["SUP-A"]
    # The logistician of site A does not learn about site B.
    logi = client.get("/api/v1/eta/accuracy", headers=world.headers["logistician"])
    assert [r["code"] for r in logi.json()] == ["SITE-A"]
    # Arrivals outside the period are left out; a bad period is refused.
    old = client.get(
        "/api/v1/eta/accuracy",
        params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"},
        headers=world.headers["admin"],
    )
    assert old.json() == []
    bad = client.get(
        "/api/v1/eta/accuracy",
        params={"from": "2020-01-02T00:00:00Z", "to": "2020-01-01T00:00:00Z"},
        headers=world.headers["admin"],
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_period"

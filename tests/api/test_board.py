"""Board endpoints: one call per screen, with the latest ETA, risk, reasons, yard and docks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from models import Alert, DeliveryStatus, EtaPrediction
from tests.factories import make_delivery, make_vehicle


def test_site_board_shows_latest_eta_risk_reasons_and_yard(
    client: TestClient, world, session: Session
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    a = world.delivery_a
    a.slot_start_at, a.slot_end_at = now + timedelta(minutes=30), now + timedelta(minutes=90)
    a.status = DeliveryStatus.en_route
    session.add(a)
    for minutes_ago, p50_in in ((10, 60), (1, 120)):  # the newer one says: late
        session.add(
            EtaPrediction(
                delivery_id=a.id,
                predicted_at=now - timedelta(minutes=minutes_ago),
                eta_p10_at=now + timedelta(minutes=p50_in - 10),
                eta_p50_at=now + timedelta(minutes=p50_in),
                eta_p90_at=now + timedelta(minutes=p50_in + 20),
                remaining_m=5000.0,
                model_version="physics-0",
            )
        )
    session.add(Alert(site_id=world.site_a.id, delivery_id=a.id, reason="vehicle_late"))
    yard = make_delivery(
        session,
        supplier=world.supplier_a,
        site=world.site_a,
        vehicle=make_vehicle(session, supplier=world.supplier_a),
        slot_start_at=now - timedelta(minutes=10),
    )
    yard.status, yard.arrived_at = DeliveryStatus.arrived, now - timedelta(minutes=12)
    session.add(yard)
    session.commit()

    reply = client.get(
        f"/api/v1/sites/{world.site_a.id}/board", headers=world.headers["logistician"]
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    rows = {r["delivery_id"]: r for r in body["deliveries"]}
    assert set(rows) == {a.id, yard.id}  # site B's delivery is not on site A's board
    row = rows[a.id]
    assert row["supplier"] == "Supplier A" and row["plate"] == "A-001"
    assert row["eta_p50_at"].startswith((now + timedelta(minutes=120)).isoformat()[:16])
    assert row["risk"] == "late" and row["minutes_late"] == 30.0
    assert [r["reason"] for r in row["reasons"]] == ["vehicle_late"]
    assert rows[yard.id]["waiting_min"] >= 12 and rows[yard.id]["eta_p50_at"] is None
    assert [y["delivery_id"] for y in body["yard"]] == [yard.id]
    assert len(body["docks"]) == world.site_a.dock_count
    assert body["counts"]["late"] == 1 and body["counts"]["arrived"] == 1


def test_site_board_is_for_the_sites_staff(client: TestClient, world) -> None:
    path_a = f"/api/v1/sites/{world.site_a.id}/board"
    assert client.get(path_a, headers=world.headers["supplier_viewer"]).status_code == 403
    assert client.get(path_a, headers=world.headers["key_a"]).status_code == 403
    # The logistician works at site A only: site B answers like a missing site.
    other = client.get(
        f"/api/v1/sites/{world.site_b.id}/board", headers=world.headers["logistician"]
    )
    assert other.status_code == 404 and other.json()["error"]["code"] == "site_not_found"


def test_my_board_holds_only_the_callers_deliveries(client: TestClient, world) -> None:
    for who, mine, theirs in (
        ("supplier_viewer", world.delivery_a.id, world.delivery_b.id),
        ("key_b", world.delivery_b.id, world.delivery_a.id),
        ("logistician", world.delivery_a.id, world.delivery_b.id),
    ):
        reply = client.get("/api/v1/board", headers=world.headers[who])
        assert reply.status_code == 200, reply.text
        ids = {r["delivery_id"] for r in reply.json()}
        assert mine in ids and theirs not in ids, who


def test_eta_history_is_scoped_and_ordered(client: TestClient, world, session: Session) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for k in range(3):
        session.add(
            EtaPrediction(
                delivery_id=world.delivery_a.id,
                predicted_at=now - timedelta(minutes=k),
                eta_p10_at=now,
                eta_p50_at=now + timedelta(minutes=k),
                eta_p90_at=now + timedelta(hours=1),
                model_version="physics-0",
            )
        )
    session.commit()
    path = f"/api/v1/deliveries/{world.delivery_a.id}/eta-history"
    reply = client.get(path, headers=world.headers["supplier_viewer"])
    times = [p["predicted_at"] for p in reply.json()]
    assert reply.status_code == 200 and len(times) == 3 and times == sorted(times)
    assert client.get(path, headers=world.headers["key_b"]).status_code == 404

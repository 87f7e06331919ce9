"""Site-wide `unloading_queue` from the arrivals forecast: opens when bunched arrivals will
outrun the docks, says which hour and how many trucks, and resolves when the load goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from app.services.alerts import evaluate_site_queues
from models import Alert, DeliveryStatus
from tests.factories import make_delivery, make_site, make_supplier


def _site_alerts(session: Session, site_id: int) -> list[Alert]:
    return list(
        session.exec(
            select(Alert).where(Alert.site_id == site_id, col(Alert.delivery_id).is_(None))
        ).all()
    )


def test_bunched_bookings_open_a_forecast_queue_alert_and_cancelling_resolves_it(
    session: Session,
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    busy = make_site(session, code="Q-BUSY", dock_count=1)
    busy.unloading_rate_pph = 30.0  # one dock: 30 pallets an hour
    session.add(busy)
    quiet = make_site(session, code="Q-QUIET", dock_count=4)
    supplier = make_supplier(session)
    bunched = [
        make_delivery(
            session, supplier=supplier, site=busy, slot_start_at=now, slot_minutes=60, pallets=20
        )
        for _ in range(6)  # 120 pallets due in one hour at a 30-pallet-an-hour dock
    ]
    make_delivery(session, supplier=supplier, site=quiet, slot_start_at=now, pallets=10)

    counts = evaluate_site_queues(session, now=now - timedelta(minutes=30))
    assert counts["opened"] == 1
    (alert,) = _site_alerts(session, busy.id)
    assert alert.reason == "unloading_queue" and alert.state == "open"
    assert alert.details["kind"] == "forecast_capacity"
    assert alert.details["expected_wait_min"] > busy.target_wait_min
    assert "exceed dock capacity" in alert.message
    assert _site_alerts(session, quiet.id) == []

    # Asked again, the same alert stays open: no duplicate.
    assert evaluate_site_queues(session, now=now - timedelta(minutes=29))["opened"] == 0
    for delivery in bunched[1:]:
        delivery.status = DeliveryStatus.cancelled
        session.add(delivery)
    bunched[0].pallets = 5  # what is left: one small drop
    session.add(bunched[0])
    session.commit()
    counts = evaluate_site_queues(session, now=now - timedelta(minutes=28))
    assert counts["resolved"] == 1
    (alert,) = _site_alerts(session, busy.id)
    assert alert.state == "resolved" and alert.resolved_at is not None

"""Monthly partitions (PostgreSQL) and pruning of positions past retention (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from app.services.ingest_writer import write_in
from app.services.retention import ensure_partitions, is_partitioned, prune_positions
from models import Position
from tests.factories import make_supplier, make_vehicle, position_row

# Far from the real clock, so the app's own start-up partitions never overlap these.
NOW = datetime(2031, 11, 22, 12, tzinfo=UTC)


def test_partitions_then_prune(session: Session) -> None:
    conn = session.connection()
    created = ensure_partitions(conn, now=NOW, retention_days=40)
    if is_partitioned(conn):
        assert created == [
            "position_p2031_10",
            "position_p2031_11",
            "position_p2031_12",
            "position_p2032_01",
        ]
        assert ensure_partitions(conn, now=NOW, retention_days=40) == []
    else:
        assert created == []
    vehicle = make_vehicle(session, supplier=make_supplier(session))
    old, recent = NOW - timedelta(days=75), NOW - timedelta(days=2)
    write_in(conn, [position_row(vehicle.id, old), position_row(vehicle.id, recent)])
    removed = prune_positions(conn, now=NOW, retention_days=40)
    assert removed == 1
    left = session.exec(select(Position.device_at).where(Position.vehicle_id == vehicle.id)).all()
    assert left == [recent]
    assert session.exec(select(func.count()).select_from(Position)).one() == 1

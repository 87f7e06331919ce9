"""Position storage upkeep: monthly PostgreSQL partitions ahead of time, and retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, text

from models import Position

log = logging.getLogger(__name__)

PARTITION_PREFIX = "position_p"


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(moment: datetime) -> datetime:
    return (moment + timedelta(days=32)).replace(day=1)


def partition_name(month: datetime) -> str:
    return f"{PARTITION_PREFIX}{month:%Y_%m}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    row = conn.execute(
        text("SELECT c.relkind FROM pg_class c WHERE c.relname = 'position' AND c.relkind = 'p'")
    ).first()
    return row is not None


def ensure_partitions(
    conn: Connection, *, now: datetime, retention_days: int, months_ahead: int = 2
) -> list[str]:
    """Create the monthly partitions covering the retention window and the months ahead."""
    if not is_partitioned(conn):
        return []
    created = []
    month = _month_start(now - timedelta(days=retention_days))
    end = _month_start(now)
    for _ in range(months_ahead):
        end = _next_month(end)
    while month <= end:
        name = partition_name(month)
        upper = _next_month(month)
        exists = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        text(
                            f'CREATE TABLE "{name}" PARTITION OF position '
                            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
                        )
                    )
                created.append(name)
            except Exception:  # rows for that month already sit in the default partition
                log.warning("could not create partition %s; rows stay in the default", name)
        month = upper
    return created


def prune_positions(conn: Connection, *, now: datetime, retention_days: int) -> int:
    """Drop positions older than the retention window; whole partitions where possible."""
    cutoff = now - timedelta(days=retention_days)
    dropped = 0
    if is_partitioned(conn):
        names = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'position'"
            )
        ).scalars()
        for name in list(names):
            if not name.startswith(PARTITION_PREFIX) or name == f"{PARTITION_PREFIX}default":
                continue
            month = datetime.strptime(name[len(PARTITION_PREFIX) :], "%Y_%m").replace(tzinfo=UTC)
            if _next_month(month) <= cutoff:
                count = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() or 0
                conn.execute(text(f'DROP TABLE "{name}"'))
                dropped += int(count)
    result = conn.execute(delete(Position).where(Position.device_at < cutoff))  # type: ignore[arg-type]
    return dropped + (result.rowcount or 0)

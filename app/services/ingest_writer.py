"""Durable position writes with group commit: many requests, one transaction, each waits.

A request is answered only after the transaction holding its rows has committed, so a 2xx
always means the points are on disk. Throughput comes from sharing commits, never from
acknowledging early.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, or_, update
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from models import Position, Vehicle

log = logging.getLogger(__name__)

Key = tuple[int, datetime]
_position = Position.__table__  # type: ignore[attr-defined]
_vehicle = Vehicle.__table__  # type: ignore[attr-defined]


_COLUMNS = (
    "vehicle_id",
    "device_at",
    "received_at",
    "lat",
    "lon",
    "speed_mps",
    "heading",
    "accuracy_m",
    "altitude_m",
    "source",
    "attributes",
)


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> set[Key]:
    """Insert, skipping rows already stored; return the keys that were new."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        return _insert_rows_pg(conn, rows)
    stmt = (
        sqlite.insert(_position)
        .on_conflict_do_nothing(index_elements=["vehicle_id", "device_at"])
        .returning(_position.c.vehicle_id, _position.c.device_at)
    )
    inserted: set[Key] = set()
    # SQLAlchemy batches this into multi-row INSERT … RETURNING statements.
    for row in conn.execute(stmt, rows):
        inserted.add((row[0], row[1]))
    return inserted


def _insert_rows_pg(conn: Connection, rows: list[dict[str, Any]]) -> set[Key]:
    # COPY into a session-local staging table, then one INSERT … SELECT: the fastest bulk path
    # PostgreSQL offers that still skips duplicates and reports which rows were new.
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        # Not remembered per connection: a rolled-back transaction takes the table with it.
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS position_in "
            "(LIKE position INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        columns = ", ".join(_COLUMNS)
        with cur.copy(f"COPY position_in ({columns}) FROM STDIN") as copy:
            for row in rows:
                attributes = row["attributes"]
                copy.write_row(
                    (
                        row["vehicle_id"],
                        row["device_at"],
                        row["received_at"],
                        row["lat"],
                        row["lon"],
                        row["speed_mps"],
                        row["heading"],
                        row["accuracy_m"],
                        row["altitude_m"],
                        row["source"],
                        orjson.dumps(attributes).decode() if attributes is not None else None,
                    )
                )
        cur.execute(
            f"INSERT INTO position ({columns}) SELECT DISTINCT ON (vehicle_id, device_at) "
            f"{columns} FROM position_in ON CONFLICT DO NOTHING RETURNING vehicle_id, device_at"
        )
        inserted = {(r[0], r[1]) for r in cur.fetchall()}
        cur.execute("TRUNCATE position_in")
    return inserted


def update_last_fix(conn: Connection, rows: list[dict[str, Any]], inserted: set[Key]) -> None:
    """Move each vehicle's denormalised latest fix forward (never backwards)."""
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        if (row["vehicle_id"], row["device_at"]) not in inserted:
            continue
        current = latest.get(row["vehicle_id"])
        if current is None or row["device_at"] > current["device_at"]:
            latest[row["vehicle_id"]] = row
    if not latest:
        return
    # Sorted ids give every process the same locking order, so two writers cannot deadlock.
    params = [
        {
            "vid": vehicle_id,
            "at": latest[vehicle_id]["device_at"],
            "lat": latest[vehicle_id]["lat"],
            "lon": latest[vehicle_id]["lon"],
            "speed": latest[vehicle_id]["speed_mps"],
            "heading": latest[vehicle_id]["heading"],
        }
        for vehicle_id in sorted(latest)
    ]
    conn.execute(_UPDATE_LAST_FIX, params)


_UPDATE_LAST_FIX = (
    update(_vehicle)
    .where(
        and_(
            _vehicle.c.id == bindparam("vid"),
            or_(_vehicle.c.last_fix_at.is_(None), _vehicle.c.last_fix_at < bindparam("at")),
        )
    )
    .values(
        last_fix_at=bindparam("at"),
        last_lat=bindparam("lat"),
        last_lon=bindparam("lon"),
        last_speed_mps=bindparam("speed"),
        last_heading=bindparam("heading"),
    )
)


def write_in(conn: Connection, rows: list[dict[str, Any]]) -> set[Key]:
    inserted = insert_rows(conn, rows)
    update_last_fix(conn, rows, inserted)
    return inserted


class PositionWriter(Protocol):
    async def write(self, rows: list[dict[str, Any]]) -> list[bool]:
        """Store rows durably; per row, True if new and False if already stored."""
        ...


class SessionWriter:
    """Writes through a given session (tests, CLI import): one request, one commit."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def write_sync(self, rows: list[dict[str, Any]]) -> list[bool]:
        inserted = write_in(self.session.connection(), rows)
        self.session.commit()
        return _claim([rows], inserted)[0]

    async def write(self, rows: list[dict[str, Any]]) -> list[bool]:
        return self.write_sync(rows)


def _claim(groups: list[list[dict[str, Any]]], inserted: set[Key]) -> list[list[bool]]:
    """Per request, which rows it inserted; the first request holding a key gets the credit."""
    claimed: set[Key] = set()
    results = []
    for rows in groups:
        flags = []
        for row in rows:
            key = (row["vehicle_id"], row["device_at"])
            new = key in inserted and key not in claimed
            if new:
                claimed.add(key)
            flags.append(new)
        results.append(flags)
    return results


class _Request:
    __slots__ = ("rows", "future")

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.future: Future[list[bool]] = Future()


class GroupCommitWriter:
    """One writer thread per process; requests queue up and share the next commit."""

    def __init__(self, engine: Engine, *, max_group_rows: int = 20_000) -> None:
        self.engine = engine
        self.max_group_rows = max_group_rows
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="position-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, rows: list[dict[str, Any]]) -> Future[list[bool]]:
        request = _Request(rows)
        if not rows:
            request.future.set_result([])
            return request.future
        if self._thread is None:
            raise RuntimeError("the position writer is not running")
        self._queue.put(request)
        return request.future

    async def write(self, rows: list[dict[str, Any]]) -> list[bool]:
        return await asyncio.wrap_future(self.submit(rows))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            size = len(first.rows)
            # Everything that queued while the previous commit ran joins this one.
            while size < self.max_group_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
                size += len(nxt.rows)
            self._commit_group(group)

    def _commit_group(self, group: list[_Request]) -> None:
        try:
            all_rows = [row for request in group for row in request.rows]
            with self.engine.begin() as conn:
                inserted = write_in(conn, all_rows)
        except Exception:
            if len(group) == 1:
                log.exception("position write failed")
                group[0].future.set_exception(RuntimeError("position write failed"))
                return
            # Isolate the request that broke the shared transaction; the others still land.
            for request in group:
                self._commit_group([request])
            return
        for request, flags in zip(group, _claim([r.rows for r in group], inserted), strict=True):
            request.future.set_result(flags)

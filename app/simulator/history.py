"""History mode: weeks of simulated, completed trips written straight into the database.

Positions go in bulk (executemany on SQLite, COPY on PostgreSQL), deduplicated per (vehicle,
device time) and screened like the ingestion API screens jumps, so the stored history looks
like what the API would have kept. Deliveries are written completed (or no-show) with their
timestamps and events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, func, insert, update
from sqlmodel import Session, col, select

from app.services.retention import ensure_partitions
from app.simulator.fleet import (
    DeliveryRecord,
    FleetSim,
    Happening,
    SimConfig,
    SiteSpec,
    SupplierSpec,
    VehicleSpec,
    World,
    supplier_spec,
)
from app.simulator.gps import Observed
from app.simulator.traffic import DAY_S, utc_offset_s
from models import (
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    Dock,
    Position,
    Site,
    Supplier,
    Vehicle,
    utcnow,
)

SOURCE = "sim"
# As the ingestion API: a jump is impossible beyond this distance and implied speed.
JUMP_MIN_M = 500.0
JUMP_MAX_MPS = 70.0
# Planning stops this long before the end, so the last trips finish inside the window.
WIND_DOWN_S = 4 * 3600.0
SIM_SUPPLIER_VEHICLES = 5

_position = Position.__table__  # type: ignore[attr-defined]
_delivery = Delivery.__table__  # type: ignore[attr-defined]
_event = DeliveryEvent.__table__  # type: ignore[attr-defined]
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
    "source",
)


class HistoryConflict(RuntimeError):
    """The chosen vehicles already have positions inside the window."""


@dataclass
class HistoryStats:
    positions: int = 0
    deliveries: int = 0
    completed: int = 0
    no_shows: int = 0
    events: int = 0
    simulated_s: float = 0.0
    mean_wait_min: float = 0.0
    on_time_share: float = 0.0
    _waits: list[float] = field(default_factory=list, repr=False)
    _on_time: list[bool] = field(default_factory=list, repr=False)


# --- the world from the database ------------------------------------------------------------


def open_hours(shifts: Sequence[dict[str, str]]) -> tuple[tuple[float, float], ...]:
    """Shift windows as local hours; () when together they cover the whole day."""
    spans = []
    total = 0.0
    for shift in shifts:
        start = _hours(shift["start"])
        end = _hours(shift["end"])
        spans.append((start, end))
        total += (end - start) % 24 or 24
    return () if total >= 24 else tuple(spans)


def _hours(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) + int(m) / 60.0


def site_spec(site: Site) -> SiteSpec:
    assert site.id is not None
    return SiteSpec(
        key=site.id,
        code=site.code,
        kind=str(site.kind),
        lat=site.lat,
        lon=site.lon,
        radius_m=site.geofence_radius_m,
        dock_count=site.dock_count,
        unloading_rate_pph=site.unloading_rate_pph,
        open_hours=open_hours(site.shifts),
    )


def build_world(
    sites: Sequence[SiteSpec],
    suppliers: Sequence[tuple[int, str]],
    vehicles: Sequence[VehicleSpec],
    *,
    timezone: str,
    seed: int,
    config: SimConfig | None = None,
    at: datetime | None = None,
) -> World:
    """Sites and fleet as the simulator needs them; depots and punctuality come from the seed."""
    config = config or SimConfig()
    centre = (
        float(np.mean([s.lat for s in sites])),
        float(np.mean([s.lon for s in sites])),
    )
    specs: list[SupplierSpec] = [
        supplier_spec(
            key=key,
            code=code,
            seed=seed,
            centre=centre,
            depot_radius_m=config.network.radius_m,
        )
        for key, code in suppliers
    ]
    return World(
        sites=tuple(sites),
        suppliers=tuple(specs),
        vehicles=tuple(vehicles),
        timezone=timezone,
        utc_offset_s=utc_offset_s(timezone, at),
    )


def load_world(
    session: Session,
    *,
    vehicles: int,
    seed: int,
    config: SimConfig | None = None,
    at: datetime | None = None,
) -> World:
    """The sites and the first `vehicles` active vehicles; simulated suppliers fill any gap."""
    sites = list(session.exec(select(Site).order_by(col(Site.id))).all())
    if not sites:
        raise ValueError("no sites in the database: create some first (or run `inbound demo`)")
    chosen = list(
        session.exec(
            select(Vehicle)
            .where(col(Vehicle.is_active).is_(True))
            .order_by(col(Vehicle.id))
            .limit(vehicles)
        ).all()
    )
    number = 0
    while len(chosen) < vehicles:
        number += 1
        code = f"SIM{number}"
        supplier = session.exec(select(Supplier).where(Supplier.code == code)).first()
        if supplier is None:
            supplier = Supplier(code=code, name=f"Simulated supplier {number}")
            session.add(supplier)
            session.flush()
        assert supplier.id is not None
        taken = {v.id for v in chosen}
        for n in range(1, SIM_SUPPLIER_VEHICLES + 1):
            if len(chosen) >= vehicles:
                break
            device = f"sim{number}-{n}"
            vehicle = session.exec(
                select(Vehicle).where(
                    Vehicle.supplier_id == supplier.id, Vehicle.device_id == device
                )
            ).first()
            if vehicle is None:
                vehicle = Vehicle(
                    supplier_id=supplier.id, plate=f"SIM{number}-{n:02d}", device_id=device
                )
                session.add(vehicle)
                session.flush()
            if vehicle.id not in taken:
                chosen.append(vehicle)
    session.commit()
    supplier_ids = sorted({v.supplier_id for v in chosen})
    codes = {
        s.id: s.code
        for s in session.exec(select(Supplier).where(col(Supplier.id).in_(supplier_ids))).all()
    }
    return build_world(
        [site_spec(s) for s in sites],
        [(sid, codes[sid]) for sid in supplier_ids],
        [VehicleSpec(v.id, v.supplier_id, v.device_id) for v in chosen if v.id is not None],
        timezone=sites[0].timezone,
        seed=seed,
        config=config,
        at=at,
    )


# --- writing ------------------------------------------------------------------------------


def _ts(t: np.ndarray, *, sqlite: bool) -> list[str]:
    """Epoch seconds as the text each database reads back as UTC."""
    text = np.datetime_as_string(np.round(t * 1e6).astype("datetime64[us]"), unit="us")
    if sqlite:  # SQLAlchemy's SQLite DateTime layout, naive UTC
        return [s.replace("T", " ") for s in text.tolist()]
    return [f"{s}+00" for s in text.tolist()]


def _at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def _screen(fixes: Observed, end_t: float) -> Observed:
    """One row per device time, inside the window, without the jumps the API would refuse."""
    fixes = fixes.take(fixes.t <= end_t)
    if len(fixes) == 0:
        return fixes
    _, first = np.unique(fixes.t, return_index=True)
    fixes = fixes.take(np.sort(first))
    order = np.argsort(fixes.t, kind="stable")
    fixes = fixes.take(order)
    bad = np.flatnonzero(fixes.bad)
    if bad.size:
        keep = np.ones(len(fixes), dtype=bool)
        for i in bad[bad > 0].tolist():
            dt = max(float(fixes.t[i] - fixes.t[i - 1]), 1.0)
            d = _metres(fixes.lat[i - 1], fixes.lon[i - 1], fixes.lat[i], fixes.lon[i])
            if d > JUMP_MIN_M and d > JUMP_MAX_MPS * dt:
                keep[i] = False
        fixes = fixes.take(keep)
    return fixes


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    ky = 111_195.0
    kx = ky * math.cos(math.radians(lat1))
    return math.hypot((lat2 - lat1) * ky, (lon2 - lon1) * kx)


class _Writer:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.last_fix: dict[int, tuple[float, float, float, float, float]] = {}

    def positions(self, chunks: list[tuple[int, Observed]]) -> int:
        if not chunks:
            return 0
        vid = np.concatenate([np.full(len(o), v, dtype=np.int64) for v, o in chunks])
        obs = Observed.concat([o for _, o in chunks])
        for v, o in chunks:
            i = int(np.argmax(o.t))
            prev = self.last_fix.get(v)
            if prev is None or o.t[i] > prev[0]:
                self.last_fix[v] = (
                    float(o.t[i]),
                    float(o.lat[i]),
                    float(o.lon[i]),
                    float(o.speed[i]),
                    float(o.heading[i]),
                )
        device_at = _ts(obs.t, sqlite=self.sqlite)
        received_at = _ts(np.maximum(obs.send_t, obs.t), sqlite=self.sqlite)
        headings = [None if math.isnan(h) else round(h, 1) for h in obs.heading.tolist()]
        rows: list[tuple[object, ...]] = list(
            zip(
                vid.tolist(),
                device_at,
                received_at,
                np.round(obs.lat, 7).tolist(),
                np.round(obs.lon, 7).tolist(),
                np.round(obs.speed, 2).tolist(),
                headings,
                obs.accuracy.tolist(),
                [SOURCE] * len(obs),
                strict=True,
            )
        )
        if self.sqlite:
            marks = ", ".join("?" * len(_COLUMNS))
            self.conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO position ({', '.join(_COLUMNS)}) VALUES ({marks})",
                rows,
            )
        else:
            driver = self.conn.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cur:
                with cur.copy(f"COPY position ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        return len(rows)

    def last_fixes(self) -> None:
        for vid, (t, lat, lon, speed, heading) in self.last_fix.items():
            at = _at(t)
            self.conn.execute(
                update(_vehicle)
                .where(_vehicle.c.id == vid)
                .where((_vehicle.c.last_fix_at.is_(None)) | (_vehicle.c.last_fix_at < at))
                .values(
                    last_fix_at=at,
                    last_lat=lat,
                    last_lon=lon,
                    last_speed_mps=speed,
                    last_heading=None if math.isnan(heading) else heading,
                )
            )

    def deliveries(self, records: list[DeliveryRecord], docks: dict[int, list[int]]) -> int:
        if not records:
            return 0
        now = utcnow()
        rows = []
        for r in records:
            visit = r.visit if r.status == "completed" else None
            rows.append(
                {
                    "site_id": r.site_key,
                    "vehicle_id": r.vehicle_key,
                    "supplier_id": r.supplier_key,
                    "external_ref": r.ref,
                    "slot_start_at": _at(r.slot_start_t),
                    "slot_end_at": _at(r.slot_end_t),
                    "pallets": r.pallets,
                    "notes": "simulated",
                    "status": (
                        DeliveryStatus.completed if visit is not None else DeliveryStatus.no_show
                    ),
                    "dock_id": docks[r.site_key][visit.dock] if visit is not None else None,
                    "departed_at": _at(r.departed_t) if visit is not None else None,
                    "arrived_at": _at(r.arrived_t or r.reached_t) if visit is not None else None,
                    "dock_start_at": _at(visit.dock_start_t) if visit is not None else None,
                    "dock_end_at": _at(visit.dock_end_t) if visit is not None else None,
                    "left_at": _at(r.left_t) if visit is not None else None,
                    "created_at": _at(r.booked_t),
                    "updated_at": now,
                }
            )
        ids = self.conn.execute(
            insert(_delivery).returning(_delivery.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        events = []
        for delivery_id, row in zip(ids, rows, strict=True):
            events.extend(_events(delivery_id, row))
        # Split so that events without details store SQL NULL rather than JSON null.
        for group in (
            [e for e in events if e["details"] is not None],
            [
                {k: v for k, v in e.items() if k != "details"}
                for e in events
                if e["details"] is None
            ],
        ):
            if group:
                self.conn.execute(insert(_event), group)
        return len(events)


def _events(delivery_id: int, row: dict[str, object]) -> list[dict[str, object]]:
    def event(kind: str, at: object, source: str, before: str | None, after: str | None) -> dict:
        details = {"dock_id": row["dock_id"]} if kind == "dock_assigned" else None
        return {
            "delivery_id": delivery_id,
            "kind": kind,
            "from_status": before,
            "to_status": after,
            "at": at,
            "recorded_at": at,
            "source": source,
            "details": details,
        }

    if row["status"] == DeliveryStatus.no_show:
        at = row["slot_end_at"]
        return [event("no_show", at, "user", "planned", "no_show")]
    out = []
    if row["departed_at"] is not None:
        out.append(event("en_route", row["departed_at"], "gps", "planned", "en_route"))
    before = "en_route" if row["departed_at"] is not None else "planned"
    out += [
        event("arrived", row["arrived_at"], "gps", before, "arrived"),
        event("dock_assigned", row["dock_start_at"], "user", None, None),
        event("unloading", row["dock_start_at"], "user", "arrived", "unloading"),
        event("completed", row["dock_end_at"], "user", "unloading", "completed"),
    ]
    if row["left_at"] is not None:
        out.append(event("left", row["left_at"], "gps", None, None))
    return out


def run_history(
    session: Session,
    *,
    world: World,
    seed: int,
    start: datetime,
    end: datetime,
    config: SimConfig | None = None,
    on_progress: Callable[[float, HistoryStats], None] | None = None,
) -> HistoryStats:
    """Simulate [start, end) and store it; commits once per simulated day."""
    conn = session.connection()
    vehicle_ids = [v.key for v in world.vehicles]
    clash = session.exec(
        select(func.count())
        .select_from(Position)
        .where(col(Position.vehicle_id).in_(vehicle_ids))
        .where(Position.device_at >= start, Position.device_at <= end)
    ).one()
    if clash:
        raise HistoryConflict(
            f"these vehicles already have {clash} positions between {start:%Y-%m-%d %H:%M} and "
            f"{end:%Y-%m-%d %H:%M} UTC; use a fresh database or an earlier window"
        )
    ensure_partitions(
        conn, now=end, retention_days=math.ceil((end - start) / timedelta(days=1)) + 1
    )
    docks: dict[int, list[int]] = {}
    for dock in session.exec(select(Dock).order_by(col(Dock.id))).all():
        assert dock.id is not None
        docks.setdefault(dock.site_id, []).append(dock.id)
    for site in world.sites:
        if len(docks.get(site.key, [])) < site.dock_count:
            raise ValueError(f"site {site.code} has fewer docks than its dock_count")
    start_t, end_t = start.timestamp(), end.timestamp()
    sim = FleetSim(
        world, seed=seed, start_t=start_t, stop_planning_t=end_t - WIND_DOWN_S, config=config
    )
    writer = _Writer(conn)
    stats = HistoryStats()
    moment = start_t
    while moment < end_t:
        moment = min(moment + DAY_S, end_t)
        happenings = sim.advance(moment)
        _store(writer, happenings, docks, end_t, stats)
        session.commit()
        conn = session.connection()
        writer.conn = conn
        stats.simulated_s = moment - start_t
        if on_progress is not None:
            on_progress(stats.simulated_s, stats)
    writer.last_fixes()
    session.commit()
    if stats._waits:
        stats.mean_wait_min = float(np.mean(stats._waits)) / 60.0
        stats.on_time_share = float(np.mean(stats._on_time))
    return stats


def _store(
    writer: _Writer,
    happenings: list[Happening],
    docks: dict[int, list[int]],
    end_t: float,
    stats: HistoryStats,
) -> None:
    chunks: list[tuple[int, Observed]] = []
    finished: list[DeliveryRecord] = []
    for h in happenings:
        if h.kind == "fixes" and h.fixes is not None:
            screened = _screen(h.fixes, end_t)
            if len(screened):
                chunks.append((h.vehicle.key, screened))
        elif h.kind in ("left", "no_show") and h.delivery is not None:
            record = h.delivery
            if h.kind == "left" and record.left_t is not None and record.left_t > end_t:
                continue
            finished.append(record)
            if h.kind == "no_show":
                stats.no_shows += 1
            else:
                stats.completed += 1
                assert record.visit is not None
                stats._waits.append(record.visit.wait_s)
                arrived = record.arrived_t or record.reached_t or 0.0
                stats._on_time.append(arrived <= record.slot_end_t)
    stats.positions += writer.positions(chunks)
    stats.deliveries += len(finished)
    stats.events += writer.deliveries(finished, docks)

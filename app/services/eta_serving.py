"""Serving ETAs and slot risk for deliveries, and logging every ETA served.

ETAs come from the active trained model (see eta_training) for trucks that reported in the
last 40 minutes. Before a model is active, and for trucks without recent fixes, they come from
a physics estimate: road distance taken as 1.3 × the straight line, at 45 km/h, with a P10–P90
window of 0.8×–1.5× the remaining time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Float, cast, func, insert
from sqlalchemy import select as columns_select
from sqlmodel import Session, col, select

from app import live
from app.services import eta_log, eta_training, routing, webhooks
from app.services.eta_log import Estimate
from eta.features import COL, Context, fleet_features
from eta.geofence import distance_m
from eta.model import EtaModel
from eta.tracks import Trip
from eta.traffic import BIN_S
from models import ACTIVE_STATUSES, Delivery, DeliveryStatus, EtaPrediction, Position, Site, Vehicle

PHYSICS_VERSION = "physics-0"
DETOUR = 1.3
CRUISE_MPS = 12.5
P10_FACTOR, P90_FACTOR = 0.8, 1.5
# A P50 this far past the slot's end is late; within it the truck is at risk.
LATE_GRACE = timedelta(minutes=10)
# A served ETA younger than this is reused instead of computed and logged again.
REUSE = timedelta(seconds=60)
# Subscribers hear of an ETA move only when P50 shifts by more than this.
ETA_CHANGE = timedelta(minutes=5)
# The model looks at a truck's fixes of this long ago onwards (its windows reach 30 min).
MODEL_WINDOW = timedelta(minutes=40)
CLOCK_SKEW = timedelta(minutes=5)
ON_THE_WAY = (DeliveryStatus.planned, DeliveryStatus.en_route)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LONG_ID_LIST = 500


@dataclass(frozen=True)
class Risk:
    level: str  # on_time, at_risk, late, or arrived
    minutes_late: float  # predicted minutes past the slot's end (negative: ahead of it)


def physics_estimate(
    *, lat: float | None, lon: float | None, site: Site, now: datetime, slot_start: datetime
) -> Estimate:
    if lat is None or lon is None:
        # No fix yet: the slot is the only clue, with a wide window.
        p50 = max(slot_start, now)
        return Estimate(
            max(p50 - timedelta(minutes=30), now),
            p50,
            p50 + timedelta(hours=1),
            None,
            PHYSICS_VERSION,
        )
    straight = distance_m(lat, lon, site.lat, site.lon)
    remaining = timedelta(seconds=straight * DETOUR / CRUISE_MPS)
    return Estimate(
        now + remaining * P10_FACTOR,
        now + remaining,
        now + remaining * P90_FACTOR,
        straight,
        PHYSICS_VERSION,
    )


def risk(delivery: Delivery, estimate: Estimate | None) -> Risk | None:
    return risk_at(arrived_at=delivery.arrived_at, slot_end_at=delivery.slot_end_at, found=estimate)


def risk_at(
    *, arrived_at: datetime | None, slot_end_at: datetime, found: Estimate | None
) -> Risk | None:
    """on_time when P90 ≤ slot end, late when P50 > slot end + grace, at_risk between."""
    if arrived_at is not None:
        return Risk("arrived", round((arrived_at - slot_end_at).total_seconds() / 60, 1))
    if found is None:
        return None
    minutes = round((found.p50 - slot_end_at).total_seconds() / 60, 1)
    if found.p90 <= slot_end_at:
        return Risk("on_time", minutes)
    if found.p50 > slot_end_at + LATE_GRACE:
        return Risk("late", minutes)
    return Risk("at_risk", minutes)


class LastFix(NamedTuple):
    """A vehicle's newest fix as kept on its row (None until it has reported)."""

    last_lat: float | None
    last_lon: float | None
    last_fix_at: datetime | None


def last_fixes(session: Session, *criteria: Any) -> dict[int, LastFix]:
    """Vehicle id → its newest fix, for the vehicles of deliveries matching the criteria, in
    one column query (a fleet's worth of full Vehicle objects costs a third of a second)."""
    rows = session.execute(
        columns_select(
            col(Vehicle.id), col(Vehicle.last_lat), col(Vehicle.last_lon), col(Vehicle.last_fix_at)
        )
        .join(Delivery, col(Delivery.vehicle_id) == col(Vehicle.id))
        .where(*criteria)
        .distinct()
    )
    return {vehicle_id: LastFix(lat, lon, at) for vehicle_id, lat, lon, at in rows}


def _epoch_seconds(session: Session, column: Any) -> Any:
    """Unix seconds computed by the database: a refresh reads hundreds of thousands of fixes,
    and building a timezone-aware datetime for each costs more than the query."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps naive UTC text (see UTCDateTime); julianday is exact to the millisecond.
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _vehicle_in(column: Any, vehicle_ids: set[int | None]) -> Any:
    """`column IN (…)`; for a whole fleet, the vehicles of deliveries on their way instead
    (a superset the caller filters): thousands of bound ids cost more to send than to skip."""
    if len(vehicle_ids) <= LONG_ID_LIST:
        return col(column).in_(vehicle_ids)
    return col(column).in_(select(Delivery.vehicle_id).where(col(Delivery.status).in_(ON_THE_WAY)))


def _recent_tracks(session: Session, vehicle_ids: set[int], now: datetime) -> dict[int, np.ndarray]:
    """Each vehicle's fixes of the model's window as rows of (epoch s, lat, lon, speed m/s,
    NaN unknown), oldest first, from one query."""
    result = session.connection().execute(
        columns_select(
            col(Position.vehicle_id),
            _epoch_seconds(session, Position.device_at),
            col(Position.lat),
            col(Position.lon),
            col(Position.speed_mps),
        )
        .where(_vehicle_in(Position.vehicle_id, set(vehicle_ids)))
        .where(col(Position.device_at) >= now - MODEL_WINDOW)
        .where(col(Position.device_at) <= now + CLOCK_SKEW)
        .order_by(col(Position.vehicle_id), col(Position.device_at))
    )
    # Plain numbers that need no type processing: read straight from the DBAPI cursor into an
    # array (None becomes NaN). For a fleet's 300 000 fixes this is a second faster than rows.
    with result:
        fixes = np.array(result.cursor.fetchall(), dtype=float).reshape(-1, 5)
    if not len(fixes):
        return {}
    starts = np.flatnonzero(np.r_[True, fixes[1:, 0] != fixes[:-1, 0]])
    ends = np.r_[starts[1:], len(fixes)]
    return {
        int(fixes[a, 0]): fixes[a:b, 1:]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    }


def model_estimates(
    session: Session,
    model: EtaModel,
    deliveries: list[Delivery],
    sites: dict[int, Site],
    now: datetime,
) -> dict[int, Estimate]:
    """The model's ETAs for the deliveries whose truck reported in the last 40 minutes, from
    one query over those fixes and one prediction for all of them."""
    vehicle_ids = {d.vehicle_id for d in deliveries if d.vehicle_id is not None}
    if not vehicle_ids:
        return {}
    tracks = _recent_tracks(session, vehicle_ids, now)
    index = eta_training.serving_index(model)
    present_from = (now.timestamp() // BIN_S - 1) * BIN_S
    paces = model.info.get("pace_vehicle", {})
    built: list[tuple[Delivery, Trip]] = []
    contexts: list[Context] = []
    for d in deliveries:
        site = sites.get(d.site_id)
        track = tracks.get(d.vehicle_id or -1)
        if site is None or track is None:
            continue
        since = d.departed_at.timestamp() if d.departed_at else -math.inf
        arr = track[track[:, 0] >= since]
        if not len(arr):
            arr = track[-1:]
        built.append(
            (
                d,
                Trip(
                    trip_id=str(d.id),
                    vehicle_id=str(d.vehicle_id),
                    t=arr[:, 0],
                    lat=arr[:, 1],
                    lon=arr[:, 2],
                    speed=arr[:, 3],
                    dest_lat=site.lat,
                    dest_lon=site.lon,
                    arrival_t=math.nan,
                    tz=site.timezone,
                ),
            )
        )
        contexts.append(
            Context(pace_vehicle=paces.get(str(d.vehicle_id), math.nan), tz=site.timezone)
        )
    if not built:
        return {}
    features = fleet_features([trip for _, trip in built], contexts)
    t_all = np.concatenate([trip.t for _, trip in built])
    # Only the current and the previous 15-minute bin make "traffic right now".
    recent = t_all >= present_from
    index.observe(
        np.concatenate([trip.lat for _, trip in built])[recent],
        np.concatenate([trip.lon for _, trip in built])[recent],
        t_all[recent],
        features[recent, COL["speed_now"]],
    )
    X = features[np.cumsum([len(trip) for _, trip in built]) - 1]
    for k, (d, _) in enumerate(built):
        X[k, COL["elapsed_s"]] = (
            now.timestamp() - d.departed_at.timestamp() if d.departed_at else math.nan
        )
    X[:, [COL["traffic_now"], COL["traffic_usual"], COL["traffic_line"]]] = index.features_many(
        np.array([trip.lat[-1] for _, trip in built]),
        np.array([trip.lon[-1] for _, trip in built]),
        np.full(len(built), now.timestamp()),
        np.array([trip.dest_lat for _, trip in built]),
        np.array([trip.dest_lon for _, trip in built]),
    )
    for name in eta_training.SERVING_HIDDEN:
        X[:, COL[name]] = np.nan
    router = routing.client()
    if router is not None:
        router.fill(
            X,
            np.array([trip.lat[-1] for _, trip in built]),
            np.array([trip.lon[-1] for _, trip in built]),
            np.array([trip.dest_lat for _, trip in built]),
            np.array([trip.dest_lon for _, trip in built]),
        )
    p10, p50, p90 = model.predict(X)
    out = {}
    for k, (d, trip) in enumerate(built):
        assert d.id is not None
        base = datetime.fromtimestamp(float(trip.t[-1]), UTC)
        out[d.id] = Estimate(
            max(base + timedelta(seconds=float(p10[k])), now),
            max(base + timedelta(seconds=float(p50[k])), now),
            max(base + timedelta(seconds=float(p90[k])), now),
            float(X[k, COL["remaining_m"]]),
            model.version,
        )
    return out


def fresh_estimates(
    session: Session,
    deliveries: list[Delivery],
    sites: dict[int, Site],
    vehicles: dict[int, LastFix],
    now: datetime,
) -> dict[int, Estimate]:
    """Model ETAs where the active model can make one, physics (from each vehicle's last
    fix) for the rest."""
    model = eta_training.serving_model(session)
    found = model_estimates(session, model, deliveries, sites, now) if model else {}
    for d in deliveries:
        assert d.id is not None
        if d.id in found or d.site_id not in sites:
            continue
        vehicle = vehicles.get(d.vehicle_id or -1)
        found[d.id] = physics_estimate(
            lat=vehicle.last_lat if vehicle else None,
            lon=vehicle.last_lon if vehicle else None,
            site=sites[d.site_id],
            now=now,
            slot_start=d.slot_start_at,
        )
    return found


def _record(
    session: Session,
    *,
    delivery: Delivery,
    fresh: Estimate,
    previous_p50: datetime | None,
    vehicle: LastFix | None,
    now: datetime,
) -> dict[str, Any]:
    """Tell subscribers and live screens about a new ETA; returns its row for the ETA log."""
    assert delivery.id is not None
    if previous_p50 is not None and abs(fresh.p50 - previous_p50) > ETA_CHANGE:
        webhooks.enqueue(
            session,
            event_type="eta.changed",
            data={
                "delivery_id": delivery.id,
                "external_ref": delivery.external_ref,
                "previous_eta_p50_at": previous_p50.isoformat(),
                "eta_p10_at": fresh.p10.isoformat(),
                "eta_p50_at": fresh.p50.isoformat(),
                "eta_p90_at": fresh.p90.isoformat(),
            },
            supplier_id=delivery.supplier_id,
            site_id=delivery.site_id,
            now=now,
        )
    level = risk(delivery, fresh)
    live.publish(
        session,
        site_id=delivery.site_id,
        kind="eta",
        data={
            "delivery_id": delivery.id,
            "supplier_id": delivery.supplier_id,
            "eta_p10_at": fresh.p10.isoformat(),
            "eta_p50_at": fresh.p50.isoformat(),
            "eta_p90_at": fresh.p90.isoformat(),
            "risk": level.level if level else None,
            "minutes_late": level.minutes_late if level else None,
            "lat": vehicle.last_lat if vehicle else None,
            "lon": vehicle.last_lon if vehicle else None,
        },
    )
    return {
        "delivery_id": delivery.id,
        "predicted_at": now,
        "remaining_m": fresh.remaining_m,
        "eta_p10_at": fresh.p10,
        "eta_p50_at": fresh.p50,
        "eta_p90_at": fresh.p90,
        "model_version": fresh.model_version,
    }


def current_estimates(
    session: Session,
    *,
    deliveries: Sequence[Delivery],
    sites: dict[int, Site],
    now: datetime,
    scope: Sequence[Any] = (),
) -> dict[int, Estimate]:
    """The current ETA of each delivery still to arrive (planned or en route, with a vehicle):
    a served one younger than a minute is reused, the others are computed in one batch and
    logged. `scope` narrows the read of the ETA log to criteria on Delivery that cover the
    deliveries given (one site, one delivery); without it the whole fleet's log is read."""
    waiting = [
        d
        for d in deliveries
        if d.status in ON_THE_WAY and d.vehicle_id is not None and d.site_id in sites
    ]
    if not waiting:
        return {}
    previous = eta_log.latest(
        session,
        col(Delivery.status).in_(ON_THE_WAY),
        col(Delivery.vehicle_id).is_not(None),
        *scope,
        not_before=EPOCH,
    )
    found: dict[int, Estimate] = {}
    stale: list[Delivery] = []
    for d in waiting:
        assert d.id is not None
        last = previous.get(d.id)
        if last is not None and last.served_at is not None and now - last.served_at < REUSE:
            found[d.id] = last
        else:
            stale.append(d)
    if stale:
        found.update(_serve_and_log(session, stale, sites, previous, now))
    return found


def _serve_and_log(
    session: Session,
    deliveries: list[Delivery],
    sites: dict[int, Site],
    previous: dict[int, Estimate],
    now: datetime,
) -> dict[int, Estimate]:
    """Fresh ETAs for the deliveries, each logged and announced (live, webhooks)."""
    vehicles = last_fixes(
        session, _vehicle_in(Delivery.vehicle_id, {d.vehicle_id for d in deliveries})
    )
    fresh = fresh_estimates(session, deliveries, sites, vehicles, now)
    logged = []
    for d in deliveries:
        assert d.id is not None
        found = fresh.get(d.id)
        if found is None:
            continue
        last = previous.get(d.id)
        logged.append(
            _record(
                session,
                delivery=d,
                fresh=found,
                previous_p50=last.p50 if last else None,
                vehicle=vehicles.get(d.vehicle_id or -1),
                now=now,
            )
        )
    if logged:
        # One multi-row INSERT instead of thousands of ORM objects: a refresh logs every truck.
        session.execute(insert(EtaPrediction), logged)
    return fresh


def estimate(session: Session, *, delivery: Delivery, site: Site, now: datetime) -> Estimate | None:
    """The delivery's current ETA, reusing a fresh logged one, logging a new one otherwise."""
    assert site.id is not None
    return current_estimates(
        session,
        deliveries=[delivery],
        sites={site.id: site},
        now=now,
        scope=(col(Delivery.id) == delivery.id,),
    ).get(delivery.id or -1)


def inbound_for_site(
    session: Session, *, site: Site, now: datetime
) -> list[tuple[Delivery, Estimate | None]]:
    stmt = (
        select(Delivery)
        .where(Delivery.site_id == site.id, col(Delivery.status).in_(ACTIVE_STATUSES))
        .where(Delivery.slot_start_at < now + timedelta(hours=72))
        .order_by(col(Delivery.slot_start_at))
    )
    deliveries = list(session.exec(stmt).all())
    assert site.id is not None
    found = current_estimates(
        session,
        deliveries=deliveries,
        sites={site.id: site},
        now=now,
        scope=(Delivery.site_id == site.id,),
    )
    session.commit()
    return [(d, found.get(d.id or -1)) for d in deliveries]


def refresh_all(session: Session, *, now: datetime) -> int:
    """Job body: a fresh ETA (logged) for every delivery on its way, in one batch: a few
    queries and one model prediction for all of them."""
    due = (
        col(Delivery.status).in_(ON_THE_WAY),
        col(Delivery.vehicle_id).is_not(None),
        Delivery.slot_start_at < now + timedelta(hours=24),
    )
    previous = eta_log.latest(session, *due, not_before=EPOCH)
    deliveries = [
        d
        for d in session.exec(select(Delivery).where(*due)).all()
        if d.id not in previous or now - (previous[d.id].served_at or EPOCH) >= REUSE
    ]
    if not deliveries:
        return 0
    site_ids = {d.site_id for d in deliveries}
    sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(site_ids)))}
    fresh = _serve_and_log(session, deliveries, sites, previous, now)  # type: ignore[arg-type]
    session.commit()
    return len(fresh)

"""Flags on deliveries, opened as alerts with a reason and resolved when they stop holding.

Each flag has an opening and a (looser) closing threshold, so a value hovering at one
threshold cannot open and resolve an alert on every pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as columns_select
from sqlmodel import Session, col, select

from app import live
from app.auth import Principal
from app.errors import Conflict, Forbidden, NotFound
from app.services import eta_serving, webhooks
from app.services import forecast as forecast_service
from eta import staffing as st
from eta.geofence import distance_m
from models import (
    ACTIVE_STATUSES,
    Alert,
    AlertReason,
    AlertState,
    Delivery,
    DeliveryStatus,
    Position,
    Role,
    Site,
)

R = AlertReason
LATE_OPEN, LATE_CLOSE = timedelta(minutes=10), timedelta(minutes=0)
EARLY_OPEN, EARLY_CLOSE = timedelta(minutes=60), timedelta(minutes=45)
SILENT_OPEN, SILENT_CLOSE = timedelta(minutes=15), timedelta(minutes=10)
OFF_COURSE_WINDOW = timedelta(minutes=20)
OFF_COURSE_OPEN_M, OFF_COURSE_CLOSE_M = 2_000.0, 0.0
# A site-wide queue is foreseen over this many hours, with every dock staffed.
QUEUE_LOOKAHEAD_HOURS = 4
LONG_DWELL_FACTOR, LONG_DWELL_SLACK = 2.0, timedelta(minutes=15)


@dataclass(frozen=True)
class Flag:
    reason: AlertReason
    holds: bool | None  # True: open it; False: resolve it; None: inside the hysteresis band
    severity: str = "warning"
    message: str = ""
    details: dict[str, Any] | None = None


def _late_flags(
    delivery: Delivery, found: eta_serving.Estimate | None, now: datetime
) -> Iterable[Flag]:
    if found is None or delivery.arrived_at is not None:
        yield Flag(R.vehicle_late, False)
        yield Flag(R.early, False)
        return
    late_by = found.p50 - delivery.slot_end_at
    minutes = round(late_by.total_seconds() / 60)
    holds = True if late_by > LATE_OPEN else (False if late_by <= LATE_CLOSE else None)
    yield Flag(
        R.vehicle_late,
        holds,
        "critical" if late_by > timedelta(minutes=30) else "warning",
        f"expected {minutes} min after the slot ends",
        {"minutes_late": minutes},
    )
    early_by = delivery.slot_start_at - found.p90
    holds = True if early_by > EARLY_OPEN else (False if early_by <= EARLY_CLOSE else None)
    yield Flag(
        R.early,
        holds,
        "info",
        f"expected {round(early_by.total_seconds() / 60)} min before the slot",
    )


def _silent_flag(delivery: Delivery, vehicle: eta_serving.LastFix | None, now: datetime) -> Flag:
    if delivery.status != DeliveryStatus.en_route or vehicle is None:
        return Flag(R.vehicle_silent, False)
    if vehicle.last_fix_at is None:
        return Flag(R.vehicle_silent, True, message="no fix received yet")
    quiet = now - vehicle.last_fix_at
    holds = True if quiet > SILENT_OPEN else (False if quiet <= SILENT_CLOSE else None)
    return Flag(
        R.vehicle_silent, holds, message=f"no fix for {round(quiet.total_seconds() / 60)} min"
    )


@dataclass(frozen=True)
class TrackEnds:
    """A vehicle's first and last fix in the off-course window, and how many it sent."""

    count: int
    first_at: datetime
    first: tuple[float, float]
    last_at: datetime
    last: tuple[float, float]


def _track_ends(session: Session, *, now: datetime) -> dict[int, TrackEnds]:
    """First and last fix of the last 20 minutes of every vehicle on a delivery en route, in
    two queries for the whole fleet ((vehicle, device time) is unique, so each end is one
    row)."""
    en_route = select(Delivery.vehicle_id).where(
        Delivery.status == DeliveryStatus.en_route, col(Delivery.vehicle_id).is_not(None)
    )
    window = (
        col(Position.vehicle_id).in_(en_route),
        col(Position.device_at) >= now - OFF_COURSE_WINDOW,
        col(Position.device_at) <= now,
    )
    spans = (
        columns_select(
            col(Position.vehicle_id).label("vehicle_id"),
            func.min(Position.device_at).label("first_at"),
            func.max(Position.device_at).label("last_at"),
            func.count().label("n"),
        )
        .where(*window)
        .group_by(col(Position.vehicle_id))
        .subquery()
    )
    rows = session.execute(
        columns_select(
            spans.c.vehicle_id,
            spans.c.n,
            spans.c.first_at,
            spans.c.last_at,
            col(Position.device_at),
            col(Position.lat),
            col(Position.lon),
        )
        .join(spans, col(Position.vehicle_id) == spans.c.vehicle_id)
        .where(*window)
        .where(
            (col(Position.device_at) == spans.c.first_at)
            | (col(Position.device_at) == spans.c.last_at)
        )
    ).all()
    ends: dict[int, dict[str, Any]] = {}
    for vehicle_id, n, first_at, last_at, at, lat, lon in rows:
        found = ends.setdefault(vehicle_id, {"count": n, "first_at": first_at, "last_at": last_at})
        if at == first_at:
            found["first"] = (lat, lon)
        if at == last_at:
            found["last"] = (lat, lon)
    return {k: TrackEnds(**v) for k, v in ends.items() if "first" in v and "last" in v}


def _off_course_flag(delivery: Delivery, site: Site, track: TrackEnds | None) -> Flag:
    if delivery.status != DeliveryStatus.en_route or delivery.vehicle_id is None:
        return Flag(R.off_course, False)
    if track is None or track.count < 3 or track.last_at - track.first_at < OFF_COURSE_WINDOW / 2:
        return Flag(R.off_course, None)
    first = distance_m(*track.first, site.lat, site.lon)
    last = distance_m(*track.last, site.lat, site.lon)
    growth = last - first
    holds = (
        True if growth > OFF_COURSE_OPEN_M else (False if growth <= OFF_COURSE_CLOSE_M else None)
    )
    return Flag(
        R.off_course, holds, message=f"{growth / 1000:.1f} km further from the site than 20 min ago"
    )


def _site_flags(delivery: Delivery, site: Site, now: datetime) -> Iterable[Flag]:
    waiting = (
        delivery.status == DeliveryStatus.arrived
        and delivery.arrived_at is not None
        and delivery.arrived_at <= delivery.slot_end_at
    )
    if waiting:
        assert delivery.arrived_at is not None
        wait = now - delivery.arrived_at
        target = timedelta(minutes=site.target_wait_min)
        holds = True if wait > target else (False if wait <= target * 0.5 else None)
        yield Flag(
            R.unloading_queue,
            holds,
            "warning",
            f"on site on time, waiting {round(wait.total_seconds() / 60)} min for a dock",
            {"kind": "waiting_for_dock"},
        )
    else:
        yield Flag(R.unloading_queue, False)
    if delivery.status == DeliveryStatus.unloading and delivery.dock_start_at is not None:
        expected = timedelta(hours=delivery.pallets / site.unloading_rate_pph)
        limit = expected * LONG_DWELL_FACTOR + LONG_DWELL_SLACK
        took = now - delivery.dock_start_at
        yield Flag(
            R.long_dwell,
            took > limit,
            "warning",
            f"unloading for {round(took.total_seconds() / 60)} min, expected about "
            f"{round(expected.total_seconds() / 60)}",
        )
    else:
        yield Flag(R.long_dwell, False)


def flags_for(
    delivery: Delivery,
    *,
    site: Site,
    vehicle: eta_serving.LastFix | None,
    found: eta_serving.Estimate | None,
    track: TrackEnds | None,
    now: datetime,
) -> list[Flag]:
    """Every flag of one delivery, from what the pass read for the whole fleet."""
    return [
        *_late_flags(delivery, found, now),
        _silent_flag(delivery, vehicle, now),
        _off_course_flag(delivery, site, track),
        *_site_flags(delivery, site, now),
    ]


def _notify(
    session: Session,
    event_type: str,
    message: str,
    *,
    delivery: Delivery,
    reason: str,
    now: datetime,
) -> None:
    live.publish(
        session,
        site_id=delivery.site_id,
        kind="alert",
        data={
            "event": event_type,
            "delivery_id": delivery.id,
            "supplier_id": delivery.supplier_id,
            "reason": reason,
            "message": message,
        },
    )
    webhooks.enqueue(
        session,
        event_type=event_type,
        data={
            "delivery_id": delivery.id,
            "external_ref": delivery.external_ref,
            "reason": reason,
            "message": message,
        },
        supplier_id=delivery.supplier_id,
        site_id=delivery.site_id,
        now=now,
    )


def _apply(
    session: Session,
    flag: Flag,
    alert: Alert | None,
    *,
    site_id: int,
    delivery_id: int | None,
    notify: Callable[[str, str], None],
    counts: dict[str, int],
    now: datetime,
) -> None:
    """Open, update or resolve the alert a flag stands for; `notify(event_type, message)`
    tells subscribers and live screens of an opening or a resolution."""
    if flag.holds and alert is None:
        notify("alert.opened", flag.message)
        session.add(
            Alert(
                site_id=site_id,
                delivery_id=delivery_id,
                reason=flag.reason,
                severity=flag.severity,
                message=flag.message,
                details=flag.details,
                opened_at=now,
            )
        )
        counts["opened"] += 1
    elif flag.holds and alert is not None:
        changed = (flag.message, flag.severity, flag.details)
        if (alert.message, alert.severity, alert.details) != changed:
            alert.message, alert.severity, alert.details = changed
            session.add(alert)
    elif flag.holds is False and alert is not None:
        notify("alert.resolved", alert.message)
        alert.state, alert.resolved_at = AlertState.resolved, now
        session.add(alert)
        counts["resolved"] += 1


def evaluate(session: Session, *, now: datetime) -> dict[str, int]:
    """Open, update and resolve alerts for every open delivery; returns counts of changes.

    The whole fleet is read in a handful of queries (deliveries, sites, vehicles, current
    ETAs, open alerts, the ends of recent tracks), never one query per delivery."""
    counts = {"opened": 0, "resolved": 0}
    watched = [*ACTIVE_STATUSES]
    deliveries = list(session.exec(select(Delivery).where(col(Delivery.status).in_(watched))))
    sites = {s.id: s for s in session.exec(select(Site)) if s.id is not None}
    vehicles = eta_serving.last_fixes(session, col(Delivery.status).in_(watched))
    estimates = eta_serving.current_estimates(session, deliveries=deliveries, sites=sites, now=now)
    tracks = _track_ends(session, now=now)
    current: dict[int | None, dict[str, Alert]] = defaultdict(dict)
    for held in session.exec(
        select(Alert).where(col(Alert.state).in_([AlertState.open, AlertState.acknowledged]))
    ):
        current[held.delivery_id][held.reason] = held
    for delivery in deliveries:
        assert delivery.id is not None
        site = sites.get(delivery.site_id)
        if site is None:
            continue
        flags = flags_for(
            delivery,
            site=site,
            vehicle=vehicles.get(delivery.vehicle_id) if delivery.vehicle_id else None,
            found=estimates.get(delivery.id),
            track=tracks.get(delivery.vehicle_id or -1),
            now=now,
        )
        for flag in flags:
            _apply(
                session,
                flag,
                current[delivery.id].get(flag.reason),
                site_id=delivery.site_id,
                delivery_id=delivery.id,
                notify=partial(_notify, session, delivery=delivery, reason=flag.reason, now=now),
                counts=counts,
                now=now,
            )
    # Deliveries that closed (completed, cancelled, no-show) take their alerts with them.
    stale = session.exec(
        select(Alert)
        .join(Delivery, col(Delivery.id) == col(Alert.delivery_id))
        .where(col(Alert.state).in_([AlertState.open, AlertState.acknowledged]))
        .where(col(Delivery.status).not_in(watched))
    ).all()
    for alert in stale:
        alert.state, alert.resolved_at = AlertState.resolved, now
        session.add(alert)
        counts["resolved"] += 1
    session.commit()
    return counts


def list_for_site(session: Session, *, site: Site, state: str | None, limit: int) -> list[Alert]:
    stmt = select(Alert).where(Alert.site_id == site.id)
    if state is not None:
        stmt = stmt.where(Alert.state == state)
    return list(session.exec(stmt.order_by(col(Alert.opened_at).desc()).limit(limit)).all())


def acknowledge(session: Session, *, principal: Principal, alert_id: int, now: datetime) -> Alert:
    if principal.kind != "user" or principal.role not in (Role.admin, Role.logistician):
        raise Forbidden("alerts are acknowledged by logisticians", code="forbidden_role")
    alert = session.get(Alert, alert_id)
    if alert is None or not principal.sees_site(alert.site_id):
        raise NotFound(f"alert {alert_id} not found", code="alert_not_found")
    if alert.state != AlertState.open:
        raise Conflict(f"the alert is {alert.state}", code="alert_not_open")
    alert.state, alert.acknowledged_at, alert.acknowledged_by = (
        AlertState.acknowledged,
        now,
        principal.user_id,
    )
    session.add(alert)
    session.commit()
    session.refresh(alert)
    return alert


def _site_queue_flag(session: Session, site: Site, now: datetime) -> Flag:
    """Will arrivals in the next hours outrun the docks, even with every dock staffed?"""
    hours = forecast_service.arrivals(session, site=site, now=now, hours=QUEUE_LOOKAHEAD_HOURS)
    waiting_now = len(
        session.exec(
            select(Delivery.id).where(
                Delivery.site_id == site.id, Delivery.status == DeliveryStatus.arrived
            )
        ).all()
    )
    queue = st.simulate_yard(
        hours,
        docks=site.dock_count,
        crews_per_hour=[site.dock_count] * len(hours),
        rate_per_crew=site.unloading_rate_pph,
        initial_in_yard=waiting_now,
    )
    target = site.target_wait_min
    worst = max(queue, key=lambda q: q.mean_wait_minutes)
    wait = worst.mean_wait_minutes
    holds = True if wait > target else (False if wait <= target * 0.5 else None)
    # Name the hour the queue starts to form, not the hour it peaks.
    first = next((q for q in queue if q.mean_wait_minutes > target), worst)
    local = first.hour_start.astimezone(ZoneInfo(site.timezone)).strftime("%H:%M")
    return Flag(
        R.unloading_queue,
        holds,
        "warning",
        f"arrivals from {local} exceed dock capacity: about {first.arrivals:.1f} trucks that "
        f"hour; up to {worst.mean_waiting:.1f} trucks waiting and {wait:.0f} min expected "
        f"wait with all {site.dock_count} docks working",
        {
            "kind": "forecast_capacity",
            "hour_start": first.hour_start.isoformat(),
            "expected_trucks": round(first.arrivals, 2),
            "expected_waiting": round(worst.mean_waiting, 2),
            "expected_wait_min": round(wait, 1),
        },
    )


def evaluate_site_queues(session: Session, *, now: datetime) -> dict[str, int]:
    """Site-wide `unloading_queue` alerts from the arrivals forecast (no delivery attached):
    opened when the next hours' arrivals make the expected wait exceed the site's target
    even with every dock working, resolved when it falls under half of it."""
    counts = {"opened": 0, "resolved": 0}
    busy_sites = session.exec(
        select(Delivery.site_id).where(col(Delivery.status).in_(ACTIVE_STATUSES)).distinct()
    ).all()
    for site_id in busy_sites:
        site = session.get(Site, site_id)
        if site is None:
            continue
        flag = _site_queue_flag(session, site, now)
        alert = session.exec(
            select(Alert).where(
                Alert.site_id == site_id,
                col(Alert.delivery_id).is_(None),
                Alert.reason == R.unloading_queue,
                col(Alert.state).in_([AlertState.open, AlertState.acknowledged]),
            )
        ).first()
        _apply(
            session,
            flag,
            alert,
            site_id=site_id,
            delivery_id=None,
            notify=partial(_notify_site, session, site_id=site_id, now=now),
            counts=counts,
            now=now,
        )
    # Sites with nothing left coming resolve their forecast alerts too.
    for alert in session.exec(
        select(Alert).where(
            col(Alert.delivery_id).is_(None),
            Alert.reason == R.unloading_queue,
            col(Alert.state).in_([AlertState.open, AlertState.acknowledged]),
            col(Alert.site_id).not_in(busy_sites or [-1]),
        )
    ).all():
        alert.state, alert.resolved_at = AlertState.resolved, now
        session.add(alert)
        counts["resolved"] += 1
    session.commit()
    return counts


def _notify_site(
    session: Session, event_type: str, message: str, *, site_id: int, now: datetime
) -> None:
    data = {"event": event_type, "reason": R.unloading_queue.value, "message": message}
    live.publish(session, site_id=site_id, kind="alert", data={**data, "delivery_id": None})
    webhooks.enqueue(
        session,
        event_type=event_type,
        data={**data, "site_id": site_id},
        supplier_id=None,
        site_id=site_id,
        now=now,
    )

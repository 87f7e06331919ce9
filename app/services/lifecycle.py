"""Delivery lifecycle: the state machine, GPS-driven transitions, dock events and dwell times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app import live
from app.auth import Principal
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.services import webhooks
from eta.geofence import FenceRules, Fix, detect
from models import Delivery, DeliveryEvent, DeliveryStatus, Dock, Position, Role, Site, utcnow

S = DeliveryStatus
ALLOWED: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    S.planned: frozenset({S.en_route, S.arrived, S.cancelled, S.no_show}),
    S.en_route: frozenset({S.arrived, S.cancelled}),
    S.arrived: frozenset({S.unloading, S.cancelled}),
    S.unloading: frozenset({S.completed}),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
    S.no_show: frozenset(),
}
# The timestamp each status sets on the delivery.
STAMP = {
    S.en_route: "departed_at",
    S.arrived: "arrived_at",
    S.unloading: "dock_start_at",
    S.completed: "dock_end_at",
}
MANUAL_KINDS = frozenset(
    {
        "dock_assigned",
        "en_route",
        "arrived",
        "unloading",
        "completed",
        "cancelled",
        "no_show",
        "left",
    }
)
CLOCK_SKEW = timedelta(minutes=5)
# GPS keeps watching a completed delivery this long for the truck leaving the site.
LEAVE_WATCH = timedelta(hours=12)


def _event(
    session: Session,
    delivery: Delivery,
    *,
    kind: str,
    at: datetime,
    source: str,
    user_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    details: dict[str, Any] | None = None,
) -> DeliveryEvent:
    assert delivery.id is not None
    event = DeliveryEvent(
        delivery_id=delivery.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        at=at,
        source=source,
        user_id=user_id,
        details=details,
    )
    session.add(event)
    live.publish(
        session,
        site_id=delivery.site_id,
        kind="delivery",
        data={
            "delivery_id": delivery.id,
            "supplier_id": delivery.supplier_id,
            "event": kind,
            "status": delivery.status,
            "at": at.isoformat(),
            "dock_id": delivery.dock_id,
        },
    )
    return event


def transition(
    session: Session,
    delivery: Delivery,
    *,
    to: DeliveryStatus,
    at: datetime,
    source: str,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> DeliveryEvent:
    """Move a delivery to `to`, or raise Conflict naming the allowed next states."""
    current = DeliveryStatus(delivery.status)
    if to not in ALLOWED[current]:
        allowed = sorted(s.value for s in ALLOWED[current]) or ["none: it is closed"]
        raise Conflict(
            f"a {current.value} delivery cannot become {to.value}",
            code="illegal_transition",
            details={"from": current.value, "to": to.value, "allowed": allowed},
        )
    stamp = STAMP.get(to)
    if stamp is not None:
        setattr(delivery, stamp, at)
    delivery.status = to
    delivery.updated_at = utcnow()
    session.add(delivery)
    webhooks.enqueue(
        session,
        event_type="delivery.status_changed",
        data={
            "delivery_id": delivery.id,
            "external_ref": delivery.external_ref,
            "from": current.value,
            "to": to.value,
            "at": at.isoformat(),
            "source": source,
        },
        supplier_id=delivery.supplier_id,
        site_id=delivery.site_id,
        now=min(at, utcnow()),
    )
    return _event(
        session,
        delivery,
        kind=to.value,
        at=at,
        source=source,
        user_id=user_id,
        from_status=current.value,
        to_status=to.value,
        details=details,
    )


def dock_busy_with(session: Session, *, dock_id: int, except_delivery: int | None) -> int | None:
    stmt = select(Delivery.id).where(
        Delivery.dock_id == dock_id, Delivery.status == DeliveryStatus.unloading
    )
    for other in session.exec(stmt):
        if other != except_delivery:
            return other
    return None


def _site_dock(session: Session, *, site_id: int, dock_id: int) -> Dock:
    dock = session.get(Dock, dock_id)
    if dock is None or dock.site_id != site_id:
        raise NotFound(f"dock {dock_id} not found at this site", code="dock_not_found")
    return dock


def record_manual(
    session: Session,
    *,
    principal: Principal,
    delivery: Delivery,
    kind: str,
    at: datetime | None,
    dock_id: int | None,
    note: str | None,
) -> DeliveryEvent:
    """A dock or status event from a logistician (UI) or the supplier's system (API key)."""
    if not (principal.kind == "api_key" or principal.role in (Role.admin, Role.logistician)):
        raise Forbidden(
            "delivery events come from logisticians, admins or the supplier's system",
            code="forbidden_role",
        )
    if kind not in MANUAL_KINDS:
        raise InvalidInput(f"unknown event kind {kind!r}", code="invalid_event_kind")
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput("event time must carry a time zone", code="invalid_event_time")
    if at > now + CLOCK_SKEW:
        raise InvalidInput("event time is in the future", code="invalid_event_time")
    source = "api" if principal.kind == "api_key" else "user"
    details = {"note": note} if note else None
    if dock_id is not None:
        dock = _site_dock(session, site_id=delivery.site_id, dock_id=dock_id)
        delivery.dock_id = dock.id
    if kind == "dock_assigned":
        if dock_id is None:
            raise InvalidInput("dock_assigned needs a dock_id", code="dock_required")
        if delivery.status not in (S.planned, S.en_route, S.arrived):
            raise Conflict(
                f"a {delivery.status} delivery cannot get a dock", code="illegal_transition"
            )
        event = _event(
            session,
            delivery,
            kind=kind,
            at=at,
            source=source,
            user_id=principal.user_id,
            details={"dock_id": dock_id, **(details or {})},
        )
    elif kind == "left":
        if delivery.arrived_at is None or delivery.left_at is not None:
            raise Conflict("only a truck on site can leave", code="illegal_transition")
        delivery.left_at = at
        event = _event(
            session, delivery, kind=kind, at=at, source=source, user_id=principal.user_id
        )
    else:
        to = DeliveryStatus(kind)
        if to == S.unloading:
            if delivery.dock_id is None:
                raise Conflict("assign a dock before unloading starts", code="dock_required")
            busy = dock_busy_with(session, dock_id=delivery.dock_id, except_delivery=delivery.id)
            if busy is not None:
                raise Conflict("that dock is unloading another truck", code="dock_busy")
            if delivery.arrived_at is not None and at < delivery.arrived_at:
                raise InvalidInput(
                    "unloading cannot start before arrival", code="invalid_event_time"
                )
        if to == S.completed and delivery.dock_start_at is not None and at < delivery.dock_start_at:
            raise InvalidInput("unloading cannot end before it started", code="invalid_event_time")
        event = transition(
            session,
            delivery,
            to=to,
            at=at,
            source=source,
            user_id=principal.user_id,
            details=details,
        )
    delivery.updated_at = now
    session.add(delivery)
    session.commit()
    session.refresh(event)
    return event


# --- GPS ---------------------------------------------------------------------------------


def _previous_deliveries_end(
    session: Session, delivery: Delivery
) -> tuple[datetime | None, datetime | None]:
    """Where the truck's earlier-slot deliveries stop claiming its track: (the end of its
    last visit to this site, so an old visit does not count as this arrival; the end of its
    last delivery anywhere, or the arrival of one still under way, so a drive to another
    site does not count as this departure)."""
    stmt = select(
        Delivery.site_id, Delivery.left_at, Delivery.dock_end_at, Delivery.arrived_at
    ).where(
        Delivery.vehicle_id == delivery.vehicle_id,
        Delivery.id != delivery.id,
        Delivery.slot_start_at < delivery.slot_start_at,
    )
    here: list[datetime] = []
    anywhere: list[datetime] = []
    for site_id, left, unloaded, arrived in session.exec(stmt):
        visit_end = left or unloaded
        if visit_end is not None and site_id == delivery.site_id:
            here.append(visit_end)
        if (claimed := visit_end or arrived) is not None:
            anywhere.append(claimed)
    return max(here, default=None), max(anywhere, default=None)


def apply_gps(session: Session, *, delivery: Delivery, site: Site, now: datetime) -> list[str]:
    """Advance (or correct) a delivery from its vehicle's stored track; returns what changed."""
    if delivery.vehicle_id is None:
        return []
    rules = FenceRules(radius_m=site.geofence_radius_m)
    since = delivery.slot_start_at - rules.en_route_window
    # Another site's delivery only bounds the departure: a truck serving its stops out of
    # slot order still arrives here when it does.
    not_before, departure_not_before = _previous_deliveries_end(session, delivery)
    if not_before is not None and not_before > since:
        since = not_before
    rows = session.exec(
        select(Position.device_at, Position.lat, Position.lon, Position.speed_mps)
        .where(Position.vehicle_id == delivery.vehicle_id, Position.device_at >= since)
        .where(Position.device_at <= now + CLOCK_SKEW)
        .order_by(col(Position.device_at))
    ).all()
    fixes = [Fix(at=r[0], lat=r[1], lon=r[2], speed_mps=r[3]) for r in rows]
    found = detect(
        fixes,
        site_lat=site.lat,
        site_lon=site.lon,
        rules=rules,
        slot_start=delivery.slot_start_at,
        not_before=not_before,
        departure_not_before=departure_not_before,
        now=now,
    )
    changes: list[str] = []
    status = DeliveryStatus(delivery.status)
    if status == S.planned and found.departed_at is not None:
        transition(session, delivery, to=S.en_route, at=found.departed_at, source="gps")
        changes.append("en_route")
        status = S.en_route
    if status in (S.planned, S.en_route) and found.arrived_at is not None:
        transition(session, delivery, to=S.arrived, at=found.arrived_at, source="gps")
        changes.append("arrived")
    else:
        changes += _correct_gps_times(session, delivery, found.departed_at, found.arrived_at)
    if (
        found.left_at is not None
        and delivery.arrived_at is not None
        and delivery.left_at is None
        and delivery.status in (S.completed, S.arrived, S.unloading)
    ):
        delivery.left_at = found.left_at
        _event(session, delivery, kind="left", at=found.left_at, source="gps")
        changes.append("left")
    if changes:
        delivery.updated_at = utcnow()
        session.add(delivery)
    return changes


def _correct_gps_times(
    session: Session, delivery: Delivery, departed: datetime | None, arrived: datetime | None
) -> list[str]:
    """Late, out-of-order points can move a GPS-made time; user-made times are never touched."""
    changes = []
    if (
        departed is not None
        and delivery.departed_at is None
        and delivery.status in (S.arrived, S.unloading, S.completed)
        and (delivery.arrived_at is None or departed <= delivery.arrived_at)
    ):
        # The approach showed up after the arrival did: record the departure it implies.
        delivery.departed_at = departed
        _event(
            session,
            delivery,
            kind="en_route",
            at=departed,
            source="gps",
            from_status=S.planned.value,
            to_status=S.en_route.value,
        )
        changes.append("en_route")
    for kind, field_name, value in (
        ("en_route", "departed_at", departed),
        ("arrived", "arrived_at", arrived),
    ):
        if value is None or getattr(delivery, field_name) in (None, value):
            continue
        event = session.exec(
            select(DeliveryEvent).where(
                DeliveryEvent.delivery_id == delivery.id,
                DeliveryEvent.kind == kind,
                DeliveryEvent.source == "gps",
            )
        ).first()
        if event is None:
            continue
        event.at = value
        setattr(delivery, field_name, value)
        session.add(event)
        changes.append(f"{kind}_corrected")
    return changes


def refresh_from_gps(session: Session, *, now: datetime) -> dict[str, int]:
    """Run the geofence over every delivery still waiting for a GPS event."""
    stmt = select(Delivery).where(
        col(Delivery.vehicle_id).is_not(None),
        col(Delivery.status).in_([S.planned, S.en_route, S.arrived, S.unloading, S.completed]),
        col(Delivery.left_at).is_(None),
        Delivery.slot_start_at <= now + timedelta(hours=12),
    )
    # Earlier slots first: a truck's earlier delivery claims its track before a later one.
    stmt = stmt.order_by(col(Delivery.slot_start_at), col(Delivery.id))
    counts: dict[str, int] = {}
    sites: dict[int, Site] = {}
    for delivery in session.exec(stmt).all():
        if delivery.status == S.completed and (
            delivery.dock_end_at is None or now - delivery.dock_end_at > LEAVE_WATCH
        ):
            continue
        site = sites.get(delivery.site_id) or session.get(Site, delivery.site_id)
        if site is None:
            continue
        sites[delivery.site_id] = site
        for change in apply_gps(session, delivery=delivery, site=site, now=now):
            counts[change] = counts.get(change, 0) + 1
        session.commit()
    return counts


# --- dwell ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dwell:
    travel_min: float | None
    yard_wait_min: float | None
    unloading_min: float | None
    on_site_min: float | None
    lateness_min: float | None


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60.0, 2)


def lateness_min(delivery: Delivery) -> float | None:
    """Minutes late at the gate after the slot ends (>0), early before it starts (<0), else 0."""
    if delivery.arrived_at is None:
        return None
    if delivery.arrived_at > delivery.slot_end_at:
        return _minutes(delivery.slot_end_at, delivery.arrived_at)
    if delivery.arrived_at < delivery.slot_start_at:
        return _minutes(delivery.slot_start_at, delivery.arrived_at)
    return 0.0


def dwell(delivery: Delivery) -> Dwell:
    return Dwell(
        travel_min=_minutes(delivery.departed_at, delivery.arrived_at),
        yard_wait_min=_minutes(delivery.arrived_at, delivery.dock_start_at),
        unloading_min=_minutes(delivery.dock_start_at, delivery.dock_end_at),
        on_site_min=_minutes(delivery.arrived_at, delivery.left_at or delivery.dock_end_at),
        lateness_min=lateness_min(delivery),
    )


def events_of(session: Session, *, delivery: Delivery) -> list[DeliveryEvent]:
    return list(
        session.exec(
            select(DeliveryEvent)
            .where(DeliveryEvent.delivery_id == delivery.id)
            .order_by(col(DeliveryEvent.at), col(DeliveryEvent.id))
        ).all()
    )


def simplified_track(
    session: Session, *, delivery: Delivery, max_points: int
) -> list[tuple[datetime, float, float, float | None]]:
    """The delivery's fixes from departure (or slot) to leaving, thinned to `max_points`."""
    if delivery.vehicle_id is None:
        return []
    start = delivery.departed_at or delivery.slot_start_at
    end = delivery.left_at or delivery.dock_end_at
    stmt = select(Position.device_at, Position.lat, Position.lon, Position.speed_mps).where(
        Position.vehicle_id == delivery.vehicle_id, Position.device_at >= start
    )
    if end is not None:
        stmt = stmt.where(Position.device_at <= end)
    rows = list(session.exec(stmt.order_by(col(Position.device_at)).limit(50_000)).all())
    step = max(1, len(rows) // max_points)
    kept = rows[::step]
    if rows and kept[-1] != rows[-1]:
        kept.append(rows[-1])
    return [(r[0], r[1], r[2], r[3]) for r in kept]

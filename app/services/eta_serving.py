"""Serving ETAs and slot risk for deliveries, and logging every ETA served.

Until a trained model is active, ETAs come from a physics estimate: road distance taken as
1.3 × the straight line, at 45 km/h, with a P10–P90 window of 0.8×–1.5× the remaining time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import live
from app.services import webhooks
from eta.geofence import distance_m
from models import ACTIVE_STATUSES, Delivery, DeliveryStatus, EtaPrediction, Site, Vehicle

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


@dataclass(frozen=True)
class Estimate:
    p10: datetime
    p50: datetime
    p90: datetime
    remaining_m: float | None
    model_version: str


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
    """on_time when P90 ≤ slot end, late when P50 > slot end + grace, at_risk between."""
    if delivery.arrived_at is not None:
        return Risk(
            "arrived", round((delivery.arrived_at - delivery.slot_end_at).total_seconds() / 60, 1)
        )
    if estimate is None:
        return None
    minutes = round((estimate.p50 - delivery.slot_end_at).total_seconds() / 60, 1)
    if estimate.p90 <= delivery.slot_end_at:
        return Risk("on_time", minutes)
    if estimate.p50 > delivery.slot_end_at + LATE_GRACE:
        return Risk("late", minutes)
    return Risk("at_risk", minutes)


def estimate(session: Session, *, delivery: Delivery, site: Site, now: datetime) -> Estimate | None:
    """The delivery's current ETA, reusing a fresh logged one, logging a new one otherwise."""
    if (
        delivery.status not in (DeliveryStatus.planned, DeliveryStatus.en_route)
        or delivery.vehicle_id is None
    ):
        return None
    last = session.exec(
        select(EtaPrediction)
        .where(EtaPrediction.delivery_id == delivery.id)
        .order_by(col(EtaPrediction.predicted_at).desc())
        .limit(1)
    ).first()
    if last is not None and now - last.predicted_at < REUSE:
        return Estimate(
            last.eta_p10_at, last.eta_p50_at, last.eta_p90_at, last.remaining_m, last.model_version
        )
    vehicle = session.get(Vehicle, delivery.vehicle_id)
    fresh = physics_estimate(
        lat=vehicle.last_lat if vehicle else None,
        lon=vehicle.last_lon if vehicle else None,
        site=site,
        now=now,
        slot_start=delivery.slot_start_at,
    )
    assert delivery.id is not None
    if last is not None and abs(fresh.p50 - last.eta_p50_at) > ETA_CHANGE:
        webhooks.enqueue(
            session,
            event_type="eta.changed",
            data={
                "delivery_id": delivery.id,
                "external_ref": delivery.external_ref,
                "previous_eta_p50_at": last.eta_p50_at.isoformat(),
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
    session.add(
        EtaPrediction(
            delivery_id=delivery.id,
            predicted_at=now,
            remaining_m=fresh.remaining_m,
            eta_p10_at=fresh.p10,
            eta_p50_at=fresh.p50,
            eta_p90_at=fresh.p90,
            model_version=fresh.model_version,
        )
    )
    return fresh


def inbound_for_site(
    session: Session, *, site: Site, now: datetime
) -> list[tuple[Delivery, Estimate | None]]:
    stmt = (
        select(Delivery)
        .where(Delivery.site_id == site.id, col(Delivery.status).in_(ACTIVE_STATUSES))
        .where(Delivery.slot_start_at < now + timedelta(hours=72))
        .order_by(col(Delivery.slot_start_at))
    )
    rows = [
        (d, estimate(session, delivery=d, site=site, now=now)) for d in session.exec(stmt).all()
    ]
    session.commit()
    return rows


def refresh_all(session: Session, *, now: datetime) -> int:
    """Job body: a fresh ETA (logged) for every delivery on its way."""
    count = 0
    sites: dict[int, Site] = {}
    stmt = select(Delivery).where(
        col(Delivery.status).in_([DeliveryStatus.planned, DeliveryStatus.en_route]),
        col(Delivery.vehicle_id).is_not(None),
        Delivery.slot_start_at < now + timedelta(hours=24),
    )
    for delivery in session.exec(stmt).all():
        site = sites.get(delivery.site_id) or session.get(Site, delivery.site_id)
        if site is None:
            continue
        sites[delivery.site_id] = site
        if estimate(session, delivery=delivery, site=site, now=now) is not None:
            count += 1
    session.commit()
    return count

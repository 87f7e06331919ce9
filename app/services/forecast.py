"""Site arrivals forecast and crew staffing: gathers inputs from the database for eta/."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from eta import forecast as fc
from eta import staffing as st
from eta.geofence import distance_m
from models import Delivery, DeliveryStatus, Site, Vehicle

HISTORY = timedelta(days=90)
# Until the ETA engine serves P10/P50/P90, trucks on the road get a physics spread: road
# distance ≈ 1.3 × straight line at 45 km/h, and a window from 0.8× to 1.5× the remaining time.
DETOUR = 1.3
CRUISE_MPS = 12.5
P10_FACTOR, P90_FACTOR = 0.8, 1.5


def site_shifts(site: Site) -> list[st.Shift]:
    # The forecast is hourly, so shifts are taken at whole hours.
    return [
        st.Shift(name=s["name"], start_hour=int(s["start"][:2]), end_hour=int(s["end"][:2]) or 24)
        for s in site.shifts
    ]


def _trucks_on_road(session: Session, site: Site, now: datetime) -> list[fc.TruckOnRoad]:
    trucks = []
    stmt = select(Delivery).where(
        Delivery.site_id == site.id, Delivery.status == DeliveryStatus.en_route
    )
    for delivery in session.exec(stmt):
        vehicle = session.get(Vehicle, delivery.vehicle_id) if delivery.vehicle_id else None
        if vehicle is not None and vehicle.last_lat is not None and vehicle.last_lon is not None:
            metres = distance_m(vehicle.last_lat, vehicle.last_lon, site.lat, site.lon) * DETOUR
            remaining = timedelta(seconds=metres / CRUISE_MPS)
            p50 = now + remaining
            p10, p90 = now + remaining * P10_FACTOR, now + remaining * P90_FACTOR
        else:
            p50 = max(delivery.slot_start_at, now)
            p10, p90 = p50 - timedelta(minutes=30), p50 + timedelta(minutes=60)
        trucks.append(
            fc.TruckOnRoad(
                delivery_id=str(delivery.id),
                pallets=float(delivery.pallets),
                eta_p10=max(p10, now),
                eta_p50=max(p50, now),
                eta_p90=max(p90, now),
            )
        )
    return trucks


def _history(session: Session, site: Site, now: datetime) -> list[fc.HistoricDelivery]:
    stmt = select(Delivery).where(
        Delivery.site_id == site.id,
        Delivery.slot_start_at >= now - HISTORY,
        Delivery.slot_start_at < now,
        col(Delivery.status).in_(
            [
                DeliveryStatus.completed,
                DeliveryStatus.no_show,
                DeliveryStatus.arrived,
                DeliveryStatus.unloading,
            ]
        ),
    )
    return [
        fc.HistoricDelivery(
            delivery_id=str(d.id),
            supplier_id=str(d.supplier_id),
            pallets=float(d.pallets),
            slot_start=d.slot_start_at,
            slot_end=d.slot_end_at,
            arrived_at=d.arrived_at,
        )
        for d in session.exec(stmt)
    ]


def arrivals(session: Session, *, site: Site, now: datetime, hours: int) -> list[fc.HourForecast]:
    """Expected trucks and pallets per hour with 80 % bands, for the next `hours`."""
    tz = ZoneInfo(site.timezone)
    booked_stmt = select(Delivery).where(
        Delivery.site_id == site.id,
        Delivery.status == DeliveryStatus.planned,
        Delivery.slot_end_at >= now - timedelta(hours=6),
        Delivery.slot_start_at < now + timedelta(hours=hours),
    )
    booked = [
        fc.BookedDelivery(
            delivery_id=str(d.id),
            supplier_id=str(d.supplier_id),
            slot_start=d.slot_start_at,
            slot_end=d.slot_end_at,
            pallets=float(d.pallets),
        )
        for d in session.exec(booked_stmt)
    ]
    stats = fc.supplier_stats_from_history(_history(session, site, now), as_of=now)
    return fc.forecast_arrivals(
        issued_at=now,
        trucks_on_road=_trucks_on_road(session, site, now),
        booked=booked,
        supplier_stats=stats,
        tz=tz,
        hours=hours,
    )


def staffing(
    session: Session,
    *,
    site: Site,
    now: datetime,
    hours: int,
    target_wait_min: float | None,
    crews: dict[str, int] | None,
) -> dict[str, Any]:
    """Recommended crews per shift (Erlang C) and the predicted queue; with `crews`, the
    queue for the planner's own choice (what-if)."""
    forecast = arrivals(session, site=site, now=now, hours=hours)
    tz = ZoneInfo(site.timezone)
    shifts = site_shifts(site)
    common = {
        "shifts": shifts,
        "docks": site.dock_count,
        "rate_per_crew": site.crew_rate_pph,
        "tz": tz,
    }
    plan = st.recommend_crews(
        forecast,
        target_wait_minutes=site.target_wait_min if target_wait_min is None else target_wait_min,
        max_crews=site.dock_count,
        **common,  # type: ignore[arg-type]
    )
    queue = st.what_if(forecast, crews, **common) if crews is not None else plan.queue  # type: ignore[arg-type]
    return {"forecast": forecast, "plan": plan, "queue": queue}


def finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else round(value, 3)

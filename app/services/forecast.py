"""Site arrivals forecast and crew staffing: gathers inputs from the database for eta/."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.services import eta_log, eta_serving
from eta import forecast as fc
from eta import staffing as st
from models import Delivery, DeliveryStatus, Site

HISTORY = timedelta(days=90)
# A served ETA older than this is not trusted for the forecast; a fresh one is made.
SERVED_ETA_MAX_AGE = timedelta(minutes=5)


def site_shifts(site: Site) -> list[st.Shift]:
    # The forecast is hourly, so shifts are taken at whole hours.
    return [
        st.Shift(name=s["name"], start_hour=int(s["start"][:2]), end_hour=int(s["end"][:2]) or 24)
        for s in site.shifts
    ]


def _trucks_on_road(session: Session, site: Site, now: datetime) -> list[fc.TruckOnRoad]:
    """Trucks on their way with their ETA window: the refresh job's latest served ETA, or a
    fresh estimate for a truck it has not served lately."""
    on_road = (Delivery.site_id == site.id, Delivery.status == DeliveryStatus.en_route)
    served = eta_log.latest(session, *on_road, not_before=now - SERVED_ETA_MAX_AGE)
    by_id = select(Delivery.id, Delivery.pallets).where(*on_road).order_by(col(Delivery.id))
    pallets = {i: n for i, n in session.exec(by_id) if i is not None}
    unserved = [delivery_id for delivery_id in pallets if delivery_id not in served]
    if unserved:
        assert site.id is not None
        deliveries = session.exec(select(Delivery).where(col(Delivery.id).in_(unserved))).all()
        served.update(
            eta_serving.current_estimates(
                session, deliveries=list(deliveries), sites={site.id: site}, now=now, scope=on_road
            )
        )
    return [
        fc.TruckOnRoad(
            delivery_id=str(delivery_id),
            pallets=float(count),
            eta_p10=max(found.p10, now),
            eta_p50=max(found.p50, now),
            eta_p90=max(found.p90, now),
        )
        for delivery_id, count in pallets.items()
        if (found := served.get(delivery_id)) is not None
    ]


def settled_history(
    session: Session, *, site: Site, since: datetime | None, until: datetime
) -> list[fc.HistoricDelivery]:
    """The site's deliveries whose outcome is known (arrived, or a no-show), for supplier
    statistics and for replaying forecasts."""
    stmt = select(Delivery).where(
        Delivery.site_id == site.id,
        Delivery.slot_start_at < until,
        col(Delivery.status).in_(
            [
                DeliveryStatus.completed,
                DeliveryStatus.no_show,
                DeliveryStatus.arrived,
                DeliveryStatus.unloading,
            ]
        ),
    )
    if since is not None:
        stmt = stmt.where(Delivery.slot_start_at >= since)
    return [
        fc.HistoricDelivery(
            delivery_id=str(d.id),
            supplier_id=str(d.supplier_id),
            pallets=float(d.pallets),
            slot_start=d.slot_start_at,
            slot_end=d.slot_end_at,
            arrived_at=d.arrived_at,
            booked_at=d.created_at,
            departed_at=d.departed_at,
        )
        for d in session.exec(stmt)
        if d.arrived_at is not None or d.status == DeliveryStatus.no_show
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
    history = settled_history(session, site=site, since=now - HISTORY, until=now)
    stats = fc.supplier_stats_from_history(history, as_of=now)
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
    target = site.target_wait_min if target_wait_min is None else target_wait_min
    if crews is None:
        return {"forecast": forecast, "plan": plan, "queue": plan.queue, "shifts": plan.shifts}
    queue = st.what_if(forecast, crews, **common)  # type: ignore[arg-type]
    return {
        "forecast": forecast,
        "plan": plan,
        "queue": queue,
        "shifts": [_what_if_shift(s, crews.get(s.name, 0), queue, target) for s in plan.shifts],
    }


def _what_if_shift(
    shift: st.ShiftStaffing, crews: int, queue: list[st.HourQueue], target_wait_min: float
) -> st.ShiftStaffing:
    """A recommended shift restated for the planner's crews, judged on the what-if queue."""
    waits = [q.mean_wait_minutes for q in queue if shift.start <= q.hour_start < shift.end]
    worst = max(waits, default=0.0)
    hours = (shift.end - shift.start).total_seconds() / 3600
    return dataclasses.replace(
        shift,
        crews=crews,
        crew_hours=crews * hours,
        cost=shift.cost / shift.crew_hours * crews * hours if shift.crew_hours else 0.0,
        worst_wait_minutes=worst,
        meets_target=worst <= target_wait_min,
    )


def finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else round(value, 3)

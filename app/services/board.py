"""The live board: every open delivery with its latest ETA, risk and reasons, the yard and docks.

It reads what the refresh jobs already wrote (the last served ETA of each delivery, open
alerts, the vehicle's latest fix) in a handful of queries, so a wall screen polling it costs
little whatever the number of trucks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as columns_select
from sqlmodel import Session, col, or_, select

from app.auth import Principal
from app.services import deliveries as deliveries_service
from app.services import eta_log
from app.services import sites as sites_service
from app.services.eta_serving import Estimate, risk_at
from models import (
    Alert,
    Delivery,
    DeliveryStatus,
    Dock,
    EtaPrediction,
    Site,
    Supplier,
    Vehicle,
)
from models.alert import AlertState

# Planned deliveries show up this long before their slot; trucks on the road always do.
PLANNED_AHEAD = timedelta(hours=24)
ON_THE_WAY = (DeliveryStatus.en_route, DeliveryStatus.arrived, DeliveryStatus.unloading)


def _open_deliveries(now: datetime) -> Any:
    return or_(
        col(Delivery.status).in_(ON_THE_WAY),
        (Delivery.status == DeliveryStatus.planned)
        & (Delivery.slot_start_at < now + PLANNED_AHEAD),
    )


def _open_reasons(session: Session, *criteria: Any) -> dict[int, list[dict[str, Any]]]:
    stmt = (
        select(Alert.delivery_id, Alert.id, Alert.reason, Alert.severity)
        .join(Delivery, col(Delivery.id) == col(Alert.delivery_id))
        .where(*criteria, Alert.state != AlertState.resolved)
        .order_by(col(Alert.opened_at))
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for delivery_id, alert_id, reason, severity in session.exec(stmt).all():
        if delivery_id is not None:
            found[delivery_id].append(
                {"alert_id": alert_id, "reason": reason, "severity": severity}
            )
    return found


def _minutes(start: datetime | None, end: datetime) -> float | None:
    return None if start is None else round((end - start).total_seconds() / 60, 1)


# One row per delivery with everything the screen shows, read as plain columns: building ORM
# objects for hundreds of deliveries would cost more than the query itself.
_COLUMNS: tuple[Any, ...] = (
    col(Delivery.id).label("delivery_id"),
    col(Delivery.external_ref),
    col(Delivery.site_id),
    col(Site.name).label("site"),
    col(Delivery.supplier_id),
    col(Supplier.name).label("supplier"),
    col(Delivery.vehicle_id),
    col(Vehicle.plate),
    col(Vehicle.last_lat).label("lat"),
    col(Vehicle.last_lon).label("lon"),
    col(Vehicle.last_fix_at),
    col(Vehicle.last_speed_mps).label("speed_mps"),
    col(Delivery.slot_start_at),
    col(Delivery.slot_end_at),
    col(Delivery.status),
    col(Delivery.pallets),
    col(Delivery.dock_id),
    col(Dock.name).label("dock"),
    col(Delivery.arrived_at),
    col(Delivery.dock_start_at),
)


def rows(session: Session, *criteria: Any, now: datetime) -> list[dict[str, Any]]:
    """One board row per delivery matching the criteria, ordered by slot."""
    newest = eta_log.newest_subquery(*criteria)
    stmt = (
        columns_select(
            *_COLUMNS,
            col(EtaPrediction.eta_p10_at),
            col(EtaPrediction.eta_p50_at),
            col(EtaPrediction.eta_p90_at),
            col(EtaPrediction.predicted_at).label("eta_predicted_at"),
            col(EtaPrediction.model_version),
            col(EtaPrediction.remaining_m),
        )
        .select_from(Delivery)
        .join(Site, col(Site.id) == col(Delivery.site_id))
        .join(Supplier, col(Supplier.id) == col(Delivery.supplier_id))
        .outerjoin(Vehicle, col(Vehicle.id) == col(Delivery.vehicle_id))
        .outerjoin(Dock, col(Dock.id) == col(Delivery.dock_id))
        .outerjoin(newest, newest.c.delivery_id == col(Delivery.id))
        .outerjoin(
            EtaPrediction,
            (col(EtaPrediction.delivery_id) == newest.c.delivery_id)
            & (col(EtaPrediction.predicted_at) == newest.c.at),
        )
        .where(*criteria)
        .order_by(col(Delivery.slot_start_at), col(Delivery.id))
    )
    found = [dict(r._mapping) for r in session.execute(stmt)]
    reasons = _open_reasons(session, *criteria) if found else {}
    for r in found:
        # An ETA is shown only while the truck is still on its way.
        if r["status"] not in (DeliveryStatus.planned, DeliveryStatus.en_route):
            for key in ("eta_p10_at", "eta_p50_at", "eta_p90_at", "eta_predicted_at"):
                r[key] = None
            r["model_version"] = r["remaining_m"] = None
        estimate = (
            Estimate(r["eta_p10_at"], r["eta_p50_at"], r["eta_p90_at"], None, r["model_version"])
            if r["eta_p50_at"] is not None
            else None
        )
        level = risk_at(arrived_at=r["arrived_at"], slot_end_at=r["slot_end_at"], found=estimate)
        r["risk"] = level.level if level else None
        r["minutes_late"] = level.minutes_late if level else None
        r["reasons"] = reasons.get(r["delivery_id"], [])
        r["waiting_min"] = (
            _minutes(r["arrived_at"], now)
            if r["status"] == DeliveryStatus.arrived and r["dock_start_at"] is None
            else None
        )
    return found


def site_board(session: Session, *, site: Site, now: datetime) -> dict[str, Any]:
    """The logistician's screen for one site: inbound rows, yard, docks and counts."""
    board_rows = rows(session, _open_deliveries(now), Delivery.site_id == site.id, now=now)
    by_id = {r["delivery_id"]: r for r in board_rows}
    busy = sites_service.busy_docks(session, site=site)
    docks = []
    for dock in sites_service.list_docks(session, site=site):
        occupant = by_id.get(busy.get(dock.id or 0, -1))
        docks.append(
            {
                "dock_id": dock.id,
                "name": dock.name,
                "is_active": dock.is_active,
                "delivery_id": occupant["delivery_id"] if occupant else None,
                "plate": occupant["plate"] if occupant else None,
                "supplier": occupant["supplier"] if occupant else None,
                "since": occupant["dock_start_at"] if occupant else None,
            }
        )
    yard = sorted(
        (r for r in board_rows if r["waiting_min"] is not None),
        key=lambda r: r["arrived_at"],
    )
    counts: dict[str, int] = defaultdict(int)
    for r in board_rows:
        counts[str(r["status"])] += 1
        if r["risk"] in ("late", "at_risk"):
            counts[r["risk"]] += 1
    return {
        "site": {
            "id": site.id,
            "code": site.code,
            "name": site.name,
            "timezone": site.timezone,
            "lat": site.lat,
            "lon": site.lon,
            "geofence_radius_m": site.geofence_radius_m,
            "dock_count": site.dock_count,
            "unloading_rate_pph": site.unloading_rate_pph,
        },
        "generated_at": now,
        "deliveries": board_rows,
        "yard": [
            {
                "delivery_id": r["delivery_id"],
                "plate": r["plate"],
                "supplier": r["supplier"],
                "arrived_at": r["arrived_at"],
                "waiting_min": r["waiting_min"],
                "pallets": r["pallets"],
            }
            for r in yard
        ],
        "docks": docks,
        "counts": dict(counts),
    }


def supplier_board(
    session: Session, *, principal: Principal, now: datetime, site_id: int | None = None
) -> list[dict[str, Any]]:
    """A supplier's own open deliveries, across every site, with ETAs and reasons."""
    criteria = [_open_deliveries(now), *deliveries_service.visible_criteria(principal)]
    if site_id is not None:
        criteria.append(Delivery.site_id == site_id)
    return rows(session, *criteria, now=now)


def eta_history(session: Session, *, delivery_id: int, max_points: int) -> list[EtaPrediction]:
    """How the delivery's served ETA moved, oldest first, thinned evenly to max_points."""
    logged = list(
        session.exec(
            select(EtaPrediction)
            .where(EtaPrediction.delivery_id == delivery_id)
            .order_by(col(EtaPrediction.predicted_at))
        ).all()
    )
    if len(logged) <= max_points:
        return logged
    step = len(logged) / max_points
    thinned = [logged[int(i * step)] for i in range(max_points - 1)]
    return [*thinned, logged[-1]]

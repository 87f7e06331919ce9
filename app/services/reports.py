"""Plan versus fact: punctuality, no-shows, yard waits and unloading pace over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session, select

from app.auth import Principal
from app.services.deliveries import scoped
from app.services.lifecycle import lateness_min
from models import Delivery, DeliveryStatus, Site, Supplier

REPORT_COLUMNS = [
    "group",
    "code",
    "name",
    "deliveries",
    "arrived",
    "on_time_rate",
    "mean_lateness_min",
    "p90_lateness_min",
    "no_show_rate",
    "mean_yard_wait_min",
    "unloading_min_per_pallet",
]


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None


def _summarise(deliveries: list[Delivery]) -> dict[str, Any]:
    """Figures for one group; cancelled deliveries are not part of the plan any more."""
    planned = [d for d in deliveries if d.status != DeliveryStatus.cancelled]
    arrived = [d for d in planned if d.arrived_at is not None]
    lateness = [m for d in arrived if (m := lateness_min(d)) is not None]
    decided = [d for d in planned if d.arrived_at is not None or d.status == DeliveryStatus.no_show]
    no_shows = [d for d in planned if d.status == DeliveryStatus.no_show]
    waits = [
        (d.dock_start_at - d.arrived_at).total_seconds() / 60
        for d in arrived
        if d.dock_start_at is not None and d.arrived_at is not None
    ]
    unloaded = [d for d in arrived if d.dock_start_at is not None and d.dock_end_at is not None]
    pallets = sum(d.pallets for d in unloaded)
    unloading_min = 0.0
    for d in unloaded:
        assert d.dock_start_at is not None and d.dock_end_at is not None
        unloading_min += (d.dock_end_at - d.dock_start_at).total_seconds() / 60
    return {
        "deliveries": len(planned),
        "arrived": len(arrived),
        # Arriving at or before the slot's end is on time; minutes early are not a fault.
        "on_time_rate": round(sum(1 for m in lateness if m <= 0) / len(lateness), 4)
        if lateness
        else None,
        "mean_lateness_min": _mean(lateness),
        "p90_lateness_min": round(float(np.percentile(lateness, 90)), 2) if lateness else None,
        "no_show_rate": round(len(no_shows) / len(decided), 4) if decided else None,
        "mean_yard_wait_min": _mean(waits),
        "unloading_min_per_pallet": round(unloading_min / pallets, 3) if pallets else None,
    }


def plan_vs_fact(
    session: Session,
    *,
    principal: Principal,
    slot_from: datetime,
    slot_to: datetime,
    group_by: str,
    site_id: int | None = None,
    supplier_id: int | None = None,
) -> list[dict[str, Any]]:
    stmt = scoped(
        select(Delivery).where(
            Delivery.slot_start_at >= slot_from, Delivery.slot_start_at < slot_to
        ),
        principal,
    )
    if site_id is not None:
        stmt = stmt.where(Delivery.site_id == site_id)
    if supplier_id is not None:
        stmt = stmt.where(Delivery.supplier_id == supplier_id)
    groups: dict[int, list[Delivery]] = {}
    for delivery in session.exec(stmt):
        key = delivery.site_id if group_by == "site" else delivery.supplier_id
        groups.setdefault(key, []).append(delivery)
    model = Site if group_by == "site" else Supplier
    rows = []
    for key in sorted(groups):
        owner = session.get(model, key)
        rows.append(
            {
                "group": group_by,
                "code": getattr(owner, "code", str(key)),
                "name": getattr(owner, "name", ""),
                **_summarise(groups[key]),
            }
        )
    return rows

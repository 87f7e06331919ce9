"""How good were the ETAs served? Logged predictions scored against actual arrivals."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select as columns_select
from sqlmodel import Session, col

from app.auth import Principal
from app.services import deliveries as deliveries_service
from eta import evaluation
from models import Delivery, EtaPrediction, Site, Supplier


def accuracy(
    session: Session,
    *,
    principal: Principal,
    arrived_from: datetime,
    arrived_to: datetime,
    group_by: str,
    site_id: int | None = None,
    supplier_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per site or supplier: error of every ETA served before arrival for deliveries that
    arrived in the period, overall and by horizon (minutes from prediction to arrival)."""
    owner = Delivery.site_id if group_by == "site" else Delivery.supplier_id
    criteria = [
        col(Delivery.arrived_at).is_not(None),
        col(Delivery.arrived_at) >= arrived_from,
        col(Delivery.arrived_at) < arrived_to,
        col(EtaPrediction.predicted_at) <= col(Delivery.arrived_at),
        *deliveries_service.visible_criteria(principal),
    ]
    if site_id is not None:
        criteria.append(Delivery.site_id == site_id)
    if supplier_id is not None:
        criteria.append(Delivery.supplier_id == supplier_id)
    rows = session.execute(
        columns_select(
            col(owner),
            col(Delivery.arrived_at),
            col(EtaPrediction.predicted_at),
            col(EtaPrediction.eta_p10_at),
            col(EtaPrediction.eta_p50_at),
            col(EtaPrediction.eta_p90_at),
        )
        .join(EtaPrediction, col(EtaPrediction.delivery_id) == col(Delivery.id))
        .where(*criteria)
    ).all()
    grouped: dict[int, list[list[float]]] = defaultdict(list)
    for key, arrived, at, p10, p50, p90 in rows:
        grouped[key].append(
            [
                (arrived - at).total_seconds(),
                (p10 - at).total_seconds(),
                (p50 - at).total_seconds(),
                (p90 - at).total_seconds(),
            ]
        )
    table: type[Site] | type[Supplier] = Site if group_by == "site" else Supplier
    names = {
        key: (code, name)
        for key, code, name in session.execute(
            columns_select(col(table.id), col(table.code), col(table.name)).where(
                col(table.id).in_(grouped)
            )
        )
    }
    out = []
    for key, values in sorted(grouped.items()):
        a = np.array(values)
        report = evaluation.evaluate(a[:, 0], a[:, 2], a[:, 1], a[:, 3])
        code, name = names.get(key, ("", ""))
        out.append({"group": group_by, "id": key, "code": code, "name": name, **report})
    return out

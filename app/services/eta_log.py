"""A served ETA, and reading the log of them: the newest of each delivery in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, func
from sqlalchemy import select as columns_select
from sqlmodel import Session, col

from models import Delivery, EtaPrediction


@dataclass(frozen=True)
class Estimate:
    p10: datetime
    p50: datetime
    p90: datetime
    remaining_m: float | None
    model_version: str
    served_at: datetime | None = None  # when it was logged (None: not logged yet)


def newest_subquery(*criteria: Any) -> Subquery:
    """(delivery_id, at) of the newest served ETA of every delivery matching the criteria."""
    return (
        columns_select(
            col(EtaPrediction.delivery_id), func.max(EtaPrediction.predicted_at).label("at")
        )
        .join(Delivery, col(Delivery.id) == col(EtaPrediction.delivery_id))
        .where(*criteria)
        .group_by(col(EtaPrediction.delivery_id))
        .subquery()
    )


def latest(session: Session, *criteria: Any, not_before: datetime) -> dict[int, Estimate]:
    """Delivery id → its newest served ETA, if served at or after `not_before`."""
    newest = newest_subquery(*criteria)
    stmt = (
        columns_select(
            col(EtaPrediction.delivery_id),
            col(EtaPrediction.eta_p10_at),
            col(EtaPrediction.eta_p50_at),
            col(EtaPrediction.eta_p90_at),
            col(EtaPrediction.remaining_m),
            col(EtaPrediction.model_version),
            col(EtaPrediction.predicted_at),
        )
        .join(
            newest,
            (col(EtaPrediction.delivery_id) == newest.c.delivery_id)
            & (col(EtaPrediction.predicted_at) == newest.c.at),
        )
        .where(newest.c.at >= not_before)
    )
    return {
        delivery_id: Estimate(p10, p50, p90, remaining, version, served_at)
        for delivery_id, p10, p50, p90, remaining, version, served_at in session.execute(stmt)
    }

"""ETAs with their P10–P90 window and the risk against the unloading slot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, DeliveryDep, QueryId, SessionDep, SiteDep
from app.errors import ERROR_RESPONSES, Forbidden, InvalidInput
from app.services import eta_accuracy, eta_serving
from models import Delivery, Site, utcnow

router = APIRouter(prefix="/api/v1", tags=["eta"], responses=ERROR_RESPONSES)


class EtaPublic(BaseModel):
    delivery_id: int
    status: str
    slot_start_at: datetime
    slot_end_at: datetime
    eta_p10_at: datetime | None
    eta_p50_at: datetime | None
    eta_p90_at: datetime | None
    remaining_m: float | None
    model_version: str | None
    risk: str | None
    minutes_late: float | None


def _public(delivery: Delivery, found: eta_serving.Estimate | None) -> EtaPublic:
    risk = eta_serving.risk(delivery, found)
    assert delivery.id is not None
    return EtaPublic(
        delivery_id=delivery.id,
        status=delivery.status,
        slot_start_at=delivery.slot_start_at,
        slot_end_at=delivery.slot_end_at,
        eta_p10_at=found.p10 if found else None,
        eta_p50_at=found.p50 if found else None,
        eta_p90_at=found.p90 if found else None,
        remaining_m=round(found.remaining_m, 1)
        if found and found.remaining_m is not None
        else None,
        model_version=found.model_version if found else None,
        risk=risk.level if risk else None,
        minutes_late=risk.minutes_late if risk else None,
    )


@router.get("/deliveries/{delivery_id}/eta", response_model=EtaPublic)
def delivery_eta(delivery: DeliveryDep, session: SessionDep) -> EtaPublic:
    """The delivery's ETA (P10/P50/P90), the model that made it, and its risk against the
    slot: `on_time` (P90 ≤ slot end), `late` (P50 > slot end + 10 min) or `at_risk`."""
    site = session.get(Site, delivery.site_id)
    assert site is not None
    found = eta_serving.estimate(session, delivery=delivery, site=site, now=utcnow())
    session.commit()
    return _public(delivery, found)


@router.get("/sites/{site_id}/inbound", response_model=list[EtaPublic])
def site_inbound(
    site: SiteDep, session: SessionDep, principal: CurrentPrincipal
) -> list[EtaPublic]:
    """Every open delivery of the site in the next 72 h with its ETA and risk (staff only)."""
    if principal.is_supplier:
        raise Forbidden("the site's inbound list is for its staff", code="forbidden_role")
    return [
        _public(d, e) for d, e in eta_serving.inbound_for_site(session, site=site, now=utcnow())
    ]


class AccuracyMetrics(BaseModel):
    n: int
    mae_min: float | None = None
    median_ae_min: float | None = None
    p90_ae_min: float | None = None
    mape_pct: float | None = None
    coverage_p10_p90: float | None = None


class AccuracyRow(BaseModel):
    group: str
    id: int
    code: str
    name: str
    all: AccuracyMetrics
    by_horizon: dict[str, AccuracyMetrics]


@router.get("/eta/accuracy", response_model=list[AccuracyRow])
def eta_accuracy_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    arrived_from: Annotated[
        datetime | None, Query(alias="from", description="arrivals from (default: 7 days ago)")
    ] = None,
    arrived_to: Annotated[
        datetime | None, Query(alias="to", description="arrivals before (default: now)")
    ] = None,
    group_by: Literal["site", "supplier"] = "site",
    site_id: QueryId = None,
    supplier_id: QueryId = None,
) -> list[dict[str, Any]]:
    """Accuracy of the ETAs served, after arrival: for deliveries that arrived in the period,
    every ETA logged before arrival scored against the actual arrival — MAE, median and p90
    absolute error (minutes), MAPE and P10–P90 coverage, overall and by horizon (0–15, 15–30,
    30–60, 60–120, 120+ minutes before arrival). Suppliers see their own deliveries, staff
    their sites'."""
    now = utcnow()
    arrived_to = arrived_to or now
    arrived_from = arrived_from or arrived_to - timedelta(days=7)
    if arrived_from.tzinfo is None or arrived_to.tzinfo is None:
        raise InvalidInput("from and to must carry a time zone", code="invalid_period")
    if arrived_to <= arrived_from:
        raise InvalidInput("to must be after from", code="invalid_period")
    return eta_accuracy.accuracy(
        session,
        principal=principal,
        arrived_from=arrived_from,
        arrived_to=arrived_to,
        group_by=group_by,
        site_id=site_id,
        supplier_id=supplier_id,
    )

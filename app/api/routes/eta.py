"""ETAs with their P10–P90 window and the risk against the unloading slot."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, DeliveryDep, SessionDep, SiteDep
from app.errors import ERROR_RESPONSES, Forbidden
from app.services import eta_serving
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

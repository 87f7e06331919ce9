"""Board endpoints behind the live screens: one call gives everything a view shows."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, DeliveryDep, QueryId, SessionDep, SiteDep
from app.errors import ERROR_RESPONSES, Forbidden
from app.services import board
from models import utcnow
from models.eta_prediction import EtaPredictionPublic

router = APIRouter(prefix="/api/v1", tags=["board"], responses=ERROR_RESPONSES)


class Reason(BaseModel):
    alert_id: int
    reason: str
    severity: str


class BoardRow(BaseModel):
    delivery_id: int
    external_ref: str
    site_id: int
    site: str | None
    supplier_id: int
    supplier: str | None
    vehicle_id: int | None
    plate: str | None
    lat: float | None
    lon: float | None
    last_fix_at: datetime | None
    speed_mps: float | None
    slot_start_at: datetime
    slot_end_at: datetime
    status: str
    pallets: int
    dock_id: int | None
    dock: str | None
    arrived_at: datetime | None
    dock_start_at: datetime | None
    eta_p10_at: datetime | None
    eta_p50_at: datetime | None
    eta_p90_at: datetime | None
    eta_predicted_at: datetime | None
    model_version: str | None
    remaining_m: float | None
    risk: str | None
    minutes_late: float | None
    reasons: list[Reason]
    waiting_min: float | None


class BoardSite(BaseModel):
    id: int
    code: str
    name: str
    timezone: str
    lat: float
    lon: float
    geofence_radius_m: float
    dock_count: int
    unloading_rate_pph: float


class YardEntry(BaseModel):
    delivery_id: int
    plate: str | None
    supplier: str | None
    arrived_at: datetime | None
    waiting_min: float | None
    pallets: int


class DockState(BaseModel):
    dock_id: int
    name: str
    is_active: bool
    delivery_id: int | None
    plate: str | None
    supplier: str | None
    since: datetime | None


class SiteBoard(BaseModel):
    site: BoardSite
    generated_at: datetime
    deliveries: list[BoardRow]
    yard: list[YardEntry]
    docks: list[DockState]
    counts: dict[str, int]


@router.get("/sites/{site_id}/board", response_model=SiteBoard)
def site_board(site: SiteDep, session: SessionDep, principal: CurrentPrincipal) -> SiteBoard:
    """The site's live screen in one call (staff only): open deliveries in the next 24 h and
    on the road with their latest ETA (P10–P90), risk and open alert reasons; the yard
    (trucks on site waiting for a dock, minutes waited) and every dock's occupant."""
    if principal.is_supplier:
        raise Forbidden("the site's board is for its staff", code="forbidden_role")
    return SiteBoard.model_validate(board.site_board(session, site=site, now=utcnow()))


@router.get("/board", response_model=list[BoardRow])
def my_board(
    session: SessionDep, principal: CurrentPrincipal, site_id: QueryId = None
) -> list[BoardRow]:
    """The caller's open deliveries across sites with ETAs and reasons: a supplier sees only
    its own, staff the sites they work at (optionally one site)."""
    rows = board.supplier_board(session, principal=principal, now=utcnow(), site_id=site_id)
    return [BoardRow.model_validate(r) for r in rows]


@router.get("/deliveries/{delivery_id}/eta-history", response_model=list[EtaPredictionPublic])
def eta_history(delivery: DeliveryDep, session: SessionDep) -> list[EtaPredictionPublic]:
    """Every ETA served for the delivery, oldest first (at most 300, evenly thinned): how the
    prediction moved as the truck drove."""
    assert delivery.id is not None
    return [
        EtaPredictionPublic.model_validate(p)
        for p in board.eta_history(session, delivery_id=delivery.id, max_points=300)
    ]

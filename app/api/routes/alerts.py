"""Alerts: the site's feed (open, acknowledged, resolved) and acknowledgement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CurrentPrincipal, PathId, SessionDep, SiteDep
from app.errors import ERROR_RESPONSES, Forbidden
from app.services import alerts as alerts_service
from models import utcnow
from models.alert import AlertPublic

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=ERROR_RESPONSES)


@router.get("/sites/{site_id}/alerts", response_model=list[AlertPublic])
def site_alerts(
    site: SiteDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    """The site's alerts, newest first: reason, severity, message and their history."""
    if principal.is_supplier:
        raise Forbidden("the site's alerts are for its staff", code="forbidden_role")
    rows = alerts_service.list_for_site(session, site=site, state=state, limit=limit)
    return [AlertPublic.model_validate(a) for a in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(alert_id: PathId, session: SessionDep, principal: CurrentPrincipal) -> AlertPublic:
    """A logistician has seen it; it still resolves by itself when the cause goes away."""
    alert = alerts_service.acknowledge(
        session, principal=principal, alert_id=alert_id, now=utcnow()
    )
    return AlertPublic.model_validate(alert)

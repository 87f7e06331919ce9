"""Delivery events (dock and status), the timeline, and the plan-versus-fact report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, DeliveryDep, QueryId, SessionDep
from app.api.responses import csv_response
from app.errors import ERROR_RESPONSES, InvalidInput
from app.services import lifecycle, reports
from models.delivery import DeliveryEventIn, DeliveryPublic, DwellPublic
from models.delivery_event import DeliveryEventPublic

router = APIRouter(prefix="/api/v1", tags=["lifecycle"], responses=ERROR_RESPONSES)

MAX_TRACK_POINTS = 400


class TrackPoint(BaseModel):
    at: datetime
    lat: float
    lon: float
    speed_mps: float | None


class Timeline(BaseModel):
    delivery: DeliveryPublic
    events: list[DeliveryEventPublic]
    dwell: DwellPublic
    track: list[TrackPoint]


@router.post(
    "/deliveries/{delivery_id}/events",
    response_model=DeliveryEventPublic,
    status_code=status.HTTP_201_CREATED,
)
def post_event(
    delivery: DeliveryDep, data: DeliveryEventIn, session: SessionDep, principal: CurrentPrincipal
) -> DeliveryEventPublic:
    """Record a dock or status event: `dock_assigned` (with `dock_id`), `unloading`
    (unloading started), `completed` (finished), `arrived`, `en_route`, `cancelled`,
    `no_show` or `left`. Illegal transitions answer 409 `illegal_transition`."""
    event = lifecycle.record_manual(
        session,
        principal=principal,
        delivery=delivery,
        kind=data.kind,
        at=data.at,
        dock_id=data.dock_id,
        note=data.note,
    )
    return DeliveryEventPublic.model_validate(event)


@router.get("/deliveries/{delivery_id}/timeline", response_model=Timeline)
def timeline(delivery: DeliveryDep, session: SessionDep) -> Timeline:
    """Events, dwell times and a simplified track (at most 400 points) of one delivery."""
    track = [
        TrackPoint(at=at, lat=lat, lon=lon, speed_mps=speed)
        for at, lat, lon, speed in lifecycle.simplified_track(
            session, delivery=delivery, max_points=MAX_TRACK_POINTS
        )
    ]
    return Timeline(
        delivery=DeliveryPublic.model_validate(delivery),
        events=[
            DeliveryEventPublic.model_validate(e)
            for e in lifecycle.events_of(session, delivery=delivery)
        ],
        dwell=DwellPublic(**asdict(lifecycle.dwell(delivery))),
        track=track,
    )


class PlanVsFactRow(BaseModel):
    group: str
    code: str
    name: str
    deliveries: int
    arrived: int
    on_time_rate: float | None
    mean_lateness_min: float | None
    p90_lateness_min: float | None
    no_show_rate: float | None
    mean_yard_wait_min: float | None
    unloading_min_per_pallet: float | None


@router.get(
    "/reports/plan-vs-fact",
    response_model=list[PlanVsFactRow],
    responses={200: {"content": {"text/csv": {}}}},
)
def plan_vs_fact(
    session: SessionDep,
    principal: CurrentPrincipal,
    slot_from: Annotated[datetime, Query(alias="from", description="slots starting from")],
    slot_to: Annotated[datetime, Query(alias="to", description="slots starting before")],
    group_by: Literal["site", "supplier"] = "site",
    site_id: QueryId = None,
    supplier_id: QueryId = None,
    format: Literal["json", "csv"] = "json",  # noqa: A002 - the public parameter name
) -> Any:
    """Per site or per supplier: on-time rate, mean and p90 lateness at the gate (minutes;
    early is negative), no-show rate, mean yard wait and unloading minutes per pallet."""
    if slot_from.tzinfo is None or slot_to.tzinfo is None:
        raise InvalidInput("from and to must carry a time zone", code="invalid_period")
    if slot_to <= slot_from:
        raise InvalidInput("to must be after from", code="invalid_period")
    rows = reports.plan_vs_fact(
        session,
        principal=principal,
        slot_from=slot_from,
        slot_to=slot_to,
        group_by=group_by,
        site_id=site_id,
        supplier_id=supplier_id,
    )
    if format == "csv":
        return csv_response(rows, filename="plan-vs-fact.csv", columns=reports.REPORT_COLUMNS)
    return [PlanVsFactRow(**row) for row in rows]

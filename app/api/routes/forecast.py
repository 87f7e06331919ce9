"""Planner endpoints: arrivals forecast per hour and crews per shift, with CSV export."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, SessionDep, SiteDep
from app.api.responses import csv_response
from app.errors import ERROR_RESPONSES, Forbidden, InvalidInput
from app.services import forecast as forecast_service
from models import utcnow

router = APIRouter(prefix="/api/v1/sites", tags=["forecast"], responses=ERROR_RESPONSES)
Hours = Annotated[int, Query(ge=1, le=168, description="horizon in hours")]


class HourForecastPublic(BaseModel):
    hour_start: datetime
    trucks: float
    trucks_p10: float
    trucks_p90: float
    pallets: float
    pallets_p10: float
    pallets_p90: float


class HourQueuePublic(BaseModel):
    hour_start: datetime
    arrivals: float
    crews: int
    servers: int
    dock_utilisation: float
    mean_waiting: float
    waiting_at_end: float
    mean_wait_minutes: float | None  # None: no staffing can serve this hour (unbounded wait)


class ShiftPublic(BaseModel):
    name: str
    local_date: date
    start: datetime
    end: datetime
    crews: int
    worst_wait_minutes: float | None
    meets_target: bool


class StaffingPublic(BaseModel):
    target_wait_min: float
    shifts: list[ShiftPublic]
    queue: list[HourQueuePublic]
    unmet_hours: list[datetime]
    what_if: dict[str, int] | None


def _planner_view(principal: Any) -> None:
    if principal.is_supplier:
        raise Forbidden("forecasts are for the site's staff", code="forbidden_role")


@router.get(
    "/{site_id}/forecast",
    response_model=list[HourForecastPublic],
    responses={200: {"content": {"text/csv": {}}}},
)
def site_forecast(
    site: SiteDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    hours: Hours = 72,
    format: Literal["json", "csv"] = "json",  # noqa: A002 - public parameter name
) -> Any:
    """Expected trucks and pallets per hour, with an 80 % band (P10–P90)."""
    _planner_view(principal)
    rows = [
        HourForecastPublic(
            hour_start=h.hour_start,
            trucks=round(h.trucks, 3),
            trucks_p10=h.trucks_p10,
            trucks_p90=h.trucks_p90,
            pallets=round(h.pallets, 2),
            pallets_p10=h.pallets_p10,
            pallets_p90=h.pallets_p90,
        )
        for h in forecast_service.arrivals(session, site=site, now=utcnow(), hours=hours)
    ]
    if format == "csv":
        return csv_response(
            [r.model_dump(mode="json") for r in rows], filename=f"forecast-{site.code}.csv"
        )
    return rows


def _parse_crews(values: list[str] | None) -> dict[str, int] | None:
    if not values:
        return None
    crews: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition(":")
        if not sep or not count.isdigit() or int(count) > 500:
            raise InvalidInput(f"crews must look like 'day:3', got {value!r}", code="invalid_crews")
        crews[name] = int(count)
    return crews


@router.get(
    "/{site_id}/staffing",
    response_model=StaffingPublic,
    responses={200: {"content": {"text/csv": {}}}},
)
def site_staffing(
    site: SiteDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    hours: Hours = 72,
    target_wait_min: Annotated[float | None, Query(ge=0, le=1440)] = None,
    crews: Annotated[
        list[str] | None,
        Query(max_length=50, description="what-if, e.g. crews=day:3&crews=night:1"),
    ] = None,
    format: Literal["json", "csv"] = "json",  # noqa: A002 - public parameter name
) -> Any:
    """Crews per shift keeping the expected wait under the target (Erlang C), and the
    predicted yard queue; `crews` replaces the recommendation with the planner's own."""
    _planner_view(principal)
    chosen = _parse_crews(crews)
    known = {s["name"] for s in site.shifts}
    if chosen and set(chosen) - known:
        raise InvalidInput(
            f"unknown shifts {sorted(set(chosen) - known)}; this site has {sorted(known)}",
            code="invalid_crews",
        )
    result = forecast_service.staffing(
        session, site=site, now=utcnow(), hours=hours, target_wait_min=target_wait_min, crews=chosen
    )
    plan = result["plan"]
    finite = forecast_service.finite
    body = StaffingPublic(
        target_wait_min=site.target_wait_min if target_wait_min is None else target_wait_min,
        shifts=[
            ShiftPublic(
                name=s.name,
                local_date=s.local_date,
                start=s.start,
                end=s.end,
                crews=s.crews,
                worst_wait_minutes=finite(s.worst_wait_minutes),
                meets_target=s.meets_target,
            )
            for s in result["shifts"]
        ],
        queue=[
            HourQueuePublic(
                hour_start=q.hour_start,
                arrivals=round(q.arrivals, 3),
                crews=q.crews,
                servers=q.servers,
                dock_utilisation=round(q.dock_utilisation, 3),
                mean_waiting=round(q.mean_waiting, 3),
                waiting_at_end=round(q.waiting_at_end, 3),
                mean_wait_minutes=finite(q.mean_wait_minutes),
            )
            for q in result["queue"]
        ],
        unmet_hours=plan.unmet_hours,
        what_if=chosen,
    )
    if format == "csv":
        return csv_response(
            [q.model_dump(mode="json") for q in body.queue], filename=f"staffing-{site.code}.csv"
        )
    return body

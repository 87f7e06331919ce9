"""Vehicles: a supplier key manages its own fleet; admins manage all; staff read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import (
    CurrentPrincipal,
    IngestCacheDep,
    PaginationDep,
    QueryId,
    SessionDep,
    VehicleDep,
)
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES
from app.services import vehicles as vehicles_service
from models import Page
from models.vehicle import VehicleCreate, VehiclePublic, VehicleUpdate

router = APIRouter(prefix="/api/v1/vehicles", tags=["vehicles"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[VehiclePublic])
def list_vehicles(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PaginationDep,
    supplier_id: QueryId = None,
    q: Annotated[
        str | None, Query(max_length=100, description="plate or device id contains")
    ] = None,
) -> Page[VehiclePublic]:
    """List vehicles visible to the caller, with their latest fix."""
    items, total = vehicles_service.list_visible(
        session,
        principal=principal,
        supplier_id=supplier_id,
        q=q,
        limit=page.limit,
        offset=page.offset,
    )
    return page_of(VehiclePublic, items, total, page)


@router.post("", response_model=VehiclePublic, status_code=status.HTTP_201_CREATED)
def create_vehicle(
    data: VehicleCreate, session: SessionDep, principal: CurrentPrincipal
) -> VehiclePublic:
    """Register a vehicle and its GPS device id (unique within the supplier)."""
    return VehiclePublic.model_validate(
        vehicles_service.create(session, principal=principal, data=data)
    )


@router.get("/{vehicle_id}", response_model=VehiclePublic)
def get_vehicle(vehicle: VehicleDep) -> VehiclePublic:
    """One vehicle with its latest fix."""
    return VehiclePublic.model_validate(vehicle)


@router.patch("/{vehicle_id}", response_model=VehiclePublic)
def update_vehicle(
    vehicle: VehicleDep,
    data: VehicleUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    cache: IngestCacheDep,
) -> VehiclePublic:
    """Change a vehicle's plate, description or active flag."""
    cache.forget_vehicle(
        supplier_id=vehicle.supplier_id, device_id=vehicle.device_id, vehicle_id=vehicle.id
    )
    return VehiclePublic.model_validate(
        vehicles_service.update(session, principal=principal, vehicle=vehicle, data=data)
    )


@router.delete("/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_vehicle(
    vehicle: VehicleDep, session: SessionDep, principal: CurrentPrincipal, cache: IngestCacheDep
) -> None:
    """Delete a vehicle that has no positions or deliveries."""
    cache.forget_vehicle(
        supplier_id=vehicle.supplier_id, device_id=vehicle.device_id, vehicle_id=vehicle.id
    )
    vehicles_service.delete(session, principal=principal, vehicle=vehicle)

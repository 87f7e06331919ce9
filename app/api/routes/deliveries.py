"""Deliveries: suppliers book and change their own; staff see those of their sites."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CurrentPrincipal, DeliveryDep, PaginationDep, QueryId, SessionDep
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES
from app.services import deliveries as deliveries_service
from models import DeliveryStatus, Page
from models.delivery import DeliveryCreate, DeliveryPublic, DeliveryUpdate

router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[DeliveryPublic])
def list_deliveries(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PaginationDep,
    site_id: QueryId = None,
    supplier_id: QueryId = None,
    vehicle_id: QueryId = None,
    status: Annotated[list[DeliveryStatus] | None, Query()] = None,
    slot_from: Annotated[datetime | None, Query(description="slot ends at or after")] = None,
    slot_to: Annotated[datetime | None, Query(description="slot starts before")] = None,
) -> Page[DeliveryPublic]:
    """List deliveries visible to the caller, ordered by slot start."""
    items, total = deliveries_service.list_visible(
        session,
        principal=principal,
        site_id=site_id,
        supplier_id=supplier_id,
        vehicle_id=vehicle_id,
        status=status,
        slot_from=slot_from,
        slot_to=slot_to,
        limit=page.limit,
        offset=page.offset,
    )
    return page_of(DeliveryPublic, items, total, page)


@router.post("", response_model=DeliveryPublic, status_code=status.HTTP_201_CREATED)
def create_delivery(
    data: DeliveryCreate, session: SessionDep, principal: CurrentPrincipal
) -> DeliveryPublic:
    """Book a delivery: site, vehicle (optional until known), slot and pallets."""
    return DeliveryPublic.model_validate(
        deliveries_service.create(session, principal=principal, data=data)
    )


@router.get("/{delivery_id}", response_model=DeliveryPublic)
def get_delivery(delivery: DeliveryDep) -> DeliveryPublic:
    """One delivery with its lifecycle timestamps."""
    return DeliveryPublic.model_validate(delivery)


@router.patch("/{delivery_id}", response_model=DeliveryPublic)
def update_delivery(
    delivery: DeliveryDep, data: DeliveryUpdate, session: SessionDep, principal: CurrentPrincipal
) -> DeliveryPublic:
    """Change the vehicle, slot, pallets or notes of an open delivery."""
    return DeliveryPublic.model_validate(
        deliveries_service.update(session, principal=principal, delivery=delivery, data=data)
    )


@router.delete("/{delivery_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_delivery(
    delivery: DeliveryDep, session: SessionDep, principal: CurrentPrincipal
) -> None:
    """Delete a delivery that is still planned."""
    deliveries_service.delete(session, principal=principal, delivery=delivery)

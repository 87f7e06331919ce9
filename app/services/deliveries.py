"""Deliveries: booking, changes and scoped queries (staff by site, suppliers by ownership)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth import Principal
from app.errors import Conflict, InvalidInput, NotFound
from app.services import sites as sites_service
from app.services import vehicles as vehicles_service
from app.services.common import apply_update, commit_or_conflict, paginate
from models import Delivery, DeliveryStatus, utcnow
from models.delivery import DeliveryCreate, DeliveryUpdate


def visible(principal: Principal, delivery: Delivery) -> bool:
    if principal.is_supplier:
        return delivery.supplier_id == principal.supplier_id
    return principal.sees_site(delivery.site_id)


def get(session: Session, *, principal: Principal, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not visible(principal, delivery):
        raise NotFound(f"delivery {delivery_id} not found", code="delivery_not_found")
    return delivery


def visible_criteria(principal: Principal) -> list[Any]:
    """Only the deliveries the caller may see: a supplier its own, staff their sites'."""
    if principal.is_supplier:
        return [Delivery.supplier_id == principal.supplier_id]
    if principal.site_ids is not None:
        return [col(Delivery.site_id).in_(principal.site_ids or {-1})]
    return []


def scoped(stmt: SelectOfScalar[Delivery], principal: Principal) -> SelectOfScalar[Delivery]:
    return stmt.where(*visible_criteria(principal))


def list_visible(
    session: Session,
    *,
    principal: Principal,
    site_id: int | None,
    supplier_id: int | None,
    vehicle_id: int | None,
    status: list[DeliveryStatus] | None,
    slot_from: datetime | None,
    slot_to: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Delivery], int]:
    stmt = scoped(select(Delivery), principal)
    if site_id is not None:
        stmt = stmt.where(Delivery.site_id == site_id)
    if supplier_id is not None:
        stmt = stmt.where(Delivery.supplier_id == supplier_id)
    if vehicle_id is not None:
        stmt = stmt.where(Delivery.vehicle_id == vehicle_id)
    if status:
        stmt = stmt.where(col(Delivery.status).in_(status))
    if slot_from is not None:
        stmt = stmt.where(Delivery.slot_end_at >= slot_from)
    if slot_to is not None:
        stmt = stmt.where(Delivery.slot_start_at < slot_to)
    return paginate(session, stmt, limit=limit, offset=offset, order_by=Delivery.slot_start_at)


def _check_vehicle(
    session: Session, *, principal: Principal, vehicle_id: int | None, supplier_id: int
) -> None:
    if vehicle_id is None:
        return
    vehicle = vehicles_service.get(session, principal=principal, vehicle_id=vehicle_id)
    if vehicle.supplier_id != supplier_id:
        # Answer as for a missing vehicle: the caller must not learn whose vehicle it is.
        raise NotFound(f"vehicle {vehicle_id} not found", code="vehicle_not_found")


def create(session: Session, *, principal: Principal, data: DeliveryCreate) -> Delivery:
    vehicles_service.require_writer(principal)
    supplier_id = vehicles_service.owner_supplier_id(
        session, principal=principal, requested=data.supplier_id
    )
    sites_service.get(session, principal=principal, site_id=data.site_id)
    _check_vehicle(
        session, principal=principal, vehicle_id=data.vehicle_id, supplier_id=supplier_id
    )
    delivery = Delivery(**data.model_dump(exclude={"supplier_id"}), supplier_id=supplier_id)
    session.add(delivery)
    commit_or_conflict(
        session,
        code="delivery_exists",
        message=f"a delivery with external_ref {data.external_ref!r} exists for this supplier",
    )
    session.refresh(delivery)
    return delivery


def update(
    session: Session, *, principal: Principal, delivery: Delivery, data: DeliveryUpdate
) -> Delivery:
    vehicles_service.require_writer(principal)
    if delivery.status in (
        DeliveryStatus.completed,
        DeliveryStatus.cancelled,
        DeliveryStatus.no_show,
    ):
        raise Conflict(
            f"a {delivery.status.value} delivery cannot be changed", code="delivery_closed"
        )
    if "vehicle_id" in data.model_fields_set:
        _check_vehicle(
            session,
            principal=principal,
            vehicle_id=data.vehicle_id,
            supplier_id=delivery.supplier_id,
        )
    start = data.slot_start_at or delivery.slot_start_at
    end = data.slot_end_at or delivery.slot_end_at
    if end <= start:
        raise InvalidInput("slot_end_at must be after slot_start_at", code="invalid_slot")
    apply_update(delivery, data)
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.commit()
    session.refresh(delivery)
    return delivery


def delete(session: Session, *, principal: Principal, delivery: Delivery) -> None:
    vehicles_service.require_writer(principal)
    if delivery.status != DeliveryStatus.planned:
        raise Conflict(
            "only a planned delivery can be deleted; cancel it instead", code="delivery_not_planned"
        )
    session.delete(delivery)
    session.commit()

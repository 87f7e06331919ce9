"""Vehicles: a supplier sees and changes only its own; staff read all."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Forbidden, InvalidInput, NotFound
from app.services.common import apply_update, commit_or_conflict, paginate
from models import Supplier, Vehicle
from models.vehicle import VehicleCreate, VehicleUpdate


def require_writer(principal: Principal) -> None:
    """Supplier systems (API keys) and admins change vehicles and deliveries; viewers only look."""
    if not (principal.kind == "api_key" or principal.is_admin):
        raise Forbidden(
            "this action needs a supplier API key or the admin role", code="forbidden_role"
        )


def owner_supplier_id(session: Session, *, principal: Principal, requested: int | None) -> int:
    """The supplier a new object belongs to: the caller's own, or the one an admin names."""
    if principal.is_supplier:
        if requested is not None and requested != principal.supplier_id:
            raise NotFound(f"supplier {requested} not found", code="supplier_not_found")
        assert principal.supplier_id is not None
        return principal.supplier_id
    if requested is None:
        raise InvalidInput("supplier_id is required", code="supplier_id_required")
    if session.get(Supplier, requested) is None:
        raise NotFound(f"supplier {requested} not found", code="supplier_not_found")
    return requested


def get(session: Session, *, principal: Principal, vehicle_id: int) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or (principal.is_supplier and vehicle.supplier_id != principal.supplier_id):
        raise NotFound(f"vehicle {vehicle_id} not found", code="vehicle_not_found")
    return vehicle


def list_visible(
    session: Session,
    *,
    principal: Principal,
    supplier_id: int | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Vehicle], int]:
    stmt = select(Vehicle)
    if principal.is_supplier:
        stmt = stmt.where(Vehicle.supplier_id == principal.supplier_id)
    if supplier_id is not None:
        stmt = stmt.where(Vehicle.supplier_id == supplier_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(col(Vehicle.plate).ilike(pattern) | col(Vehicle.device_id).ilike(pattern))
    return paginate(session, stmt, limit=limit, offset=offset, order_by=Vehicle.id)


def create(session: Session, *, principal: Principal, data: VehicleCreate) -> Vehicle:
    require_writer(principal)
    supplier_id = owner_supplier_id(session, principal=principal, requested=data.supplier_id)
    vehicle = Vehicle(**data.model_dump(exclude={"supplier_id"}), supplier_id=supplier_id)
    session.add(vehicle)
    commit_or_conflict(
        session,
        code="vehicle_exists",
        message="this supplier already has a vehicle with that plate or device id",
    )
    session.refresh(vehicle)
    return vehicle


def update(
    session: Session, *, principal: Principal, vehicle: Vehicle, data: VehicleUpdate
) -> Vehicle:
    require_writer(principal)
    apply_update(vehicle, data)
    session.add(vehicle)
    commit_or_conflict(
        session,
        code="vehicle_exists",
        message="this supplier already has a vehicle with that plate",
    )
    session.refresh(vehicle)
    return vehicle


def delete(session: Session, *, principal: Principal, vehicle: Vehicle) -> None:
    require_writer(principal)
    session.delete(vehicle)
    commit_or_conflict(
        session,
        code="vehicle_in_use",
        message="the vehicle has positions or deliveries; deactivate it instead",
    )

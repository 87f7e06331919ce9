"""Suppliers: staff see them all, a supplier sees only itself."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import NotFound
from app.services.common import apply_update, commit_or_conflict, paginate
from models import Supplier
from models.supplier import SupplierCreate, SupplierUpdate


def get(session: Session, *, principal: Principal, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or (principal.is_supplier and principal.supplier_id != supplier_id):
        raise NotFound(f"supplier {supplier_id} not found", code="supplier_not_found")
    return supplier


def list_visible(
    session: Session, *, principal: Principal, q: str | None, limit: int, offset: int
) -> tuple[list[Supplier], int]:
    stmt = select(Supplier)
    if principal.is_supplier:
        stmt = stmt.where(Supplier.id == principal.supplier_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(col(Supplier.code).ilike(pattern) | col(Supplier.name).ilike(pattern))
    return paginate(session, stmt, limit=limit, offset=offset, order_by=Supplier.id)


def create(session: Session, *, data: SupplierCreate) -> Supplier:
    supplier = Supplier(**data.model_dump())
    session.add(supplier)
    commit_or_conflict(
        session, code="supplier_code_taken", message=f"supplier code {data.code!r} exists"
    )
    session.refresh(supplier)
    return supplier


def update(session: Session, *, supplier: Supplier, data: SupplierUpdate) -> Supplier:
    apply_update(supplier, data)
    session.add(supplier)
    session.commit()
    session.refresh(supplier)
    return supplier


def delete(session: Session, *, supplier: Supplier) -> None:
    session.delete(supplier)
    commit_or_conflict(
        session,
        code="supplier_in_use",
        message="the supplier has vehicles or deliveries; deactivate it instead",
    )

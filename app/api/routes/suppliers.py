"""Suppliers: admins manage them; staff read all; a supplier reads only itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    IngestCacheDep,
    PaginationDep,
    SessionDep,
    SupplierDep,
)
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES
from app.services import suppliers as suppliers_service
from models import Page
from models.supplier import SupplierCreate, SupplierPublic, SupplierUpdate

router = APIRouter(prefix="/api/v1/suppliers", tags=["suppliers"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[SupplierPublic])
def list_suppliers(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PaginationDep,
    q: Annotated[str | None, Query(max_length=100, description="code or name contains")] = None,
) -> Page[SupplierPublic]:
    """List suppliers visible to the caller."""
    items, total = suppliers_service.list_visible(
        session, principal=principal, q=q, limit=page.limit, offset=page.offset
    )
    return page_of(SupplierPublic, items, total, page)


@router.post("", response_model=SupplierPublic, status_code=status.HTTP_201_CREATED)
def create_supplier(
    data: SupplierCreate, session: SessionDep, _admin: AdminPrincipal
) -> SupplierPublic:
    """Register a supplier (admin)."""
    return SupplierPublic.model_validate(suppliers_service.create(session, data=data))


@router.get("/{supplier_id}", response_model=SupplierPublic)
def get_supplier(supplier: SupplierDep) -> SupplierPublic:
    """One supplier."""
    return SupplierPublic.model_validate(supplier)


@router.patch("/{supplier_id}", response_model=SupplierPublic)
def update_supplier(
    supplier: SupplierDep,
    data: SupplierUpdate,
    session: SessionDep,
    _admin: AdminPrincipal,
    cache: IngestCacheDep,
) -> SupplierPublic:
    """Change a supplier (admin); `is_active=false` disables its keys."""
    cache.keys.clear()
    return SupplierPublic.model_validate(
        suppliers_service.update(session, supplier=supplier, data=data)
    )


@router.delete("/{supplier_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_supplier(supplier: SupplierDep, session: SessionDep, _admin: AdminPrincipal) -> None:
    """Delete a supplier with no vehicles or deliveries (admin)."""
    suppliers_service.delete(session, supplier=supplier)

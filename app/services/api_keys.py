"""Supplier API keys: created with the raw key shown once, listed by prefix, revoked."""

from __future__ import annotations

from sqlmodel import Session, select

from app.auth import Principal
from app.errors import Forbidden, NotFound
from app.security import new_api_key
from app.services.common import paginate
from app.services.vehicles import owner_supplier_id
from models import ApiKey, Role, utcnow
from models.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic


def require_key_manager(principal: Principal) -> None:
    # A key cannot mint keys: a leaked key must not be able to outlive its revocation.
    if principal.kind != "user" or principal.role not in (Role.admin, Role.supplier_viewer):
        raise Forbidden(
            "API keys are managed by admins and by the supplier's own users", code="forbidden_role"
        )


def get(session: Session, *, principal: Principal, key_id: int) -> ApiKey:
    require_key_manager(principal)
    key = session.get(ApiKey, key_id)
    if key is None or (principal.is_supplier and key.supplier_id != principal.supplier_id):
        raise NotFound(f"API key {key_id} not found", code="api_key_not_found")
    return key


def list_visible(
    session: Session, *, principal: Principal, supplier_id: int | None, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    require_key_manager(principal)
    stmt = select(ApiKey)
    if principal.is_supplier:
        stmt = stmt.where(ApiKey.supplier_id == principal.supplier_id)
    if supplier_id is not None:
        stmt = stmt.where(ApiKey.supplier_id == supplier_id)
    return paginate(session, stmt, limit=limit, offset=offset, order_by=ApiKey.id)


def create(session: Session, *, principal: Principal, data: ApiKeyCreate) -> ApiKeyCreated:
    require_key_manager(principal)
    supplier_id = owner_supplier_id(session, principal=principal, requested=data.supplier_id)
    return create_for_supplier(session, supplier_id=supplier_id, name=data.name)


def create_for_supplier(session: Session, *, supplier_id: int, name: str) -> ApiKeyCreated:
    raw, prefix, key_hash = new_api_key()
    key = ApiKey(supplier_id=supplier_id, name=name, prefix=prefix, key_hash=key_hash)
    session.add(key)
    session.commit()
    session.refresh(key)
    public = ApiKeyPublic.model_validate(key)
    return ApiKeyCreated(**public.model_dump(), key=raw)


def revoke(session: Session, *, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.commit()
        session.refresh(key)
    return key

"""Supplier API keys: the raw key is returned once, on creation; revocation is immediate."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import (
    CurrentPrincipal,
    IngestCacheDep,
    PaginationDep,
    PathId,
    QueryId,
    SessionDep,
)
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES
from app.services import api_keys as api_keys_service
from models import Page
from models.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[ApiKeyPublic])
def list_api_keys(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PaginationDep,
    supplier_id: QueryId = None,
) -> Page[ApiKeyPublic]:
    """List keys by prefix (admins: all; supplier users: their supplier's)."""
    items, total = api_keys_service.list_visible(
        session, principal=principal, supplier_id=supplier_id, limit=page.limit, offset=page.offset
    )
    return page_of(ApiKeyPublic, items, total, page)


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(
    data: ApiKeyCreate, session: SessionDep, principal: CurrentPrincipal
) -> ApiKeyCreated:
    """Create a key; the response holds the raw key, which is never shown again."""
    return api_keys_service.create(session, principal=principal, data=data)


@router.post("/{key_id}/revoke", response_model=ApiKeyPublic)
def revoke_api_key(
    key_id: PathId, session: SessionDep, principal: CurrentPrincipal, cache: IngestCacheDep
) -> ApiKeyPublic:
    """Revoke a key; this process refuses it at once, every other process within 30 s."""
    key = api_keys_service.get(session, principal=principal, key_id=key_id)
    cache.keys.pop(key.key_hash)
    return ApiKeyPublic.model_validate(api_keys_service.revoke(session, key=key))

"""FastAPI dependencies as Annotated aliases: database session, settings and the caller."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth import Principal, authenticate
from app.db import get_engine, get_session
from app.errors import Forbidden
from app.security import API_KEY_PREFIX, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, hash_api_key
from app.services import deliveries as deliveries_service
from app.services import sites as sites_service
from app.services import suppliers as suppliers_service
from app.services import vehicles as vehicles_service
from app.services.cache import IngestCache, TTLCache
from app.settings import Settings, get_settings
from models import Delivery, Site, Supplier, Vehicle
from models.base import MAX_ID

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# Declared for the OpenAPI security schemes; the actual parsing happens in authenticate().
_api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
_bearer_scheme = HTTPBearer(auto_error=False, scheme_name="Bearer")


def get_ingest_cache(request: Request) -> IngestCache:
    return request.app.state.ingest_cache


IngestCacheDep = Annotated[IngestCache, Depends(get_ingest_cache)]


SessionFactory = Callable[[], AbstractContextManager[Session]]


async def get_session_factory() -> SessionFactory:
    """Sessions opened only when needed, so cached hot paths never touch the pool."""
    return lambda: Session(get_engine(), expire_on_commit=False)


SessionFactoryDep = Annotated[SessionFactory, Depends(get_session_factory)]


def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Depends(_api_key_scheme)] = None,
    _bearer: Annotated[object | None, Depends(_bearer_scheme)] = None,
) -> Principal:
    return _authenticate_request(session, request, settings, x_api_key)


def _authenticate_request(
    session: Session, request: Request, settings: Settings, x_api_key: str | None
) -> Principal:
    return authenticate(
        session,
        method=request.method,
        api_key_header=x_api_key,
        authorization=request.headers.get("authorization"),
        session_cookie=request.cookies.get(SESSION_COOKIE),
        csrf_cookie=request.cookies.get(CSRF_COOKIE),
        csrf_header=request.headers.get(CSRF_HEADER),
        secret_key=settings.secret_key,
        max_age_s=settings.session_max_age_s,
        cache=get_ingest_cache(request),
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_supplier_key_principal(
    request: Request,
    settings: SettingsDep,
    sessions: SessionFactoryDep,
    x_api_key: Annotated[str | None, Depends(_api_key_scheme)] = None,
    _bearer: Annotated[object | None, Depends(_bearer_scheme)] = None,
) -> Principal:
    """A supplier API key, answered from the cache without leaving the event loop when warm."""
    cache = get_ingest_cache(request)
    authorization = request.headers.get("authorization") or ""
    raw = x_api_key or (authorization[7:].strip() if authorization[:7].lower() == "bearer " else "")
    if raw.startswith(API_KEY_PREFIX) or x_api_key:
        hit = cache.keys.get(hash_api_key(raw.strip()))
        if not TTLCache.missing(hit):
            return hit

    def resolve() -> Principal:
        with sessions() as session:
            return _authenticate_request(session, request, settings, x_api_key)

    principal = await run_in_threadpool(resolve)
    if principal.kind != "api_key":
        raise Forbidden("positions are posted with a supplier API key", code="forbidden_role")
    return principal


SupplierKeyPrincipal = Annotated[Principal, Depends(get_supplier_key_principal)]


def require_admin(principal: CurrentPrincipal) -> Principal:
    principal.require_admin()
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric id")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class Pagination:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PaginationDep = Annotated[Pagination, Depends()]


def valid_site_id(site_id: PathId, session: SessionDep, principal: CurrentPrincipal) -> Site:
    return sites_service.get(session, principal=principal, site_id=site_id)


def valid_supplier_id(
    supplier_id: PathId, session: SessionDep, principal: CurrentPrincipal
) -> Supplier:
    return suppliers_service.get(session, principal=principal, supplier_id=supplier_id)


def valid_vehicle_id(
    vehicle_id: PathId, session: SessionDep, principal: CurrentPrincipal
) -> Vehicle:
    return vehicles_service.get(session, principal=principal, vehicle_id=vehicle_id)


def valid_delivery_id(
    delivery_id: PathId, session: SessionDep, principal: CurrentPrincipal
) -> Delivery:
    return deliveries_service.get(session, principal=principal, delivery_id=delivery_id)


SiteDep = Annotated[Site, Depends(valid_site_id)]
SupplierDep = Annotated[Supplier, Depends(valid_supplier_id)]
VehicleDep = Annotated[Vehicle, Depends(valid_vehicle_id)]
DeliveryDep = Annotated[Delivery, Depends(valid_delivery_id)]

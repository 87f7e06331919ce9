"""Sites and docks: admins manage them, staff see their own sites, suppliers see the list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminPrincipal, CurrentPrincipal, PaginationDep, SessionDep, SiteDep
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES
from app.services import sites as sites_service
from models import Page, SiteKind
from models.dock import DockCreate, DockPublic
from models.site import SiteCreate, SitePublic, SiteUpdate

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[SitePublic])
def list_sites(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PaginationDep,
    kind: SiteKind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="code or name contains")] = None,
) -> Page[SitePublic]:
    """List the sites the caller may see, filtered by kind or text."""
    items, total = sites_service.list_visible(
        session, principal=principal, kind=kind, q=q, limit=page.limit, offset=page.offset
    )
    return page_of(SitePublic, items, total, page)


@router.post("", response_model=SitePublic, status_code=status.HTTP_201_CREATED)
def create_site(data: SiteCreate, session: SessionDep, _admin: AdminPrincipal) -> SitePublic:
    """Create a site with `dock_count` docks named D1, D2, … (admin)."""
    return SitePublic.model_validate(sites_service.create(session, data=data))


@router.get("/{site_id}", response_model=SitePublic)
def get_site(site: SiteDep) -> SitePublic:
    """One site."""
    return SitePublic.model_validate(site)


@router.patch("/{site_id}", response_model=SitePublic)
def update_site(
    site: SiteDep, data: SiteUpdate, session: SessionDep, _admin: AdminPrincipal
) -> SitePublic:
    """Change a site's settings (admin)."""
    return SitePublic.model_validate(sites_service.update(session, site=site, data=data))


@router.delete("/{site_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_site(site: SiteDep, session: SessionDep, _admin: AdminPrincipal) -> None:
    """Delete a site that has no deliveries (admin)."""
    sites_service.delete(session, site=site)


@router.get("/{site_id}/docks", response_model=list[DockPublic])
def list_docks(site: SiteDep, session: SessionDep) -> list[DockPublic]:
    """The site's docks, each with the delivery unloading there now (busy) or none (free)."""
    busy = sites_service.busy_docks(session, site=site)
    return [
        DockPublic.model_validate(d, update={"busy_delivery_id": busy.get(d.id or 0)})
        for d in sites_service.list_docks(session, site=site)
    ]


@router.post("/{site_id}/docks", response_model=DockPublic, status_code=status.HTTP_201_CREATED)
def create_dock(
    site: SiteDep, data: DockCreate, session: SessionDep, _admin: AdminPrincipal
) -> DockPublic:
    """Add a dock to a site (admin)."""
    return DockPublic.model_validate(sites_service.create_dock(session, site=site, data=data))

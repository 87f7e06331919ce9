"""Sites and their docks: queries scoped to what the caller may see."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import NotFound
from app.services.common import apply_update, commit_or_conflict, paginate
from models import Delivery, DeliveryStatus, Dock, Site, SiteKind
from models.dock import DockCreate
from models.site import SiteCreate, SiteUpdate


def get(session: Session, *, principal: Principal, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or not principal.sees_site(site_id):
        raise NotFound(f"site {site_id} not found", code="site_not_found")
    return site


def list_visible(
    session: Session,
    *,
    principal: Principal,
    kind: SiteKind | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Site], int]:
    stmt = select(Site)
    if not principal.is_supplier and principal.site_ids is not None:
        stmt = stmt.where(col(Site.id).in_(principal.site_ids or {-1}))
    if kind is not None:
        stmt = stmt.where(Site.kind == kind)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(col(Site.code).ilike(pattern) | col(Site.name).ilike(pattern))
    return paginate(session, stmt, limit=limit, offset=offset, order_by=Site.id)


def create(session: Session, *, data: SiteCreate) -> Site:
    payload = data.model_dump()
    site = Site(**payload)
    session.add(site)
    message = f"site code {data.code!r} exists"
    commit_or_conflict(session, code="site_code_taken", message=message, flush_only=True)
    # A site is born with its docks so that dock events work from the first day.
    for number in range(1, data.dock_count + 1):
        assert site.id is not None
        session.add(Dock(site_id=site.id, name=f"D{number}"))
    commit_or_conflict(session, code="site_code_taken", message=message)
    session.refresh(site)
    return site


def update(session: Session, *, site: Site, data: SiteUpdate) -> Site:
    apply_update(site, data)
    session.add(site)
    session.commit()
    session.refresh(site)
    return site


def delete(session: Session, *, site: Site) -> None:
    session.delete(site)
    commit_or_conflict(
        session, code="site_in_use", message="the site has deliveries; it cannot be deleted"
    )


def list_docks(session: Session, *, site: Site) -> list[Dock]:
    return list(
        session.exec(select(Dock).where(Dock.site_id == site.id).order_by(col(Dock.id))).all()
    )


def busy_docks(session: Session, *, site: Site) -> dict[int, int]:
    """Dock id → the delivery unloading there now."""
    stmt = select(Delivery.dock_id, Delivery.id).where(
        Delivery.site_id == site.id,
        Delivery.status == DeliveryStatus.unloading,
        col(Delivery.dock_id).is_not(None),
    )
    return {
        dock_id: delivery_id
        for dock_id, delivery_id in session.exec(stmt)
        if dock_id and delivery_id
    }


def create_dock(session: Session, *, site: Site, data: DockCreate) -> Dock:
    assert site.id is not None
    dock = Dock(site_id=site.id, **data.model_dump())
    session.add(dock)
    commit_or_conflict(session, code="dock_name_taken", message=f"dock {data.name!r} exists")
    session.refresh(dock)
    return dock

"""The dashboard's pages: server-rendered shells whose scripts read the JSON API and live stream.

Every page needs a signed-in user (session cookie); without one the browser is sent to the
login page and back. What a page may show is decided by the same API calls it makes, so a
page never shows more than its user's API rights allow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.api.deps import PathId, SessionDep, SettingsDep
from app.auth import Principal, principal_for_user, user_from_token
from app.errors import DomainError
from app.security import SESSION_COOKIE
from app.services import sites as sites_service
from app.settings import Settings
from models import ACTIVE_STATUSES, Delivery, Role, Site, User

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


class Viewer:
    """The signed-in user of a page, with the sites their navigation lists."""

    def __init__(
        self, user: User, principal: Principal, sites: list[Site], busiest: Site | None
    ) -> None:
        self.user = user
        self.principal = principal
        self.sites = sites
        self.busiest = busiest

    @property
    def role(self) -> str:
        return str(self.user.role)

    @property
    def is_supplier(self) -> bool:
        return self.principal.is_supplier

    def home(self) -> str:
        if self.user.role == Role.supplier_viewer:
            return "/supplier"
        if self.user.role == Role.planner and self.busiest:
            return f"/planner/{self.busiest.id}"
        if self.busiest:
            return f"/site/{self.busiest.id}"
        return "/admin" if self.user.role == Role.admin else "/reports"


def _viewer(request: Request, session: Session, settings: Settings) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        user = user_from_token(
            session, token, secret_key=settings.secret_key, max_age_s=settings.session_max_age_s
        )
    except DomainError:
        return None
    principal = principal_for_user(session, user)
    sites, _ = sites_service.list_visible(
        session, principal=principal, kind=None, q=None, limit=200, offset=0
    )
    return Viewer(user, principal, sites, _busiest(session, sites))


def _busiest(session: Session, sites: list[Site]) -> Site | None:
    """The site with the most open deliveries: the start page shows where the trucks are."""
    counts: dict[int, int] = dict(
        session.exec(
            select(Delivery.site_id, func.count())
            .where(col(Delivery.status).in_(ACTIVE_STATUSES))
            .group_by(col(Delivery.site_id))
        ).all()
    )
    return max(sites, key=lambda s: (counts.get(s.id or 0, 0), -(s.id or 0)), default=None)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _render(
    request: Request,
    template: str,
    viewer: Viewer,
    settings: Settings,
    *,
    title: str,
    page: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "title": title,
            "page": {"tile_url": settings.map_tile_url, **(page or {})},
        },
        status_code=status_code,
    )


def _not_found(request: Request, viewer: Viewer, settings: Settings, what: str) -> HTMLResponse:
    return _render(
        request,
        "not_found.html",
        viewer,
        settings,
        title="Not found",
        page={"what": what},
        status_code=404,
    )


@router.get("/login")
def login_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is not None:
        return RedirectResponse(viewer.home(), status_code=303)
    return templates.TemplateResponse(request, "login.html", {"viewer": None, "title": "Sign in"})


@router.get("/home")
def home(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    return RedirectResponse(viewer.home(), status_code=303)


def _staff_site(viewer: Viewer, site_id: int) -> Site | None:
    if viewer.is_supplier:
        return None
    return next((s for s in viewer.sites if s.id == site_id), None)


@router.get("/site/{site_id}")
def site_page(
    site_id: PathId, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    site = _staff_site(viewer, site_id)
    if site is None:
        return _not_found(request, viewer, settings, f"site {site_id}")
    return _render(
        request,
        "site.html",
        viewer,
        settings,
        title=site.name,
        page={"site_id": site.id, "timezone": site.timezone},
    )


@router.get("/delivery/{delivery_id}")
def delivery_page(
    delivery_id: PathId, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    # The page's script asks the API, which answers 404 for a delivery the user may not see.
    return _render(
        request,
        "delivery.html",
        viewer,
        settings,
        title=f"Delivery {delivery_id}",
        page={"delivery_id": delivery_id},
    )


@router.get("/supplier")
def supplier_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    return _render(request, "supplier.html", viewer, settings, title="My deliveries")


@router.get("/supplier/keys")
def keys_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    if not viewer.is_supplier:
        return _not_found(request, viewer, settings, "this page")
    return _render(
        request,
        "keys.html",
        viewer,
        settings,
        title="API keys and integration",
        page={
            "osmand_port": settings.osmand_port,
            "base_url": str(request.base_url).rstrip("/"),
            "host": request.url.hostname,
        },
    )


@router.get("/planner/{site_id}")
def planner_page(
    site_id: PathId, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    site = _staff_site(viewer, site_id)
    if site is None:
        return _not_found(request, viewer, settings, f"site {site_id}")
    return _render(
        request,
        "planner.html",
        viewer,
        settings,
        title=f"Planning · {site.name}",
        page={
            "site_id": site.id,
            "timezone": site.timezone,
            "shifts": [s["name"] for s in site.shifts],
            "target_wait_min": site.target_wait_min,
        },
    )


@router.get("/reports")
def reports_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    if viewer.is_supplier:
        return _not_found(request, viewer, settings, "this page")
    return _render(request, "reports.html", viewer, settings, title="Plan versus fact")


@router.get("/admin")
def admin_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    if viewer.user.role != Role.admin:
        return _not_found(request, viewer, settings, "this page")
    return _render(request, "admin.html", viewer, settings, title="Administration")

"""`inbound demo`: a seeded site, suppliers and users on the embedded database, served."""

from __future__ import annotations

from rich.console import Console
from sqlmodel import Session, select

from app.db import get_engine
from app.migrations import upgrade
from app.services import api_keys as api_keys_service
from app.services import sites as sites_service
from app.services import suppliers as suppliers_service
from app.services import users as users_service
from app.settings import get_settings
from models import Role, Site, SiteKind, Supplier, User, Vehicle
from models.site import SiteCreate
from models.supplier import SupplierCreate
from models.user import UserCreate

console = Console()

DEMO_PASSWORD = "inbound-demo"
DEMO_SITES = [
    ("DC-MSK", "Moscow distribution centre", SiteKind.distribution_centre, 55.80, 37.50, 8),
    ("WH-PDL", "Podolsk warehouse", SiteKind.warehouse, 55.43, 37.55, 4),
    ("DS-CEN", "Central darkstore", SiteKind.darkstore, 55.75, 37.62, 2),
]
DEMO_SUPPLIERS = [("FRESH", "Fresh Farms"), ("DAIRY", "North Dairy"), ("BAKE", "City Bakery")]


def seed(session: Session) -> dict[str, str]:
    """Create the demo objects once; returns the supplier API keys made this time."""
    keys: dict[str, str] = {}
    if session.exec(select(Site)).first() is None:
        for code, name, kind, lat, lon, docks in DEMO_SITES:
            sites_service.create(
                session,
                data=SiteCreate(
                    code=code,
                    name=name,
                    kind=kind,
                    lat=lat,
                    lon=lon,
                    timezone="Europe/Moscow",
                    dock_count=docks,
                ),
            )
    if session.exec(select(Supplier)).first() is None:
        for code, name in DEMO_SUPPLIERS:
            supplier = suppliers_service.create(session, data=SupplierCreate(code=code, name=name))
            assert supplier.id is not None
            for n in range(1, 5):
                session.add(
                    Vehicle(
                        supplier_id=supplier.id,
                        plate=f"{code}-{n:03d}",
                        device_id=f"{code.lower()}-{n}",
                    )
                )
            session.commit()
            created = api_keys_service.create_for_supplier(
                session, supplier_id=supplier.id, name="demo"
            )
            keys[code] = created.key
    if session.exec(select(User)).first() is None:
        site_ids = [s.id for s in session.exec(select(Site)).all() if s.id is not None]
        first_supplier = session.exec(select(Supplier)).first()
        assert first_supplier is not None
        for email, role in (
            ("admin@demo.inbound", Role.admin),
            ("logistician@demo.inbound", Role.logistician),
            ("planner@demo.inbound", Role.planner),
            ("supplier@demo.inbound", Role.supplier_viewer),
        ):
            users_service.create(
                session,
                data=UserCreate(
                    email=email,
                    role=role,
                    password=DEMO_PASSWORD,
                    full_name=role.value.replace("_", " ").title(),
                    site_ids=site_ids if role in (Role.logistician, Role.planner) else [],
                    supplier_id=first_supplier.id if role == Role.supplier_viewer else None,
                ),
            )
    return keys


def run_demo(*, host: str, port: int) -> None:
    import uvicorn

    settings = get_settings()
    console.print(f"[bold]Inbound demo[/bold] on {settings.database_url}")
    upgrade(url=settings.database_url)
    with Session(get_engine()) as session:
        keys = seed(session)
    url = f"http://{host}:{port}"
    console.print(f"Dashboard and API: [bold cyan]{url}[/bold cyan]  (API docs: {url}/docs)")
    console.print(
        f"Logins (password [bold]{DEMO_PASSWORD}[/bold]): "
        "admin@, logistician@, planner@, supplier@demo.inbound"
    )
    for code, key in keys.items():
        console.print(f"API key for supplier {code}: {key}")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="warning")

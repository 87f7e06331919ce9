"""Small keyword-only factories for test data, and a two-tenant world most API tests share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.security import hash_api_key, hash_password, issue_user_token
from models import ApiKey, Delivery, Dock, Role, Site, SiteKind, Supplier, User, UserSite, Vehicle

# Hashing once keeps the suite fast; Argon2 is deliberately slow.
_PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(_PASSWORD)
_counter = iter(range(1, 10**9))


def _n() -> int:
    return next(_counter)


def make_site(
    session: Session,
    *,
    code: str | None = None,
    name: str = "Test DC",
    kind: SiteKind = SiteKind.distribution_centre,
    lat: float = 55.75,
    lon: float = 37.62,
    timezone: str = "Europe/Moscow",
    dock_count: int = 2,
    geofence_radius_m: float = 300.0,
) -> Site:
    site = Site(
        code=code or f"S{_n()}",
        name=name,
        kind=kind,
        lat=lat,
        lon=lon,
        timezone=timezone,
        dock_count=dock_count,
        geofence_radius_m=geofence_radius_m,
    )
    session.add(site)
    session.flush()
    assert site.id is not None
    for number in range(1, dock_count + 1):
        session.add(Dock(site_id=site.id, name=f"D{number}"))
    session.commit()
    session.refresh(site)
    return site


def make_supplier(session: Session, *, code: str | None = None, name: str = "Supplier") -> Supplier:
    supplier = Supplier(code=code or f"SUP{_n()}", name=name)
    session.add(supplier)
    session.commit()
    session.refresh(supplier)
    return supplier


def make_vehicle(
    session: Session, *, supplier: Supplier, plate: str | None = None, device_id: str | None = None
) -> Vehicle:
    n = _n()
    assert supplier.id is not None
    vehicle = Vehicle(
        supplier_id=supplier.id, plate=plate or f"P{n}", device_id=device_id or f"dev-{n}"
    )
    session.add(vehicle)
    session.commit()
    session.refresh(vehicle)
    return vehicle


def make_delivery(
    session: Session,
    *,
    supplier: Supplier,
    site: Site,
    vehicle: Vehicle | None = None,
    slot_start_at: datetime | None = None,
    slot_minutes: int = 60,
    pallets: int = 10,
    external_ref: str | None = None,
) -> Delivery:
    start = slot_start_at or datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    assert supplier.id is not None and site.id is not None
    delivery = Delivery(
        supplier_id=supplier.id,
        site_id=site.id,
        vehicle_id=vehicle.id if vehicle else None,
        external_ref=external_ref or f"REF-{_n()}",
        slot_start_at=start,
        slot_end_at=start + timedelta(minutes=slot_minutes),
        pallets=pallets,
    )
    session.add(delivery)
    session.commit()
    session.refresh(delivery)
    return delivery


def make_user(
    session: Session,
    *,
    role: Role,
    email: str | None = None,
    sites: list[Site] | None = None,
    supplier: Supplier | None = None,
) -> User:
    user = User(
        email=email or f"user{_n()}@example.com",
        role=role,
        password_hash=_PASSWORD_HASH,
        supplier_id=supplier.id if supplier else None,
    )
    session.add(user)
    session.flush()
    for site in sites or []:
        session.add(UserSite(user_id=user.id, site_id=site.id))
    session.commit()
    session.refresh(user)
    return user


def make_api_key(session: Session, *, supplier: Supplier, raw: str | None = None) -> str:
    raw = raw or f"inb_test{_n()}_0123456789abcdefghijklmnop"
    assert supplier.id is not None
    session.add(ApiKey(supplier_id=supplier.id, key_hash=hash_api_key(raw), prefix=raw[:12]))
    session.commit()
    return raw


def bearer(secret_key: str, user: User) -> dict[str, str]:
    assert user.id is not None
    token = issue_user_token(secret_key, user_id=user.id, token_version=user.token_version)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    site_a: Site
    site_b: Site
    supplier_a: Supplier
    supplier_b: Supplier
    vehicle_a: Vehicle
    vehicle_b: Vehicle
    delivery_a: Delivery
    delivery_b: Delivery
    key_a: str
    key_b: str
    users: dict[str, User] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    password: str = _PASSWORD


def make_world(session: Session, *, secret_key: str) -> World:
    """Supplier A delivers to site A, supplier B to site B; one user of each role."""
    site_a = make_site(session, code="SITE-A", name="Site A")
    site_b = make_site(session, code="SITE-B", name="Site B", lat=59.93, lon=30.33)
    supplier_a = make_supplier(session, code="SUP-A", name="Supplier A")
    supplier_b = make_supplier(session, code="SUP-B", name="Supplier B")
    vehicle_a = make_vehicle(session, supplier=supplier_a, plate="A-001", device_id="dev-a1")
    vehicle_b = make_vehicle(session, supplier=supplier_b, plate="B-001", device_id="dev-b1")
    delivery_a = make_delivery(session, supplier=supplier_a, site=site_a, vehicle=vehicle_a)
    delivery_b = make_delivery(session, supplier=supplier_b, site=site_b, vehicle=vehicle_b)
    key_a = make_api_key(session, supplier=supplier_a)
    key_b = make_api_key(session, supplier=supplier_b)
    users = {
        "admin": make_user(session, role=Role.admin, email="admin@example.com"),
        "logistician": make_user(
            session, role=Role.logistician, email="logi@example.com", sites=[site_a]
        ),
        "planner": make_user(session, role=Role.planner, email="plan@example.com", sites=[site_a]),
        "supplier_viewer": make_user(
            session, role=Role.supplier_viewer, email="viewer@example.com", supplier=supplier_a
        ),
    }
    headers = {name: bearer(secret_key, user) for name, user in users.items()}
    headers["key_a"] = {"X-API-Key": key_a}
    headers["key_b"] = {"X-API-Key": key_b}
    return World(
        site_a=site_a,
        site_b=site_b,
        supplier_a=supplier_a,
        supplier_b=supplier_b,
        vehicle_a=vehicle_a,
        vehicle_b=vehicle_b,
        delivery_a=delivery_a,
        delivery_b=delivery_b,
        key_a=key_a,
        key_b=key_b,
        users=users,
        headers=headers,
    )


def position_row(vehicle_id: int, at: datetime, *, lat: float = 55.7, lon: float = 37.6) -> dict:
    """A row as the position writer stores it."""
    return {
        "vehicle_id": vehicle_id,
        "device_at": at,
        "received_at": at,
        "lat": lat,
        "lon": lon,
        "speed_mps": 1.0,
        "heading": None,
        "accuracy_m": None,
        "altitude_m": None,
        "source": "api",
        "attributes": None,
    }

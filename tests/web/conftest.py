"""Browser tests: a real server with its scheduler on a database of its own, and Chromium.

The server runs as a separate process (as in production), so its data is committed into a
fresh database made for the run (a SQLite file, or a `<test database>_web` PostgreSQL
database) rather than the rolled-back per-test transactions of the other tests. Chromium is
Debian's (`/usr/bin/chromium`); nothing is downloaded. Screenshots of every view go to
`test-artifacts/screenshots/` (or INBOUND_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import migrations
from app.db import build_engine
from models import DeliveryStatus, EtaPrediction, Role
from tests.factories import (
    make_api_key,
    make_delivery,
    make_site,
    make_supplier,
    make_user,
    make_vehicle,
)
from tests.servers import start_server

CHROMIUM = os.environ.get("INBOUND_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct-horse-battery"  # the factories' password
ARTIFACTS = Path(os.environ.get("INBOUND_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"


@dataclass
class WebWorld:
    base_url: str
    database_url: str
    site_a: int
    site_b: int
    delivery_a: int  # supplier A, planned, vehicle dev-a1 (no fix yet)
    delivery_b: int  # supplier B at site B
    delivery_yard: int  # supplier A, arrived at site A, waiting for a dock
    delivery_late: int  # supplier A, slot over half an hour ago, truck not seen: late
    key_a: str
    emails: dict[str, str]


@pytest.fixture(scope="session")
def web_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
        return
    name = f"{url.database}_web"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(database_url: str) -> dict[str, object]:
    migrations.upgrade(url=database_url)
    engine = build_engine(database_url, pool_size=1)
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session:
        site_a = make_site(session, code="WEB-A", name="North DC", dock_count=3)
        site_b = make_site(session, code="WEB-B", name="South DC", lat=59.93, lon=30.33)
        sup_a = make_supplier(session, code="WSUP-A", name="Fresh Farms")
        sup_b = make_supplier(session, code="WSUP-B", name="Rival Foods")
        truck_a = make_vehicle(session, supplier=sup_a, plate="A-001", device_id="dev-a1")
        truck_yard = make_vehicle(session, supplier=sup_a, plate="A-002", device_id="dev-a2")
        truck_b = make_vehicle(session, supplier=sup_b, plate="B-SECRET", device_id="dev-b1")
        delivery_a = make_delivery(
            session,
            supplier=sup_a,
            site=site_a,
            vehicle=truck_a,
            slot_start_at=now + timedelta(minutes=30),
            external_ref="PO-A-1",
        )
        delivery_b = make_delivery(
            session, supplier=sup_b, site=site_b, vehicle=truck_b, external_ref="PO-B-SECRET"
        )
        delivery_yard = make_delivery(
            session,
            supplier=sup_a,
            site=site_a,
            vehicle=truck_yard,
            slot_start_at=now - timedelta(minutes=20),
            external_ref="PO-A-YARD",
        )
        delivery_yard.status = DeliveryStatus.arrived
        delivery_yard.departed_at = now - timedelta(hours=1)
        delivery_yard.arrived_at = now - timedelta(minutes=25)
        session.add(delivery_yard)
        truck_late = make_vehicle(session, supplier=sup_a, plate="A-003", device_id="dev-a3")
        delivery_late = make_delivery(
            session,
            supplier=sup_a,
            site=site_a,
            vehicle=truck_late,
            slot_start_at=now - timedelta(minutes=60),
            slot_minutes=30,
            external_ref="PO-A-LATE",
        )
        # How the yard truck's ETA moved on its way in, for the delivery page's chart.
        for minutes_ago in range(60, 25, -5):
            at = now - timedelta(minutes=minutes_ago)
            session.add(
                EtaPrediction(
                    delivery_id=delivery_yard.id,
                    predicted_at=at,
                    remaining_m=1000.0 * (minutes_ago - 25),
                    eta_p10_at=now - timedelta(minutes=30),
                    eta_p50_at=now - timedelta(minutes=25 - (minutes_ago - 25) // 5),
                    eta_p90_at=now - timedelta(minutes=15),
                    model_version="physics-0",
                )
            )
        session.commit()
        users = {
            "admin": make_user(session, role=Role.admin, email="web-admin@example.com"),
            "logistician": make_user(
                session, role=Role.logistician, email="web-logi@example.com", sites=[site_a]
            ),
            "planner": make_user(
                session, role=Role.planner, email="web-plan@example.com", sites=[site_a]
            ),
            "supplier_viewer": make_user(
                session, role=Role.supplier_viewer, email="web-sup@example.com", supplier=sup_a
            ),
        }
        seeded = {
            "site_a": site_a.id,
            "site_b": site_b.id,
            "delivery_a": delivery_a.id,
            "delivery_b": delivery_b.id,
            "delivery_yard": delivery_yard.id,
            "delivery_late": delivery_late.id,
            "key_a": make_api_key(session, supplier=sup_a),
            "emails": {role: user.email for role, user in users.items()},
        }
    engine.dispose()
    return seeded


@pytest.fixture(scope="session")
def web(web_database_url: str) -> Iterator[WebWorld]:
    seeded = _seed(web_database_url)
    proc, base = start_server(
        web_database_url,
        env={
            "INBOUND_SCHEDULER_ENABLED": "true",
            "INBOUND_LIFECYCLE_REFRESH_S": "1",
            "INBOUND_ETA_REFRESH_S": "1",
            "INBOUND_WEBHOOK_INTERVAL_S": "0",
            # Tiles from a port nobody listens on: the pages must work without them.
            "INBOUND_MAP_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
        },
    )
    try:
        yield WebWorld(base_url=base, database_url=web_database_url, **seeded)  # type: ignore[arg-type]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("INBOUND_TEST_SKIP_BROWSER") == "1":
            pytest.skip("no Chromium here and INBOUND_TEST_SKIP_BROWSER=1")
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, web: WebWorld) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=web.base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def login(page, web: WebWorld, role: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.get_by_label("Email").fill(web.emails[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)

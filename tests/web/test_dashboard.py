"""The dashboard in a real headless Chromium: each role's view, live updates, actions, scoping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from eta.geofence import distance_m
from tests.web.conftest import WebWorld, login, screenshot

pytestmark = pytest.mark.browser

SITE_A = (55.75, 37.62)  # make_site's default position


def test_each_role_signs_in_to_its_own_view(page, web: WebWorld) -> None:
    expected = {
        "logistician": (f"/site/{web.site_a}", "North DC"),
        "planner": (f"/planner/{web.site_a}", "Planning · North DC"),
        "supplier_viewer": ("/supplier", "My deliveries"),
        "admin": (f"/site/{web.site_a}", "North DC"),
    }
    for role, (path, heading) in expected.items():
        page.context.clear_cookies()
        login(page, web, role)
        assert page.url.endswith(path), (role, page.url)
        expect(page.locator("h1")).to_contain_text(heading)
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        screenshot(page, f"home-{role}")
    # Navigation follows the role: only the admin sees Admin, only suppliers their keys page.
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    page.context.clear_cookies()
    login(page, web, "supplier_viewer")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("link", name="API keys & integration")).to_be_visible()


def test_wrong_password_is_told_and_pages_need_a_login(page, web: WebWorld) -> None:
    page.goto(f"/site/{web.site_a}")
    assert "/login?next=" in page.url
    page.get_by_label("Email").fill(web.emails["logistician"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/site/{web.site_a}")  # back where the user wanted to go


def test_site_view_updates_live_when_positions_arrive(page, web: WebWorld) -> None:
    login(page, web, "logistician")
    row = page.locator(f"#inbound-table tr[data-id='{web.delivery_a}']")
    expect(row).to_contain_text("Fresh Farms")
    expect(row.locator("td[data-col='status']")).to_have_text("planned")
    expect(page.locator("#yard")).to_contain_text("A-002")
    page.evaluate("window.__stillTheSamePage = true")

    # The truck reports in, 15 km out and closing on the site, through the public API.
    now = datetime.now(UTC)
    points = []
    for i in range(8):
        km = 15.0 - i * 0.5
        points.append(
            {
                "device_id": "dev-a1",
                "ts": (now - timedelta(minutes=8 - i)).isoformat(),
                "lat": SITE_A[0] + km / 111.0,
                "lon": SITE_A[1],
                "speed_mps": 12.0,
            }
        )
    assert distance_m(points[-1]["lat"], points[-1]["lon"], *SITE_A) > 10_000
    reply = httpx.post(
        f"{web.base_url}/api/v1/positions",
        json={"positions": points},
        headers={"X-API-Key": web.key_a},
        timeout=10,
    )
    assert reply.status_code == 200 and reply.json()["accepted"] == 8, reply.text

    # The scheduler moves the delivery en route and serves an ETA; the page hears it live.
    expect(row.locator("td[data-col='status']")).to_have_text("en route", timeout=20_000)
    expect(row.locator("td[data-col='eta_p50_at']")).to_have_text(re.compile(r"\d\d:\d\d"))
    expect(page.locator("#live-label")).to_have_text("live")
    assert page.evaluate("window.__stillTheSamePage") is True  # no reload happened
    screenshot(page, "site-view-live")


def test_logistician_acknowledges_an_alert(page, web: WebWorld) -> None:
    login(page, web, "logistician")
    # The scheduler opens the alert itself: the slot is over and the truck is nowhere near.
    item = page.locator("#alerts li", has_text=f"delivery #{web.delivery_late}").filter(
        has_text="vehicle late"
    )
    expect(item).to_be_visible(timeout=20_000)
    alert_id = int(item.get_attribute("data-alert") or 0)
    expect(page.locator(f"#inbound-table tr[data-id='{web.delivery_late}']")).to_contain_text(
        "vehicle late"
    )
    item.get_by_role("button", name="Acknowledge vehicle late alert").click()
    expect(item).to_contain_text("acknowledged")
    expect(item.get_by_role("button")).to_have_count(0)
    token = _token(web, "logistician")
    alerts = httpx.get(
        f"{web.base_url}/api/v1/sites/{web.site_a}/alerts",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert next(a for a in alerts if a["id"] == alert_id)["state"] == "acknowledged"


def test_logistician_assigns_a_dock_and_runs_unloading(page, web: WebWorld) -> None:
    login(page, web, "logistician")
    row = page.locator(f"#inbound-table tr[data-id='{web.delivery_yard}']")
    row.get_by_role("button", name="Assign dock to A-002").click()
    dialog = page.get_by_role("dialog", name="Assign a dock")
    dialog.get_by_label("Dock", exact=True).select_option(label="D2")
    dialog.get_by_role("button", name="Assign", exact=True).click()
    expect(row.locator("td[data-col='dock']")).to_have_text("D2")
    row.get_by_role("button", name="Start unloading A-002").click()
    expect(row.locator("td[data-col='status']")).to_have_text("unloading")
    expect(page.locator("#docks")).to_contain_text("A-002")
    screenshot(page, "site-view-unloading")
    row.get_by_role("button", name="Finish unloading A-002").click()
    expect(row).to_have_count(0)  # completed deliveries leave the board
    token = _token(web, "logistician")
    timeline = httpx.get(
        f"{web.base_url}/api/v1/deliveries/{web.delivery_yard}/timeline",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds[-3:] == ["dock_assigned", "unloading", "completed"], kinds
    assert timeline["delivery"]["status"] == "completed"


def test_delivery_page_shows_timeline_track_and_eta_history(page, web: WebWorld) -> None:
    login(page, web, "logistician")
    page.goto(f"/delivery/{web.delivery_yard}")
    expect(page.locator("h1")).to_contain_text("PO-A-YARD")
    expect(page.locator("#eta-summary")).to_contain_text("predictions")
    expect(page.locator("#dwell")).to_contain_text("Yard wait")
    # The site's clock, as text any screen can render (no emoji font needed).
    expect(page.locator("#delivery-summary")).to_contain_text(
        re.compile(r"\d\d:\d\d\s*now, times in Europe/Moscow")
    )
    screenshot(page, "delivery-detail")


def test_supplier_sees_only_its_own_deliveries_and_pages(page, web: WebWorld) -> None:
    login(page, web, "supplier_viewer")
    table = page.locator("#supplier-table")
    expect(table).to_contain_text("PO-A-1")
    expect(table).not_to_contain_text("PO-B-SECRET")
    expect(page.locator("#vehicles-table")).not_to_contain_text("B-SECRET")
    screenshot(page, "supplier-view")
    # Another supplier's delivery, a site's staff screen, the planner and admin: all closed.
    page.goto(f"/delivery/{web.delivery_b}")
    expect(page.locator("#delivery-error")).to_contain_text("not yours to see")
    expect(page.locator("body")).not_to_contain_text("PO-B-SECRET")
    for path in (f"/site/{web.site_a}", f"/planner/{web.site_a}", "/admin", "/reports"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    api = page.request.get(f"/api/v1/deliveries/{web.delivery_b}")
    assert api.status == 404


def test_supplier_creates_and_downloads_an_api_key(page, web: WebWorld) -> None:
    login(page, web, "supplier_viewer")
    page.goto("/supplier/keys")
    page.get_by_label("Name of the new key").fill("gateway")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value")
    expect(key).to_have_text(re.compile(r"^inb_"))
    expect(page.locator("#osmand-url")).to_contain_text(key.inner_text())
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a file").click()
    assert open(download.value.path()).read().strip() == key.inner_text()
    # The key works for sending GPS.
    reply = httpx.post(
        f"{web.base_url}/api/v1/positions",
        json={
            "positions": [
                {
                    "device_id": "dev-a2",
                    "ts": datetime.now(UTC).isoformat(),
                    "lat": 55.7,
                    "lon": 37.6,
                }
            ]
        },
        headers={"X-API-Key": key.inner_text()},
    )
    assert reply.status_code == 200, reply.text
    screenshot(page, "supplier-keys")


def test_planner_what_if_changes_the_predicted_queue(page, web: WebWorld) -> None:
    login(page, web, "planner")
    summary = page.locator("#queue-summary")
    expect(summary).to_contain_text("Recommended staffing")
    expect(page.locator("#shifts-table")).to_contain_text("day")
    recommended = summary.inner_text()
    for shift in ("day", "evening", "night"):
        page.get_by_label(f"{shift} crews").fill("0")
    page.get_by_role("button", name="Apply what-if").click()
    expect(summary).to_contain_text("What-if staffing: 0 crew-shifts")
    expect(summary).to_contain_text("worst expected wait unbounded")
    assert summary.inner_text() != recommended
    expect(page.locator("#shifts-table")).to_contain_text("no")
    screenshot(page, "planner")
    page.get_by_role("button", name="Back to recommendation").click()
    expect(summary).to_contain_text("Recommended staffing")


def test_admin_adds_a_supplier_and_reports_render(page, web: WebWorld) -> None:
    login(page, web, "admin")
    page.goto("/admin")
    page.get_by_role("tab", name="Suppliers").click()
    form = page.locator("#admin-form")
    form.get_by_label("Code").fill("NEWSUP")
    form.get_by_label("Name", exact=True).fill("New Supplier Ltd")
    page.get_by_role("button", name="Add to suppliers").click()
    expect(page.locator("#admin-table")).to_contain_text("New Supplier Ltd")
    screenshot(page, "admin")
    page.goto("/reports")
    expect(page.locator("#report-table")).to_contain_text("North DC")
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", re.compile("format=csv")
    )
    screenshot(page, "reports")


def _token(web: WebWorld, role: str) -> str:
    reply = httpx.post(
        f"{web.base_url}/api/v1/auth/token",
        data={"username": web.emails[role], "password": "correct-horse-battery"},
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])

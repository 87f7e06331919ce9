"""Authentication: API keys, bearer tokens, session cookies with CSRF, and role checks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.security import CSRF_COOKIE, SESSION_COOKIE
from models import ApiKey


def test_no_credentials_is_401_with_error_body(client: TestClient, world) -> None:
    response = client.get("/api/v1/vehicles")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_wrong_api_key_is_401(client: TestClient, world) -> None:
    response = client.get("/api/v1/vehicles", headers={"X-API-Key": "inb_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_api_key_in_bearer_header_works(client: TestClient, world) -> None:
    response = client.get("/api/v1/vehicles", headers={"Authorization": f"Bearer {world.key_a}"})
    assert response.status_code == 200
    assert [v["plate"] for v in response.json()["items"]] == ["A-001"]


def test_revoked_key_stops_working(client: TestClient, world, session: Session) -> None:
    created = client.post(
        "/api/v1/api-keys",
        json={"supplier_id": world.supplier_a.id, "name": "ci"},
        headers=world.headers["admin"],
    )
    assert created.status_code == 201
    raw = created.json()["key"]
    assert raw.startswith("inb_") and created.json()["prefix"] == raw[:12]
    assert client.get("/api/v1/vehicles", headers={"X-API-Key": raw}).status_code == 200
    revoke = client.post(
        f"/api/v1/api-keys/{created.json()['id']}/revoke", headers=world.headers["admin"]
    )
    assert revoke.status_code == 200 and revoke.json()["revoked_at"] is not None
    response = client.get("/api/v1/vehicles", headers={"X-API-Key": raw})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_raw_key_is_never_listed_and_stored_hashed(
    client: TestClient, world, session: Session
) -> None:
    created = client.post(
        "/api/v1/api-keys",
        json={"supplier_id": world.supplier_a.id},
        headers=world.headers["admin"],
    ).json()
    listing = client.get("/api/v1/api-keys", headers=world.headers["admin"]).json()
    assert all("key" not in item for item in listing["items"])
    stored = session.get(ApiKey, created["id"])
    assert stored is not None and created["key"] not in stored.key_hash


def test_api_key_updates_last_used(client: TestClient, world, session: Session) -> None:
    client.get("/api/v1/vehicles", headers=world.headers["key_a"])
    keys = session.exec(__import__("sqlmodel").select(ApiKey)).all()
    used = [k for k in keys if k.supplier_id == world.supplier_a.id]
    assert used[0].last_used_at is not None


def test_login_sets_httponly_cookie_and_csrf_guards_writes(client: TestClient, world) -> None:
    response = client.post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": world.password}
    )
    assert response.status_code == 200
    set_cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie
    csrf_cookie = next(c for c in set_cookie if c.startswith(CSRF_COOKIE))
    assert "HttpOnly" not in csrf_cookie
    assert client.get("/api/v1/users/me").json()["email"] == "admin@example.com"
    body = {"code": "NEW", "name": "New supplier"}
    refused = client.post("/api/v1/suppliers", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    token = response.json()["csrf_token"]
    accepted = client.post("/api/v1/suppliers", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_wrong_password_is_401_and_says_nothing_more(client: TestClient, world) -> None:
    wrong = client.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "x"})
    missing = client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "x"}
    )
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json() == missing.json()


def test_token_endpoint_gives_a_working_bearer(client: TestClient, world) -> None:
    response = client.post(
        "/api/v1/auth/token", data={"username": "plan@example.com", "password": world.password}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "planner"


def test_tampered_token_is_refused(client: TestClient, world) -> None:
    token = world.headers["admin"]["Authorization"] + "x"
    response = client.get("/api/v1/users/me", headers={"Authorization": token})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_deactivated_user_token_stops_working(client: TestClient, world) -> None:
    viewer = world.users["supplier_viewer"]
    assert (
        client.get("/api/v1/users/me", headers=world.headers["supplier_viewer"]).status_code == 200
    )
    response = client.patch(
        f"/api/v1/users/{viewer.id}", json={"is_active": False}, headers=world.headers["admin"]
    )
    assert response.status_code == 200
    assert (
        client.get("/api/v1/users/me", headers=world.headers["supplier_viewer"]).status_code == 401
    )


def test_wrong_role_is_403(client: TestClient, world) -> None:
    for role in ("logistician", "planner", "supplier_viewer", "key_a"):
        response = client.post(
            "/api/v1/sites",
            json={"code": "X", "name": "X", "kind": "warehouse", "lat": 1, "lon": 1},
            headers=world.headers[role],
        )
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "forbidden_role"


def test_api_key_cannot_mint_keys(client: TestClient, world) -> None:
    response = client.post("/api/v1/api-keys", json={}, headers=world.headers["key_a"])
    assert response.status_code == 403


def test_supplier_viewer_manages_own_keys_only(client: TestClient, world) -> None:
    headers = world.headers["supplier_viewer"]
    mine = client.post("/api/v1/api-keys", json={"name": "tracker"}, headers=headers)
    assert mine.status_code == 201 and mine.json()["supplier_id"] == world.supplier_a.id
    foreign = client.post(
        "/api/v1/api-keys", json={"supplier_id": world.supplier_b.id}, headers=headers
    )
    assert foreign.status_code == 404
    listing = client.get("/api/v1/api-keys", headers=headers).json()
    assert {k["supplier_id"] for k in listing["items"]} == {world.supplier_a.id}

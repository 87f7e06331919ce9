"""Each management resource end to end: create, read, list with filters, update, delete."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_site_crud_and_docks(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    body = {
        "code": "DS-9",
        "name": "Darkstore 9",
        "kind": "darkstore",
        "lat": 52.52,
        "lon": 13.40,
        "timezone": "Europe/Berlin",
        "dock_count": 3,
        "shifts": [{"name": "day", "start": "07:00", "end": "19:00"}],
    }
    created = client.post("/api/v1/sites", json=body, headers=admin)
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["timezone"] == "Europe/Berlin" and site["shifts"][0]["start"] == "07:00"
    docks = client.get(f"/api/v1/sites/{site['id']}/docks", headers=admin).json()
    assert [d["name"] for d in docks] == ["D1", "D2", "D3"]
    extra = client.post(f"/api/v1/sites/{site['id']}/docks", json={"name": "D4"}, headers=admin)
    assert extra.status_code == 201
    dup = client.post(f"/api/v1/sites/{site['id']}/docks", json={"name": "D4"}, headers=admin)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "dock_name_taken"
    assert client.post("/api/v1/sites", json=body, headers=admin).status_code == 409
    listed = client.get("/api/v1/sites", params={"kind": "darkstore"}, headers=admin).json()
    assert [s["code"] for s in listed["items"]] == ["DS-9"]
    patched = client.patch(
        f"/api/v1/sites/{site['id']}", json={"geofence_radius_m": 500}, headers=admin
    )
    assert patched.json()["geofence_radius_m"] == 500
    assert client.delete(f"/api/v1/sites/{site['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/sites/{site['id']}", headers=admin).status_code == 404


def test_site_validation_lists_each_bad_field(client: TestClient, world) -> None:
    body = {
        "code": "bad code!",
        "name": "",
        "kind": "castle",
        "lat": 91,
        "lon": 0,
        "timezone": "Mars/Base",
    }
    response = client.post("/api/v1/sites", json=body, headers=world.headers["admin"])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {d["field"] for d in error["details"]}
    assert {"body.code", "body.name", "body.kind", "body.lat", "body.timezone"} <= fields


def test_supplier_crud(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    created = client.post(
        "/api/v1/suppliers", json={"code": "MILK", "name": "Milk Co"}, headers=admin
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    assert client.get("/api/v1/suppliers", params={"q": "milk"}, headers=admin).json()["total"] == 1
    patched = client.patch(f"/api/v1/suppliers/{sid}", json={"name": "Milk Ltd"}, headers=admin)
    assert patched.json()["name"] == "Milk Ltd"
    assert client.delete(f"/api/v1/suppliers/{sid}", headers=admin).status_code == 204
    in_use = client.delete(f"/api/v1/suppliers/{world.supplier_a.id}", headers=admin)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "supplier_in_use"


def test_deactivated_supplier_keys_stop(client: TestClient, world) -> None:
    client.patch(
        f"/api/v1/suppliers/{world.supplier_a.id}",
        json={"is_active": False},
        headers=world.headers["admin"],
    )
    response = client.get("/api/v1/vehicles", headers=world.headers["key_a"])
    assert response.status_code == 401 and response.json()["error"]["code"] == "supplier_inactive"


def test_vehicle_crud_as_supplier_key(client: TestClient, world) -> None:
    key = world.headers["key_a"]
    created = client.post(
        "/api/v1/vehicles", json={"plate": "A-777", "device_id": "trk-777"}, headers=key
    )
    assert created.status_code == 201, created.text
    vehicle = created.json()
    assert vehicle["supplier_id"] == world.supplier_a.id
    dup = client.post(
        "/api/v1/vehicles", json={"plate": "A-778", "device_id": "trk-777"}, headers=key
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "vehicle_exists"
    # Device ids are unique per supplier, so supplier B may reuse the same id.
    other = client.post(
        "/api/v1/vehicles",
        json={"plate": "B-777", "device_id": "trk-777"},
        headers=world.headers["key_b"],
    )
    assert other.status_code == 201
    listing = client.get("/api/v1/vehicles", params={"q": "777"}, headers=key).json()
    assert [v["plate"] for v in listing["items"]] == ["A-777"]
    patched = client.patch(
        f"/api/v1/vehicles/{vehicle['id']}", json={"description": "reefer"}, headers=key
    )
    assert patched.json()["description"] == "reefer"
    assert client.delete(f"/api/v1/vehicles/{vehicle['id']}", headers=key).status_code == 204


def test_vehicle_needs_supplier_for_admin(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    missing = client.post("/api/v1/vehicles", json={"plate": "X", "device_id": "x"}, headers=admin)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "supplier_id_required"
    ok = client.post(
        "/api/v1/vehicles",
        json={"plate": "X", "device_id": "x", "supplier_id": world.supplier_b.id},
        headers=admin,
    )
    assert ok.status_code == 201


def test_delivery_crud_and_filters(client: TestClient, world) -> None:
    key = world.headers["key_a"]
    body = {
        "site_id": world.site_a.id,
        "vehicle_id": world.vehicle_a.id,
        "external_ref": "PO-1",
        "slot_start_at": "2030-01-01T08:00:00Z",
        "slot_end_at": "2030-01-01T09:00:00Z",
        "pallets": 12,
    }
    created = client.post("/api/v1/deliveries", json=body, headers=key)
    assert created.status_code == 201, created.text
    delivery = created.json()
    assert delivery["status"] == "planned" and delivery["supplier_id"] == world.supplier_a.id
    assert delivery["slot_start_at"].startswith("2030-01-01T08:00:00")
    assert client.post("/api/v1/deliveries", json=body, headers=key).status_code == 409
    listing = client.get(
        "/api/v1/deliveries",
        params={"slot_from": "2029-12-31T00:00:00Z", "status": "planned"},
        headers=key,
    ).json()
    assert [d["external_ref"] for d in listing["items"]] == ["PO-1"]
    patched = client.patch(
        f"/api/v1/deliveries/{delivery['id']}", json={"pallets": 20}, headers=key
    )
    assert patched.json()["pallets"] == 20
    bad_slot = client.patch(
        f"/api/v1/deliveries/{delivery['id']}",
        json={"slot_end_at": "2029-01-01T00:00:00Z"},
        headers=key,
    )
    assert bad_slot.status_code == 422
    assert client.delete(f"/api/v1/deliveries/{delivery['id']}", headers=key).status_code == 204


def test_delivery_validation(client: TestClient, world) -> None:
    body = {
        "site_id": world.site_a.id,
        "external_ref": "PO-2",
        "slot_start_at": "2030-01-01T09:00:00Z",
        "slot_end_at": "2030-01-01T08:00:00Z",
        "pallets": -1,
    }
    response = client.post("/api/v1/deliveries", json=body, headers=world.headers["key_a"])
    assert response.status_code == 422
    naive = dict(
        body, slot_end_at="2030-01-01T10:00:00", slot_start_at="2030-01-01T09:00:00", pallets=1
    )
    assert (
        client.post("/api/v1/deliveries", json=naive, headers=world.headers["key_a"]).status_code
        == 422
    )


def test_user_crud(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    body = {
        "email": "New.Logi@Example.com",
        "role": "logistician",
        "password": "a-long-password",
        "site_ids": [world.site_b.id],
    }
    created = client.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "new.logi@example.com" and user["site_ids"] == [world.site_b.id]
    assert "password_hash" not in user
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 409
    login = client.post(
        "/api/v1/auth/login", json={"email": "new.logi@example.com", "password": "a-long-password"}
    )
    assert login.status_code == 200
    patched = client.patch(
        f"/api/v1/users/{user['id']}", json={"site_ids": [world.site_a.id]}, headers=admin
    )
    assert patched.json()["site_ids"] == [world.site_a.id]
    assert (
        client.get("/api/v1/users", params={"role": "logistician"}, headers=admin).json()["total"]
        == 2
    )
    assert client.delete(f"/api/v1/users/{user['id']}", headers=admin).status_code == 204
    me = world.users["admin"].id
    assert client.delete(f"/api/v1/users/{me}", headers=admin).status_code == 409


def test_user_scope_rules(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    viewer_without_supplier = {
        "email": "v@example.com",
        "role": "supplier_viewer",
        "password": "a-long-password",
    }
    response = client.post("/api/v1/users", json=viewer_without_supplier, headers=admin)
    assert (
        response.status_code == 422 and response.json()["error"]["code"] == "supplier_id_required"
    )
    short = {"email": "s@example.com", "role": "planner", "password": "short"}
    assert client.post("/api/v1/users", json=short, headers=admin).status_code == 422


def test_users_admin_only(client: TestClient, world) -> None:
    for role in ("logistician", "planner", "supplier_viewer", "key_a"):
        assert client.get("/api/v1/users", headers=world.headers[role]).status_code == 403


def test_pagination(client: TestClient, world) -> None:
    admin = world.headers["admin"]
    for i in range(5):
        client.post("/api/v1/suppliers", json={"code": f"P{i}", "name": f"Page {i}"}, headers=admin)
    page = client.get("/api/v1/suppliers", params={"limit": 2, "offset": 2}, headers=admin).json()
    assert page["total"] == 7 and page["limit"] == 2 and len(page["items"]) == 2
    assert client.get("/api/v1/suppliers", params={"limit": 0}, headers=admin).status_code == 422


def test_null_for_a_required_field_is_refused_and_changes_nothing(
    client: TestClient, world
) -> None:
    path = f"/api/v1/suppliers/{world.supplier_a.id}"
    reply = client.patch(
        path, json={"name": "Renamed", "is_active": None}, headers=world.headers["admin"]
    )
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "validation_error"
    assert "is_active" in reply.json()["error"]["message"]
    after = client.get(path, headers=world.headers["admin"]).json()
    assert after["name"] == "Supplier A" and after["is_active"] is True
    # Nullable fields may still be cleared.
    cleared = client.patch(path, json={"contact_email": None}, headers=world.headers["admin"])
    assert cleared.status_code == 200 and cleared.json()["contact_email"] is None

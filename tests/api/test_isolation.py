"""Tenant isolation: another tenant's objects answer exactly as if they did not exist."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def _missing_vs_foreign(
    client: TestClient, headers: dict, foreign_url: str, missing_url: str
) -> None:
    foreign = client.get(foreign_url, headers=headers)
    missing = client.get(missing_url, headers=headers)
    assert foreign.status_code == missing.status_code == 404
    # Same code and same message shape: the only difference is the id the caller sent.
    assert foreign.json()["error"]["code"] == missing.json()["error"]["code"]


@pytest.mark.parametrize("who", ["key_a", "supplier_viewer"])
def test_supplier_cannot_read_other_suppliers_objects(client: TestClient, world, who: str) -> None:
    h = world.headers[who]
    _missing_vs_foreign(
        client, h, f"/api/v1/vehicles/{world.vehicle_b.id}", "/api/v1/vehicles/999999"
    )
    _missing_vs_foreign(
        client, h, f"/api/v1/deliveries/{world.delivery_b.id}", "/api/v1/deliveries/999999"
    )
    _missing_vs_foreign(
        client, h, f"/api/v1/suppliers/{world.supplier_b.id}", "/api/v1/suppliers/999999"
    )
    vehicles = client.get("/api/v1/vehicles", headers=h).json()
    assert {v["supplier_id"] for v in vehicles["items"]} == {world.supplier_a.id}
    filtered = client.get(
        "/api/v1/vehicles", params={"supplier_id": world.supplier_b.id}, headers=h
    ).json()
    assert filtered["total"] == 0
    deliveries = client.get(
        "/api/v1/deliveries", params={"site_id": world.site_b.id}, headers=h
    ).json()
    assert deliveries["total"] == 0


def test_supplier_cannot_change_other_suppliers_objects(client: TestClient, world) -> None:
    h = world.headers["key_a"]
    assert (
        client.patch(
            f"/api/v1/vehicles/{world.vehicle_b.id}", json={"plate": "X"}, headers=h
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/vehicles/{world.vehicle_b.id}", headers=h).status_code == 404
    assert (
        client.patch(
            f"/api/v1/deliveries/{world.delivery_b.id}", json={"pallets": 1}, headers=h
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/deliveries/{world.delivery_b.id}", headers=h).status_code == 404
    # Booking with another supplier's vehicle looks exactly like booking with a missing one.
    body = {
        "site_id": world.site_a.id,
        "external_ref": "STEAL",
        "slot_start_at": "2030-01-01T08:00:00Z",
        "slot_end_at": "2030-01-01T09:00:00Z",
    }
    foreign = client.post(
        "/api/v1/deliveries", json=dict(body, vehicle_id=world.vehicle_b.id), headers=h
    )
    missing = client.post("/api/v1/deliveries", json=dict(body, vehicle_id=999999), headers=h)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"]["code"] == missing.json()["error"]["code"] == "vehicle_not_found"
    # Attaching another supplier's vehicle to one's own delivery is refused the same way.
    patch = client.patch(
        f"/api/v1/deliveries/{world.delivery_a.id}",
        json={"vehicle_id": world.vehicle_b.id},
        headers=h,
    )
    assert patch.status_code == 404
    spoof = client.post(
        "/api/v1/vehicles",
        json={"plate": "Z", "device_id": "z", "supplier_id": world.supplier_b.id},
        headers=h,
    )
    assert spoof.status_code == 404


def test_logistician_sees_only_their_sites(client: TestClient, world) -> None:
    h = world.headers["logistician"]
    _missing_vs_foreign(client, h, f"/api/v1/sites/{world.site_b.id}", "/api/v1/sites/999999")
    _missing_vs_foreign(
        client, h, f"/api/v1/deliveries/{world.delivery_b.id}", "/api/v1/deliveries/999999"
    )
    sites = client.get("/api/v1/sites", headers=h).json()
    assert [s["code"] for s in sites["items"]] == ["SITE-A"]
    deliveries = client.get("/api/v1/deliveries", headers=h).json()
    assert {d["site_id"] for d in deliveries["items"]} == {world.site_a.id}
    assert client.get(f"/api/v1/deliveries/{world.delivery_a.id}", headers=h).status_code == 200


def test_viewer_is_read_only(client: TestClient, world) -> None:
    h = world.headers["supplier_viewer"]
    assert client.get(f"/api/v1/vehicles/{world.vehicle_a.id}", headers=h).status_code == 200
    response = client.patch(
        f"/api/v1/vehicles/{world.vehicle_a.id}", json={"plate": "Q"}, headers=h
    )
    assert response.status_code == 403

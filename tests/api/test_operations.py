"""Health, metrics, OpenAPI docs, error bodies and the body size limit."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_reports_database_and_migrations(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["migrations"]["ok"] is True
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


def test_metrics_count_requests_by_route(client: TestClient, world) -> None:
    client.get(f"/api/v1/vehicles/{world.vehicle_a.id}", headers=world.headers["admin"])
    text = client.get("/metrics").text
    assert 'route="/api/v1/vehicles/{vehicle_id}"' in text
    assert "inbound_http_request_seconds_bucket" in text


def test_docs_list_the_api(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/sites",
        "/api/v1/deliveries/{delivery_id}",
        "/api/v1/api-keys",
        "/health",
    ):
        assert path in paths


def test_unknown_route_has_error_body(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_malformed_json_is_422(client: TestClient, world) -> None:
    response = client.post(
        "/api/v1/suppliers",
        content=b"{not json",
        headers={**world.headers["admin"], "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_oversized_body_is_413_and_nothing_stored(client: TestClient, world, settings) -> None:
    big = b'{"code": "BIG", "name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    response = client.post(
        "/api/v1/suppliers",
        content=big,
        headers={**world.headers["admin"], "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    listing = client.get(
        "/api/v1/suppliers", params={"q": "BIG"}, headers=world.headers["admin"]
    ).json()
    assert listing["total"] == 0


def test_chunked_oversized_body_is_413(client: TestClient, world, settings) -> None:
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        "/api/v1/suppliers",
        content=chunks(),
        headers={**world.headers["admin"], "content-type": "application/json"},
    )
    assert response.status_code == 413

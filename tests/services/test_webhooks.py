"""Webhooks against a real local HTTP receiver: signatures, retries, dead letters, restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.services import lifecycle
from app.services.webhooks import deliver_due, verify
from models import DeliveryStatus, WebhookEvent


class Receiver:
    """An HTTP endpoint that fails its first `fail` requests with 503, then accepts."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append((dict(self.headers), body))
                status = 503 if len(receiver.received) <= receiver.fail else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.server.shutdown()


def subscribe(client: TestClient, world, url: str) -> dict:  # noqa: ANN001
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["delivery.status_changed", "alert.opened"]},
        headers=world.headers["key_a"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_signed_retried_and_delivered_once(
    client: TestClient, session: Session, world, receiver: Receiver
) -> None:
    sub = subscribe(client, world, receiver.url)
    assert sub["secret"].startswith("whsec_") and sub["supplier_id"] == world.supplier_a.id
    now = datetime.now(UTC)
    lifecycle.transition(
        session, world.delivery_a, to=DeliveryStatus.en_route, at=now, source="gps"
    )
    session.commit()
    with httpx.Client() as http:
        assert deliver_due(session, now=now, client=http) == {"delivered": 0, "retry": 1, "dead": 0}
        # Not due again until the backoff passes.
        assert deliver_due(session, now=now + timedelta(seconds=5), client=http)["retry"] == 0
        assert deliver_due(session, now=now + timedelta(seconds=11), client=http)["retry"] == 1
        assert deliver_due(session, now=now + timedelta(seconds=40), client=http)["delivered"] == 1
        assert deliver_due(session, now=now + timedelta(hours=2), client=http) == {
            "delivered": 0,
            "retry": 0,
            "dead": 0,
        }
    assert len(receiver.received) == 3
    keys = {h["Idempotency-Key"] for h, _ in receiver.received}
    assert len(keys) == 1  # every retry carries the same key
    headers, body = receiver.received[-1]
    stamp = int(headers["X-Inbound-Signature"].split(",")[0][2:])
    assert verify(sub["secret"], headers["X-Inbound-Signature"], body, now=stamp)
    assert not verify("whsec_wrong", headers["X-Inbound-Signature"], body, now=stamp)
    assert not verify(sub["secret"], headers["X-Inbound-Signature"], body + b" ", now=stamp)
    payload = json.loads(body)
    assert payload["type"] == "delivery.status_changed"
    assert (
        payload["data"]["to"] == "en_route"
        and payload["data"]["delivery_id"] == world.delivery_a.id
    )


def test_dead_letters_are_listed_and_retryable(client: TestClient, session: Session, world) -> None:
    sub = subscribe(client, world, "http://127.0.0.1:9/unreachable")
    now = datetime.now(UTC)
    lifecycle.transition(
        session, world.delivery_a, to=DeliveryStatus.en_route, at=now, source="gps"
    )
    session.commit()
    with httpx.Client() as http:
        moment = now
        for _ in range(8):
            deliver_due(session, now=moment, client=http)
            moment += timedelta(hours=2)
    dead = client.get(
        f"/api/v1/webhooks/{sub['id']}/events",
        params={"state": "dead"},
        headers=world.headers["key_a"],
    ).json()
    assert len(dead) == 1 and dead[0]["attempts"] == 8 and "ConnectError" in dead[0]["last_error"]
    again = client.post(
        f"/api/v1/webhooks/{sub['id']}/events/{dead[0]['id']}/retry", headers=world.headers["key_a"]
    )
    assert again.status_code == 200 and again.json()["state"] == "pending"
    assert (
        client.get(
            f"/api/v1/webhooks/{sub['id']}/events", headers=world.headers["key_b"]
        ).status_code
        == 404
    )


def test_outbox_survives_a_restart_mid_delivery(
    client: TestClient, session: Session, world, receiver: Receiver
) -> None:
    receiver.fail = 0
    subscribe(client, world, receiver.url)
    now = datetime.now(UTC)
    lifecycle.transition(
        session, world.delivery_a, to=DeliveryStatus.en_route, at=now, source="gps"
    )
    lifecycle.transition(session, world.delivery_a, to=DeliveryStatus.arrived, at=now, source="gps")
    session.commit()

    class DiesAfterFirst(httpx.Client):
        calls = 0

        def post(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            DiesAfterFirst.calls += 1
            if DiesAfterFirst.calls == 2:
                raise SystemExit("process killed mid-delivery")
            return super().post(*args, **kwargs)

    with pytest.raises(SystemExit), DiesAfterFirst() as dying:
        deliver_due(session, now=now, client=dying)
    session.rollback()
    states = sorted(e.state for e in session.exec(select(WebhookEvent)).all())
    assert states == ["delivered", "pending"]  # the second event is still in the outbox
    with httpx.Client() as http:
        assert deliver_due(session, now=now, client=http)["delivered"] == 1
    assert [json.loads(b)["data"]["to"] for _, b in receiver.received] == ["en_route", "arrived"]


def test_subscription_scope(client: TestClient, world) -> None:
    url = "http://127.0.0.1:9/x"
    admin_without_scope = client.post(
        "/api/v1/webhooks", json={"url": url}, headers=world.headers["admin"]
    )
    assert admin_without_scope.status_code == 422
    logistician_foreign = client.post(
        "/api/v1/webhooks",
        json={"url": url, "site_id": world.site_b.id},
        headers=world.headers["logistician"],
    )
    assert logistician_foreign.status_code == 404
    ok = client.post(
        "/api/v1/webhooks",
        json={"url": url, "site_id": world.site_a.id},
        headers=world.headers["logistician"],
    )
    assert ok.status_code == 201
    assert (
        client.post(
            "/api/v1/webhooks", json={"url": "not a url"}, headers=world.headers["key_a"]
        ).status_code
        == 422
    )
    bad_event = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["x.y"]}, headers=world.headers["key_a"]
    )
    assert bad_event.status_code == 422
    assert [
        w["site_id"]
        for w in client.get("/api/v1/webhooks", headers=world.headers["logistician"]).json()
    ] == [world.site_a.id]


def test_admin_subscription_to_a_missing_site_or_supplier_is_a_404(
    client: TestClient, world
) -> None:
    for scope, code in (
        ({"site_id": 999_999}, "site_not_found"),
        ({"supplier_id": 999_999}, "supplier_not_found"),
    ):
        reply = client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/x", **scope},
            headers=world.headers["admin"],
        )
        assert reply.status_code == 404 and reply.json()["error"]["code"] == code
    assert client.get("/api/v1/webhooks", headers=world.headers["admin"]).json() == []

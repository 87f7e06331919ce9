"""Webhooks: subscriptions, the outbox written with each change, and signed delivery."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import event as orm_event
from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Forbidden, InvalidInput, NotFound
from app.security import new_webhook_secret
from models import Role, Site, Supplier, WebhookEvent, WebhookSubscription, utcnow
from models.webhook_subscription import WebhookSubscriptionCreate

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Inbound-Signature"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<unix time>.<body>"; the time lets receivers refuse old replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance_s: int = 300, now: int | None = None
) -> bool:
    """What a receiver does (and what the tests do): check the signature and its age."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = now if now is not None else int(utcnow().timestamp())
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split(",", 1)[1].split("=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscriptions ----------------------------------------------------------------------


def _scope(principal: Principal, data: WebhookSubscriptionCreate) -> tuple[int | None, int | None]:
    if principal.is_supplier:
        if data.site_id is not None or (data.supplier_id not in (None, principal.supplier_id)):
            raise NotFound("supplier not found", code="supplier_not_found")
        return principal.supplier_id, None
    if principal.role == Role.logistician:
        if data.site_id is None or not principal.sees_site(data.site_id) or data.supplier_id:
            raise NotFound(f"site {data.site_id} not found", code="site_not_found")
        return None, data.site_id
    if principal.is_admin:
        if (data.supplier_id is None) == (data.site_id is None):
            raise InvalidInput("give exactly one of supplier_id or site_id", code="invalid_scope")
        return data.supplier_id, data.site_id
    raise Forbidden(
        "webhooks are managed by admins, logisticians and suppliers", code="forbidden_role"
    )


def create_subscription(
    session: Session, *, principal: Principal, data: WebhookSubscriptionCreate
) -> WebhookSubscription:
    supplier_id, site_id = _scope(principal, data)
    if site_id is not None and session.get(Site, site_id) is None:
        raise NotFound(f"site {site_id} not found", code="site_not_found")
    if supplier_id is not None and session.get(Supplier, supplier_id) is None:
        raise NotFound(f"supplier {supplier_id} not found", code="supplier_not_found")
    sub = WebhookSubscription(
        url=str(data.url),
        events=list(data.events),
        supplier_id=supplier_id,
        site_id=site_id,
        secret=new_webhook_secret(),
    )
    session.add(sub)
    session.commit()
    session.refresh(sub)
    return sub


def visible_subscriptions(session: Session, *, principal: Principal) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription)
    if principal.is_supplier:
        stmt = stmt.where(WebhookSubscription.supplier_id == principal.supplier_id)
    elif principal.site_ids is not None:
        stmt = stmt.where(col(WebhookSubscription.site_id).in_(principal.site_ids or {-1}))
    return list(session.exec(stmt.order_by(col(WebhookSubscription.id))).all())


def get_subscription(
    session: Session, *, principal: Principal, subscription_id: int
) -> WebhookSubscription:
    for sub in visible_subscriptions(session, principal=principal):
        if sub.id == subscription_id:
            return sub
    raise NotFound(f"webhook {subscription_id} not found", code="webhook_not_found")


def delete_subscription(session: Session, *, principal: Principal, subscription_id: int) -> None:
    session.delete(get_subscription(session, principal=principal, subscription_id=subscription_id))
    session.commit()


# --- outbox -----------------------------------------------------------------------------


_SUBSCRIPTIONS = "webhook_subscriptions"


def _active_subscriptions(session: Session) -> list[WebhookSubscription]:
    """Active subscriptions, read once per transaction: a refresh pass may emit thousands of
    events, and a query for each (with the autoflush before it) made alerts crawl."""
    cached = session.info.get(_SUBSCRIPTIONS)
    if cached is None:
        cached = list(
            session.exec(
                select(WebhookSubscription).where(col(WebhookSubscription.is_active).is_(True))
            ).all()
        )
        session.info[_SUBSCRIPTIONS] = cached
        orm_event.listen(session, "after_transaction_end", _forget_subscriptions, once=True)
    return cached


def _forget_subscriptions(session: Session, _transaction: Any) -> None:
    session.info.pop(_SUBSCRIPTIONS, None)


def enqueue(
    session: Session,
    *,
    event_type: str,
    data: dict[str, Any],
    supplier_id: int | None,
    site_id: int | None,
    now: datetime | None = None,
) -> int:
    """Add the event for every matching subscription; the caller's commit makes it durable
    together with the change it describes."""
    now = now or utcnow()
    if supplier_id is None and site_id is None:
        return 0
    subs = [
        sub
        for sub in _active_subscriptions(session)
        if (supplier_id is not None and sub.supplier_id == supplier_id)
        or (site_id is not None and sub.site_id == site_id)
    ]
    count = 0
    for sub in subs:
        if event_type not in sub.events or sub.id is None:
            continue
        key = uuid.uuid4().hex
        payload = {"id": key, "type": event_type, "created_at": now.isoformat(), "data": data}
        session.add(
            WebhookEvent(
                subscription_id=sub.id,
                event_type=event_type,
                idempotency_key=key,
                payload=orjson.loads(orjson.dumps(payload, default=str)),
                next_attempt_at=now,
            )
        )
        count += 1
    return count


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def deliver_due(
    session: Session, *, now: datetime, client: httpx.Client, limit: int = 200
) -> dict[str, int]:
    """POST every due event; each outcome is committed on its own so a crash loses nothing
    (an event whose answer was lost is sent again, with the same idempotency key)."""
    counts = {"delivered": 0, "retry": 0, "dead": 0}
    due = session.exec(
        select(WebhookEvent)
        .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= now)
        .order_by(col(WebhookEvent.id))
        .limit(limit)
    ).all()
    for event in due:
        sub = session.get(WebhookSubscription, event.subscription_id)
        if sub is None or not sub.is_active:
            event.state, event.last_error = "dead", "subscription inactive"
            session.add(event)
            session.commit()
            counts["dead"] += 1
            continue
        body = orjson.dumps(event.payload)
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(sub.secret, int(now.timestamp()), body),
            "Idempotency-Key": event.idempotency_key,
            "X-Inbound-Event": event.event_type,
        }
        event.attempts += 1
        try:
            response = client.post(sub.url, content=body, headers=headers, timeout=TIMEOUT)
            ok, error = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
        if ok:
            event.state, event.delivered_at, event.last_error = "delivered", now, None
            counts["delivered"] += 1
        elif event.attempts >= MAX_ATTEMPTS:
            event.state, event.last_error = "dead", error
            counts["dead"] += 1
        else:
            event.next_attempt_at, event.last_error = now + backoff(event.attempts), error
            counts["retry"] += 1
        session.add(event)
        session.commit()
    return counts


def events_of(
    session: Session, *, subscription: WebhookSubscription, state: str | None
) -> list[WebhookEvent]:
    stmt = select(WebhookEvent).where(WebhookEvent.subscription_id == subscription.id)
    if state is not None:
        stmt = stmt.where(WebhookEvent.state == state)
    return list(session.exec(stmt.order_by(col(WebhookEvent.id).desc()).limit(500)).all())


def retry(session: Session, *, subscription: WebhookSubscription, event_id: int) -> WebhookEvent:
    event = session.get(WebhookEvent, event_id)
    if event is None or event.subscription_id != subscription.id:
        raise NotFound(f"event {event_id} not found", code="webhook_event_not_found")
    event.state, event.attempts, event.next_attempt_at = "pending", 0, utcnow()
    session.add(event)
    session.commit()
    session.refresh(event)
    return event

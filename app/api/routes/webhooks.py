"""Webhook subscriptions, their delivery log and dead letters."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PathId, SessionDep
from app.errors import ERROR_RESPONSES
from app.services import webhooks as webhooks_service
from models.webhook_event import WebhookEventPublic
from models.webhook_subscription import (
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionPublic,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)


@router.post("", response_model=WebhookSubscriptionCreated, status_code=status.HTTP_201_CREATED)
def create_webhook(
    data: WebhookSubscriptionCreate, session: SessionDep, principal: CurrentPrincipal
) -> WebhookSubscriptionCreated:
    """Subscribe a URL to events (`eta.changed`, `delivery.status_changed`, `alert.opened`,
    `alert.resolved`). Each POST carries `X-Inbound-Signature: t=<unix>,v1=<HMAC-SHA256 of
    "<t>.<body>" with the secret>` and an `Idempotency-Key`; failures are retried with
    exponential backoff, then kept as dead letters. The secret is shown only here."""
    sub = webhooks_service.create_subscription(session, principal=principal, data=data)
    return WebhookSubscriptionCreated.model_validate(sub)


@router.get("", response_model=list[WebhookSubscriptionPublic])
def list_webhooks(
    session: SessionDep, principal: CurrentPrincipal
) -> list[WebhookSubscriptionPublic]:
    """The subscriptions the caller may see."""
    subs = webhooks_service.visible_subscriptions(session, principal=principal)
    return [WebhookSubscriptionPublic.model_validate(s) for s in subs]


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(
    subscription_id: PathId, session: SessionDep, principal: CurrentPrincipal
) -> None:
    """Stop and remove a subscription (its pending events go with it)."""
    webhooks_service.delete_subscription(
        session, principal=principal, subscription_id=subscription_id
    )


@router.get("/{subscription_id}/events", response_model=list[WebhookEventPublic])
def webhook_events(
    subscription_id: PathId,
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Literal["pending", "delivered", "dead"] | None = None,
) -> list[WebhookEventPublic]:
    """Recent events of a subscription; `state=dead` is the dead-letter list."""
    sub = webhooks_service.get_subscription(
        session, principal=principal, subscription_id=subscription_id
    )
    events = webhooks_service.events_of(session, subscription=sub, state=state)
    return [WebhookEventPublic.model_validate(e) for e in events]


@router.post("/{subscription_id}/events/{event_id}/retry", response_model=WebhookEventPublic)
def retry_event(
    subscription_id: PathId, event_id: PathId, session: SessionDep, principal: CurrentPrincipal
) -> WebhookEventPublic:
    """Send a dead (or pending) event again from the first attempt."""
    sub = webhooks_service.get_subscription(
        session, principal=principal, subscription_id=subscription_id
    )
    return WebhookEventPublic.model_validate(
        webhooks_service.retry(session, subscription=sub, event_id=event_id)
    )

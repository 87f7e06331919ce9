"""WebhookEvent: the outbox. An event is stored with the change that caused it and stays
until its receiver acknowledged it (2xx) or it ran out of attempts (dead letter)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class WebhookEvent(SQLModel, table=True):
    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", ondelete="CASCADE")
    event_type: str = Field(max_length=40)
    # Sent as Idempotency-Key: a receiver that sees it twice (a retry after a lost answer)
    # can drop the copy.
    idempotency_key: str = Field(max_length=64, unique=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)  # pending, delivered, dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookEventPublic(SQLModel):
    id: int
    subscription_id: int
    event_type: str
    idempotency_key: str
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

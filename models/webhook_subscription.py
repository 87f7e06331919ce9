"""WebhookSubscription: where to POST a supplier's or a site's events, signed with a secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import MAX_ID, UTCDateTime, utcnow

WEBHOOK_EVENTS = ("eta.changed", "delivery.status_changed", "alert.opened", "alert.resolved")


class WebhookSubscriptionBase(SQLModel):
    url: str = Field(max_length=500)
    events: list[str] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS), sa_column=Column(JSON, nullable=False)
    )
    supplier_id: int | None = Field(default=None, foreign_key="supplier.id", ondelete="CASCADE")
    site_id: int | None = Field(default=None, foreign_key="site.id", ondelete="CASCADE")
    is_active: bool = True


class WebhookSubscription(WebhookSubscriptionBase, table=True):
    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    secret: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebhookSubscriptionCreate(SQLModel):
    url: AnyHttpUrl
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS), min_length=1)
    supplier_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _known_events(self) -> WebhookSubscriptionCreate:
        unknown = sorted(set(self.events) - set(WEBHOOK_EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {list(WEBHOOK_EVENTS)}")
        return self


class WebhookSubscriptionPublic(WebhookSubscriptionBase):
    id: int
    created_at: datetime


class WebhookSubscriptionCreated(WebhookSubscriptionPublic):
    secret: str

"""DeliveryEvent: one timestamped step of a delivery's life, with who or what caused it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class EventSource(enum.StrEnum):
    gps = "gps"
    user = "user"
    api = "api"
    scheduler = "scheduler"


class DeliveryEvent(SQLModel, table=True):
    __tablename__ = "delivery_event"
    __table_args__ = (Index("ix_delivery_event_delivery_at", "delivery_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", ondelete="CASCADE")
    kind: str = Field(max_length=32, description="the new status, or dock_assigned / left")
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, description="when it happened")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    source: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class DeliveryEventPublic(SQLModel):
    id: int
    delivery_id: int
    kind: str
    from_status: str | None
    to_status: str | None
    at: datetime
    recorded_at: datetime
    source: str
    user_id: int | None
    details: dict[str, Any] | None

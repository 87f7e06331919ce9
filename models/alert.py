"""Alert: a flag raised on a delivery or a site, with its reason, severity and history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class AlertReason(enum.StrEnum):
    vehicle_late = "vehicle_late"
    unloading_queue = "unloading_queue"
    vehicle_silent = "vehicle_silent"
    off_course = "off_course"
    long_dwell = "long_dwell"
    early = "early"


class AlertState(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Alert(SQLModel, table=True):
    __table_args__ = (Index("ix_alert_site_state", "site_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", ondelete="CASCADE")
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id", ondelete="CASCADE")
    reason: str = Field(max_length=32)
    severity: str = Field(default="warning", max_length=16)
    state: str = Field(default=AlertState.open, max_length=16)
    message: str = Field(default="", max_length=500)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertPublic(SQLModel):
    id: int
    site_id: int
    delivery_id: int | None
    reason: str
    severity: str
    state: str
    message: str
    details: dict[str, Any] | None
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None

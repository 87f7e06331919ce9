"""Delivery: one truck bringing pallets to one site within a booked unloading slot."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import model_validator
from sqlalchemy import Column, Enum, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import MAX_ID, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    planned = "planned"
    en_route = "en_route"
    arrived = "arrived"
    unloading = "unloading"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


ACTIVE_STATUSES = (
    DeliveryStatus.planned,
    DeliveryStatus.en_route,
    DeliveryStatus.arrived,
    DeliveryStatus.unloading,
)


class DeliveryBase(SQLModel):
    site_id: int = Field(foreign_key="site.id", index=True, ge=1, le=MAX_ID)
    vehicle_id: int | None = Field(
        default=None, foreign_key="vehicle.id", index=True, ge=1, le=MAX_ID
    )
    external_ref: str = Field(min_length=1, max_length=64)
    slot_start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    slot_end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    pallets: int = Field(default=1, ge=0, le=200)
    notes: str = Field(default="", max_length=500)


class Delivery(DeliveryBase, table=True):
    __table_args__ = (
        UniqueConstraint("supplier_id", "external_ref"),
        Index("ix_delivery_site_status_slot", "site_id", "status", "slot_start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="supplier.id", index=True)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.planned,
        sa_column=Column(
            Enum(DeliveryStatus, name="delivery_status", native_enum=False, length=20),
            nullable=False,
        ),
    )
    dock_id: int | None = Field(default=None, foreign_key="dock.id")
    departed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dock_start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dock_end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DeliveryCreate(DeliveryBase):
    supplier_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="required for admins; a supplier key books its own",
    )

    @model_validator(mode="after")
    def _slot_order(self) -> DeliveryCreate:
        if self.slot_start_at.tzinfo is None or self.slot_end_at.tzinfo is None:
            raise ValueError("slot times must carry a time zone (e.g. 2026-11-22T10:00:00Z)")
        if self.slot_end_at <= self.slot_start_at:
            raise ValueError("slot_end_at must be after slot_start_at")
        return self


class DeliveryUpdate(SQLModel):
    vehicle_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    slot_start_at: datetime | None = None
    slot_end_at: datetime | None = None
    pallets: int | None = Field(default=None, ge=0, le=200)
    notes: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _aware(self) -> DeliveryUpdate:
        for value in (self.slot_start_at, self.slot_end_at):
            if value is not None and value.tzinfo is None:
                raise ValueError("slot times must carry a time zone (e.g. 2026-11-22T10:00:00Z)")
        return self


class DeliveryPublic(DeliveryBase):
    id: int
    supplier_id: int
    status: DeliveryStatus
    dock_id: int | None
    departed_at: datetime | None
    arrived_at: datetime | None
    dock_start_at: datetime | None
    dock_end_at: datetime | None
    left_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryEventIn(SQLModel):
    kind: str = Field(
        description="dock_assigned, en_route, arrived, unloading, completed, cancelled, "
        "no_show or left",
        max_length=32,
    )
    at: datetime | None = Field(default=None, description="when it happened; now if omitted")
    dock_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str | None = Field(default=None, max_length=500)


class DwellPublic(SQLModel):
    travel_min: float | None
    yard_wait_min: float | None
    unloading_min: float | None
    on_site_min: float | None
    lateness_min: float | None

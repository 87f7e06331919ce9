"""Vehicle: a supplier's truck with its GPS device id and its latest known position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import MAX_ID, UTCDateTime, utcnow


class VehicleBase(SQLModel):
    plate: str = Field(min_length=1, max_length=32)
    device_id: str = Field(
        min_length=1, max_length=64, schema_extra={"pattern": r"^[A-Za-z0-9_.:-]+$"}
    )
    description: str = Field(default="", max_length=200)
    is_active: bool = True


class Vehicle(VehicleBase, table=True):
    __table_args__ = (
        UniqueConstraint("supplier_id", "device_id"),
        UniqueConstraint("supplier_id", "plate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="supplier.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Denormalised latest fix: the live screen reads it for every truck on every refresh.
    last_fix_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_lat: float | None = None
    last_lon: float | None = None
    last_speed_mps: float | None = None
    last_heading: float | None = None


class VehicleCreate(VehicleBase):
    supplier_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="required for admins; a supplier key creates its own",
    )


class VehicleUpdate(SQLModel):
    plate: str | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None


class VehiclePublic(VehicleBase):
    id: int
    supplier_id: int
    created_at: datetime
    last_fix_at: datetime | None
    last_lat: float | None
    last_lon: float | None
    last_speed_mps: float | None
    last_heading: float | None

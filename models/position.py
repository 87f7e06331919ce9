"""Position: one GPS fix of a vehicle, unique on (vehicle, device time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class Position(SQLModel, table=True):
    # The natural key doubles as the (vehicle, time) index and, on PostgreSQL, includes the
    # partition column as native partitioning requires.
    vehicle_id: int = Field(foreign_key="vehicle.id", primary_key=True)
    device_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    lat: float
    lon: float
    speed_mps: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    source: str = Field(default="api", max_length=16)
    attributes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class PositionPublic(SQLModel):
    vehicle_id: int
    device_at: datetime
    received_at: datetime
    lat: float
    lon: float
    speed_mps: float | None
    heading: float | None
    accuracy_m: float | None
    source: str

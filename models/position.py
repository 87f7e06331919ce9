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


class PositionPointIn(SQLModel):
    """One fix as suppliers send it; documented here, validated point by point on receipt."""

    device_id: str = Field(max_length=64)
    ts: datetime | float = Field(description="ISO-8601, or epoch seconds or milliseconds")
    lat: float
    lon: float
    speed_mps: float | None = Field(default=None, description="metres per second")
    heading: float | None = Field(default=None, description="degrees from north")
    accuracy_m: float | None = None


class PositionBatchIn(SQLModel):
    positions: list[Any] = Field(
        min_length=1,
        max_length=10_000,
        description="up to 10 000 points shaped like PositionPointIn; bad points are "
        "rejected one by one, never the whole batch",
        schema_extra={
            "json_schema_extra": {"items": {"$ref": "#/components/schemas/PositionPointIn"}}
        },
    )


class RejectedPoint(SQLModel):
    index: int
    reason: str
    message: str


class IngestResult(SQLModel):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[RejectedPoint]

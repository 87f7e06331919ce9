"""Site: a warehouse, distribution centre or darkstore receiving trucks, with its docks."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, field_validator
from sqlalchemy import JSON, Column, Enum
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class SiteKind(enum.StrEnum):
    warehouse = "warehouse"
    distribution_centre = "distribution_centre"
    darkstore = "darkstore"


class Shift(BaseModel):
    """An unloading shift in the site's local time; end before start means it crosses midnight."""

    name: str = Field(min_length=1, max_length=50)
    start: str = Field(description="HH:MM local time")
    end: str = Field(description="HH:MM local time")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("must be HH:MM (24-hour)")
        return value


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone: {value!r}") from exc
    return value


DEFAULT_SHIFTS: list[dict[str, Any]] = [
    {"name": "day", "start": "06:00", "end": "14:00"},
    {"name": "evening", "start": "14:00", "end": "22:00"},
    {"name": "night", "start": "22:00", "end": "06:00"},
]


class SiteBase(SQLModel):
    code: str = Field(min_length=1, max_length=32, schema_extra={"pattern": r"^[A-Za-z0-9_.-]+$"})
    name: str = Field(min_length=1, max_length=200)
    kind: SiteKind = Field(
        sa_column=Column(
            Enum(SiteKind, name="site_kind", native_enum=False, length=32), nullable=False
        )
    )
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    geofence_radius_m: float = Field(default=300.0, gt=10, le=20_000)
    timezone: str = Field(default="UTC", max_length=64)
    dock_count: int = Field(default=4, ge=1, le=500)
    unloading_rate_pph: float = Field(
        default=30.0, gt=0, le=1000, description="pallets per hour per dock"
    )
    crew_rate_pph: float = Field(
        default=30.0, gt=0, le=1000, description="pallets per hour per crew"
    )
    target_wait_min: float = Field(default=20.0, ge=0, le=24 * 60)
    shifts: list[dict[str, Any]] = Field(
        default_factory=lambda: list(DEFAULT_SHIFTS), sa_column=Column(JSON, nullable=False)
    )


class Site(SiteBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SiteCreate(SiteBase):
    shifts: list[Shift] = Field(  # type: ignore[assignment]  # validated here, stored as dicts
        default_factory=lambda: [Shift(**s) for s in DEFAULT_SHIFTS]
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)


class SiteUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: SiteKind | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    geofence_radius_m: float | None = Field(default=None, gt=10, le=20_000)
    timezone: str | None = Field(default=None, max_length=64)
    dock_count: int | None = Field(default=None, ge=1, le=500)
    unloading_rate_pph: float | None = Field(default=None, gt=0, le=1000)
    crew_rate_pph: float | None = Field(default=None, gt=0, le=1000)
    target_wait_min: float | None = Field(default=None, ge=0, le=24 * 60)
    shifts: list[Shift] | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_tz(value)


class SitePublic(SiteBase):
    id: int
    created_at: datetime

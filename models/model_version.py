"""ModelVersion: a trained ETA model with its metrics and training window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64, unique=True)
    path: str = Field(max_length=500)
    trained_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    train_from_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    train_to_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    n_trips: int = 0
    n_samples: int = 0
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    is_active: bool = False
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ModelVersionPublic(SQLModel):
    id: int
    version: str
    trained_at: datetime
    train_from_at: datetime | None
    train_to_at: datetime | None
    n_trips: int
    n_samples: int
    metrics: dict[str, Any] | None
    is_active: bool
    activated_at: datetime | None

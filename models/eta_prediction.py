"""EtaPrediction: the log of every ETA served, so accuracy is measured after arrival."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime


class EtaPrediction(SQLModel, table=True):
    __tablename__ = "eta_prediction"
    __table_args__ = (Index("ix_eta_prediction_delivery_predicted", "delivery_id", "predicted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", ondelete="CASCADE")
    predicted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    remaining_m: float | None = None
    eta_p10_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    eta_p50_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    eta_p90_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    model_version: str = Field(max_length=64)


class EtaPredictionPublic(SQLModel):
    delivery_id: int
    predicted_at: datetime
    remaining_m: float | None
    eta_p10_at: datetime
    eta_p50_at: datetime
    eta_p90_at: datetime
    model_version: str

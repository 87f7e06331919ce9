"""Supplier API key: stored as a SHA-256 hash, shown raw once, revocable."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import MAX_ID, UTCDateTime, utcnow


class ApiKeyBase(SQLModel):
    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKey(ApiKeyBase, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    supplier_id: int = Field(foreign_key="supplier.id", index=True, ondelete="CASCADE")
    # Keys carry 256 bits of randomness, so a fast hash is enough and keeps ingest cheap.
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCreate(ApiKeyBase):
    supplier_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="required for admins; suppliers create keys for themselves",
    )


class ApiKeyPublic(ApiKeyBase):
    id: int
    supplier_id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the raw key; shown only once")

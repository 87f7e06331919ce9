"""Supplier: a maker or carrier whose trucks deliver to the sites."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class SupplierBase(SQLModel):
    code: str = Field(min_length=1, max_length=32, schema_extra={"pattern": r"^[A-Za-z0-9_.-]+$"})
    name: str = Field(min_length=1, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    is_active: bool = True


class Supplier(SupplierBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SupplierCreate(SupplierBase):
    pass


class SupplierUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    is_active: bool | None = None


class SupplierPublic(SupplierBase):
    id: int
    created_at: datetime

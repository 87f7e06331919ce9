"""Dock: one unloading door of a site; a delivery occupies it from dock start to dock end."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class DockBase(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    is_active: bool = True


class Dock(DockBase, table=True):
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")


class DockCreate(DockBase):
    pass


class DockPublic(DockBase):
    id: int
    site_id: int
    busy_delivery_id: int | None = Field(
        default=None, description="the delivery unloading at this dock now, if any"
    )

"""Dashboard user with a role, scoped to sites (staff) or to a supplier (supplier viewer)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import EmailStr
from pydantic import Field as PydField
from sqlalchemy import Column, Enum
from sqlmodel import Field, SQLModel

from models.base import MAX_ID, UTCDateTime, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    logistician = "logistician"
    planner = "planner"
    supplier_viewer = "supplier_viewer"


class UserSite(SQLModel, table=True):
    __tablename__ = "user_site"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", primary_key=True, ondelete="CASCADE")


class UserBase(SQLModel):
    email: str = Field(max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(
        sa_column=Column(Enum(Role, name="role", native_enum=False, length=20), nullable=False)
    )
    supplier_id: int | None = Field(default=None, foreign_key="supplier.id", ondelete="CASCADE")
    is_active: bool = True


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Bumped on password change or deactivation so outstanding session tokens stop working.
    token_version: int = Field(default=1)


class UserCreate(SQLModel):
    email: EmailStr
    full_name: str = Field(default="", max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=128)
    supplier_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_ids: list[Annotated[int, PydField(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=1000
    )


class UserUpdate(SQLModel):
    full_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=128)
    is_active: bool | None = None
    site_ids: list[Annotated[int, PydField(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=1000
    )


class UserPublic(SQLModel):
    id: int
    email: str
    full_name: str
    role: Role
    supplier_id: int | None
    is_active: bool
    created_at: datetime
    site_ids: list[int] = Field(default_factory=list)

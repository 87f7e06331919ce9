"""Helpers every service shares: pagination, partial updates and integrity errors."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import Conflict, InvalidInput

T = TypeVar("T", bound=SQLModel)


def paginate(
    session: Session, stmt: SelectOfScalar[T], *, limit: int, offset: int, order_by: Any
) -> tuple[list[T], int]:
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    items = session.exec(stmt.order_by(order_by).limit(limit).offset(offset)).all()
    return list(items), int(total)


def apply_update(obj: SQLModel, changes: SQLModel, *, skip: frozenset[str] = frozenset()) -> None:
    """Set the fields the caller sent; null for a column that cannot be null is a 422 and
    changes nothing."""
    data = changes.model_dump(exclude_unset=True)
    columns = getattr(obj, "__table__").columns  # noqa: B009 - SQLModel tables only
    refused = [f for f, v in data.items() if v is None and f in columns and not columns[f].nullable]
    if refused:
        raise InvalidInput(
            f"{', '.join(sorted(refused))} cannot be null; leave a field out to keep it",
            code="validation_error",
        )
    for field, value in data.items():
        if field in skip:
            continue
        if isinstance(value, list):
            value = [v.model_dump() if hasattr(v, "model_dump") else v for v in value]
        setattr(obj, field, value)


def commit_or_conflict(
    session: Session, *, code: str, message: str, flush_only: bool = False
) -> None:
    """Commit (or flush); a constraint violation becomes a 409 with nothing stored."""
    try:
        if flush_only:
            session.flush()
        else:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message, code=code) from exc

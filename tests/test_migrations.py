"""The models and the migrations describe the same schema on this database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import models  # noqa: F401
from app.migrations import current_and_head, include_object


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_database_is_at_head(engine: Engine) -> None:
    with engine.connect() as connection:
        current, head = current_and_head(connection)
    assert current is not None and current == head

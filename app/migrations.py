"""Run and inspect Alembic migrations from the application (CLI, health, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from models.base import UTCDateTime

REPO_ROOT = Path(__file__).resolve().parents[1]


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    config.attributes["configure_logger"] = False
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(*, url: str | None = None, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url=url, connection=connection), "head")


_head: str | None = None


def head_revision() -> str | None:
    global _head
    if _head is None:
        _head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return _head


def current_and_head(connection: Connection) -> tuple[str | None, str | None]:
    current = MigrationContext.configure(connection).get_current_revision()
    return current, head_revision()


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave PostgreSQL partitions of the position table (made by the retention job) alone."""
    if type_ == "table" and name is not None and name.startswith("position_p"):
        return False
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the UTC timestamp type as a plain timezone-aware DateTime in migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False

"""Shared by the benchmarks: a throw-away database, wiped before each run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import build_engine


def wipe(url: str) -> None:
    """Empty the database (its name must contain 'bench', so nothing else is ever wiped)."""
    parsed = make_url(url)
    if "bench" not in (parsed.database or ""):
        raise SystemExit("refusing to wipe a database whose name lacks 'bench'")
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database or "").unlink(missing_ok=True)
        return
    engine = build_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()

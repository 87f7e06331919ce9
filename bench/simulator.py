"""History-mode speed: weeks of simulated trips for a fleet, written to a fresh database.

    python bench/simulator.py                      # a temporary SQLite file
    python bench/simulator.py --url postgresql://postgres@127.0.0.1:5432/inbound_bench

A PostgreSQL database is wiped first, so its name must contain "bench" or "test".
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.db import build_engine, normalise_url
from app.demo import seed
from app.migrations import upgrade
from app.simulator.history import load_world, run_history
from models import utcnow


def fresh_database(url: str | None) -> str:
    if url is None:
        path = Path(tempfile.gettempdir()) / f"inbound-bench-sim-{os.getpid()}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = normalise_url(url)
    name = make_url(url).database or ""
    if "bench" not in name and "test" not in name:
        raise SystemExit("refusing to wipe a database whose name has neither 'bench' nor 'test'")
    engine = build_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--weeks", type=float, default=4)
    parser.add_argument("--vehicles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = fresh_database(args.url)
    upgrade(url=url)
    engine = build_engine(url, pool_size=2)
    with Session(engine) as session:
        seed(session)
        end = utcnow().replace(microsecond=0)
        world = load_world(session, vehicles=args.vehicles, seed=args.seed, at=end)
        began = time.perf_counter()
        stats = run_history(
            session,
            world=world,
            seed=args.seed,
            start=end - timedelta(weeks=args.weeks),
            end=end,
        )
        elapsed = time.perf_counter() - began
    engine.dispose()
    backend = make_url(url).get_backend_name()
    print(
        f"{backend}: {args.weeks:g} weeks, {len(world.vehicles)} vehicles, "
        f"{len(world.sites)} sites, seed {args.seed}"
    )
    print(f"  wall time            {elapsed:8.1f} s")
    print(f"  positions written    {stats.positions:>10,}  ({stats.positions / elapsed:,.0f}/s)")
    print(
        f"  deliveries           {stats.deliveries:>10,}  ({stats.completed:,} completed, "
        f"{stats.no_shows:,} no-shows), {stats.events:,} events"
    )
    print(
        f"  mean yard wait       {stats.mean_wait_min:8.1f} min; "
        f"{stats.on_time_share:.0%} at the gate by the slot's end"
    )


if __name__ == "__main__":
    main()

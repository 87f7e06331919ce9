"""Site view data endpoints under load: 500 active deliveries, ten million stored positions.

    python bench/board.py --database-url postgresql://postgres@127.0.0.1/inbound_bench_board

The database must be a throw-away one (its name must contain 'bench'): it is wiped, migrated
and filled (positions with one INSERT … SELECT generate_series on PostgreSQL), then a real
server is started on it and each endpoint the site view calls is requested --requests times
in a row; the script prints p50/p95/max latency per endpoint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrations  # noqa: E402
from app.db import build_engine, normalise_url  # noqa: E402
from app.services.retention import ensure_partitions  # noqa: E402
from bench._db import wipe  # noqa: E402
from models import Alert, DeliveryStatus, EtaPrediction, Role  # noqa: E402
from tests.factories import (  # noqa: E402
    make_delivery,
    make_site,
    make_supplier,
    make_user,
    make_vehicle,
)
from tests.servers import start_server  # noqa: E402


def seed(url: str, *, deliveries: int, positions: int) -> tuple[int, str]:
    wipe(url)
    migrations.upgrade(url=url)
    engine = build_engine(url, pool_size=2)
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session:
        site = make_site(session, code="BENCH", name="Bench DC", dock_count=20)
        suppliers = [make_supplier(session, name=f"Supplier {i}") for i in range(10)]
        user = make_user(session, role=Role.logistician, email="bench@example.com", sites=[site])
        made = []
        for i in range(deliveries):
            supplier = suppliers[i % len(suppliers)]
            vehicle = make_vehicle(session, supplier=supplier)
            vehicle.last_lat, vehicle.last_lon = 55.75 + (i % 50) * 0.01, 37.62 + (i // 50) * 0.01
            vehicle.last_fix_at, vehicle.last_speed_mps = now - timedelta(seconds=30), 12.0
            session.add(vehicle)
            delivery = make_delivery(
                session,
                supplier=supplier,
                site=site,
                vehicle=vehicle,
                slot_start_at=now + timedelta(minutes=10 + i % 600),
            )
            delivery.status = DeliveryStatus.en_route
            delivery.departed_at = now - timedelta(hours=1)
            session.add(delivery)
            made.append((delivery.id, vehicle.id))
        session.commit()
        for delivery_id, _ in made:
            for k in range(20):
                at = now - timedelta(minutes=3 * k)
                session.add(
                    EtaPrediction(
                        delivery_id=delivery_id,
                        predicted_at=at,
                        remaining_m=20_000.0,
                        eta_p10_at=now + timedelta(minutes=20),
                        eta_p50_at=now + timedelta(minutes=30),
                        eta_p90_at=now + timedelta(minutes=45),
                        model_version="physics-0",
                    )
                )
            if delivery_id % 5 == 0:
                session.add(Alert(site_id=site.id, delivery_id=delivery_id, reason="vehicle_late"))
        session.commit()
        vehicle_ids = [v for _, v in made]
        assert site.id is not None and user.email
        site_id = site.id
    with engine.begin() as conn:
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            ensure_partitions(conn, now=now - timedelta(days=40), retention_days=60)
            conn.execute(
                text(
                    """
                    INSERT INTO position (vehicle_id, device_at, received_at, lat, lon, speed_mps, source)
                    SELECT :first + (g % :n), :start + make_interval(secs => (g / :n) * 10),
                           :start + make_interval(secs => (g / :n) * 10), 55.0 + random(),
                           37.0 + random(), 12.0, 'bench'
                    FROM generate_series(0, :total - 1) AS g
                    """
                ),
                {
                    "first": min(vehicle_ids),
                    "n": len(vehicle_ids),
                    "start": now - timedelta(days=30),
                    "total": positions,
                },
            )
            conn.execute(text("ANALYZE"))
        print(
            f"seeded {deliveries} en-route deliveries, {deliveries * 20} logged ETAs and "
            f"{positions if engine.dialect.name == 'postgresql' else 0:,} positions "
            f"in {time.perf_counter() - started:.0f} s (positions)",
            flush=True,
        )
    engine.dispose()
    return site_id, "bench@example.com"


def measure(base: str, token: str, path: str, requests: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        client.get(path).raise_for_status()  # warm-up
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--one-process", action="store_true", help="run the scheduler inside the API process"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    args = parser.parse_args()
    url = normalise_url(args.database_url)
    if args.reuse:
        site_id, email = 1, "bench@example.com"
    else:
        site_id, email = seed(url, deliveries=args.deliveries, positions=args.positions)
    # As in production, the scheduler keeps every ETA fresh while the screens poll.
    refreshed = time.perf_counter()
    with Session(build_engine(url, pool_size=1)) as session:
        from app.services.eta_serving import refresh_all

        count = refresh_all(session, now=datetime.now(UTC))
    print(f"ETA refresh of {count} deliveries: {time.perf_counter() - refreshed:.1f} s")
    # By default the production layout (docker-compose.yml): the API without jobs and
    # `inbound scheduler` as its own process on the same database; --one-process runs the jobs
    # inside the API process, as `inbound serve` does on a single small machine.
    scheduler = None
    if args.one_process:
        proc, base = start_server(url, env={"INBOUND_SCHEDULER_ENABLED": "true"})
    else:
        proc, base = start_server(url, env={"INBOUND_SCHEDULER_ENABLED": "false"})
        scheduler = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "scheduler"],
            env=dict(os.environ, INBOUND_DATABASE_URL=url, INBOUND_ENVIRONMENT="test"),
        )
    print("scheduler:", "in the API process" if args.one_process else "a separate process")
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": email, "password": "correct-horse-battery"},
        ).json()["access_token"]
        print(f"{'endpoint':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for path in (
            f"/api/v1/sites/{site_id}/board",
            f"/api/v1/sites/{site_id}/alerts?state=open&limit=100",
            f"/api/v1/sites/{site_id}/forecast?hours=12",
        ):
            t = sorted(measure(base, token, path, args.requests))
            p95 = t[int(len(t) * 0.95) - 1]
            print(f"{path:<48} {statistics.median(t):>8.1f} {p95:>8.1f} {t[-1]:>8.1f}")
    finally:
        for running in (proc, scheduler):
            if running is not None:
                running.terminate()
                running.wait(timeout=20)


if __name__ == "__main__":
    main()

"""One full ETA refresh cycle (ETA, risk, flags) for many active deliveries.

    python bench/eta_refresh.py --database-url postgresql://postgres@127.0.0.1/inbound_bench_eta

The database must be a throw-away one (name containing 'bench'). It is wiped and filled with
--deliveries en-route deliveries whose trucks have sent a fix every 60 s for 30 minutes; a
model is trained on synthetic completed trips and made active; then the ETA refresh job
(batched model prediction, logging, live events) and the alerts job are timed, as the
scheduler runs them, plus the raw model prediction for the same number of trucks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrations  # noqa: E402
from app.db import build_engine, normalise_url  # noqa: E402
from app.services import alerts, eta_serving, eta_training  # noqa: E402
from app.services.retention import ensure_partitions  # noqa: E402
from bench._db import wipe  # noqa: E402
from eta.features import trip_features  # noqa: E402
from eta.model import EtaModel  # noqa: E402
from models import DeliveryStatus, ModelVersion  # noqa: E402
from tests.eta.test_eta_engine import synthetic_trips  # noqa: E402
from tests.factories import make_site, make_supplier  # noqa: E402


def seed(url: str, n: int, now: datetime) -> None:
    wipe(url)
    migrations.upgrade(url=url)
    engine = build_engine(url, pool_size=1)
    with Session(engine) as session:
        sites = [make_site(session, code=f"B{i}", lat=55.0 + i, lon=37.0) for i in range(5)]
        supplier = make_supplier(session)
        site_ids = [s.id for s in sites]
        supplier_id = supplier.id
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    with engine.begin() as conn:
        ensure_partitions(conn, now=now, retention_days=30)
        conn.execute(
            text(
                "INSERT INTO vehicle (supplier_id, plate, device_id, description, is_active,"
                " created_at) SELECT :s, 'P' || g, 'dev-' || g, '', true, :now"
                " FROM generate_series(1, :n) g"
            ),
            {"s": supplier_id, "n": n, "now": now},
        )
        vehicle_ids = [r[0] for r in conn.execute(text("SELECT id FROM vehicle ORDER BY id"))]
        rows = []
        fixes = []
        for k, vehicle_id in enumerate(vehicle_ids):
            site_id = site_ids[k % len(site_ids)]
            lat0 = 55.0 + (k % len(site_ids)) + rng.uniform(0.05, 0.5)
            rows.append(
                {
                    "site": site_id,
                    "vehicle": vehicle_id,
                    "supplier": supplier_id,
                    "ref": f"R{k}",
                    "start": now + timedelta(minutes=int(rng.integers(10, 300))),
                    "departed": now - timedelta(minutes=30),
                    "lat": lat0,
                }
            )
            for m in range(30, 0, -1):
                at = now - timedelta(minutes=m)
                fixes.append(
                    {"v": vehicle_id, "at": at, "lat": lat0 + m * 0.008, "lon": 37.0, "sp": 14.0}
                )
        conn.execute(
            text(
                "INSERT INTO delivery (site_id, vehicle_id, supplier_id, external_ref,"
                " slot_start_at, slot_end_at, pallets, notes, status, departed_at, created_at,"
                " updated_at) VALUES (:site, :vehicle, :supplier, :ref, :start,"
                " :start + interval '1 hour', 10, '', :status, :departed, :departed, :departed)"
            ),
            [dict(r, status=DeliveryStatus.en_route.value) for r in rows],
        )
        conn.execute(
            text(
                "INSERT INTO position (vehicle_id, device_at, received_at, lat, lon, speed_mps,"
                " source) VALUES (:v, :at, :at, :lat, :lon, :sp, 'bench')"
            ),
            fixes,
        )
        conn.execute(
            text(
                "UPDATE vehicle SET last_fix_at = :at, last_lat = 55.5, last_lon = 37.0,"
                " last_speed_mps = 14"
            ),
            {"at": now - timedelta(minutes=1)},
        )
    print(
        f"seeded {n} en-route deliveries and {len(fixes):,} fixes in {time.perf_counter() - started:.0f} s"
    )
    engine.dispose()


def activate_model(url: str, now: datetime) -> EtaModel:
    trips = synthetic_trips(200)
    X = np.vstack([trip_features(t) for t in trips])
    y = np.concatenate([t.arrival_t - t.t for t in trips])
    model = EtaModel(version="bench-model").fit(X, y)
    path = Path(tempfile.mkdtemp()) / "bench-model.joblib"
    model.save(path)
    with Session(build_engine(url, pool_size=1)) as session:
        session.add(
            ModelVersion(version=model.version, path=str(path), is_active=True, activated_at=now)
        )
        session.commit()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--deliveries", type=int, default=10_000)
    args = parser.parse_args()
    url = normalise_url(args.database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    seed(url, args.deliveries, now)
    model = activate_model(url, now)
    engine = build_engine(url, pool_size=2)
    X = np.vstack([trip_features(t) for t in synthetic_trips(60)])
    X = X[np.random.default_rng(0).integers(0, len(X), args.deliveries)]
    started = time.perf_counter()
    model.predict(X)
    print(
        f"model prediction alone for {args.deliveries:,} trucks: {time.perf_counter() - started:.3f} s"
    )
    with Session(engine) as session:
        eta_training.serving_model(session)  # loaded once per process, as in the scheduler
    # The first cycle opens thousands of alerts; the second is the steady state, a minute on.
    for cycle, at in (("first", now), ("steady", now + timedelta(seconds=61))):
        total = 0.0
        for label, func in (
            ("ETA refresh (model, log, live events)", eta_serving.refresh_all),
            ("alerts (risk and flags)", alerts.evaluate),
        ):
            with Session(engine, expire_on_commit=False) as session:
                started = time.perf_counter()
                result = func(session, now=at)
                took = time.perf_counter() - started
                total += took
                print(f"{cycle} cycle, {label}: {took:.1f} s ({result})")
        print(f"{cycle} cycle in all: {total:.1f} s for {args.deliveries:,} deliveries")


if __name__ == "__main__":
    main()

"""Group commit shares transactions correctly, and a 2xx survives a SIGKILL of the server."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.services.ingest_writer import GroupCommitWriter
from models import ApiKey, Position, Supplier, Vehicle
from tests.factories import make_api_key, make_supplier, make_vehicle, position_row
from tests.servers import free_port, start_server


@dataclass
class Tenant:
    supplier_id: int
    vehicle_ids: list[int]
    device_ids: list[str]
    key: str


@pytest.fixture()
def tenant(engine: Engine) -> Iterator[Tenant]:
    """Committed data, visible to other connections and processes; removed afterwards."""
    with Session(engine) as session:
        supplier = make_supplier(session)
        vehicles = [make_vehicle(session, supplier=supplier) for _ in range(4)]
        key = make_api_key(session, supplier=supplier)
        data = Tenant(supplier.id, [v.id for v in vehicles], [v.device_id for v in vehicles], key)
    yield data
    with Session(engine) as session:
        session.exec(delete(Position).where(col(Position.vehicle_id).in_(data.vehicle_ids)))
        session.exec(delete(ApiKey).where(ApiKey.supplier_id == data.supplier_id))
        session.exec(delete(Vehicle).where(Vehicle.supplier_id == data.supplier_id))
        session.exec(delete(Supplier).where(Supplier.id == data.supplier_id))
        session.commit()


def test_group_commit_credits_each_row_once(engine: Engine, tenant: Tenant) -> None:
    writer = GroupCommitWriter(engine, max_group_rows=500)
    writer.start()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

    # 8 clients × 25 requests × 20 rows; every request overlaps its neighbour by 10 rows.
    def client(c: int) -> list[list[bool]]:
        vehicle = tenant.vehicle_ids[c % len(tenant.vehicle_ids)]
        results = []
        for r in range(25):
            start = (c // 4) * 10_000 + r * 10
            rows = [position_row(vehicle, base + timedelta(seconds=start + i)) for i in range(20)]
            results.append(writer.submit(rows).result(timeout=60))
        return results

    try:
        with ThreadPoolExecutor(8) as pool:
            all_results = list(pool.map(client, range(8)))
    finally:
        writer.stop()
    credited = sum(sum(flags) for results in all_results for flags in results)
    with Session(engine) as session:
        stored = session.exec(
            select(Position).where(col(Position.vehicle_id).in_(tenant.vehicle_ids))
        ).all()
    assert credited == len(stored) == len({(p.vehicle_id, p.device_at) for p in stored})
    # 2 clients per vehicle on disjoint ranges: 2 × (24 × 10 + 20) rows each.
    assert len(stored) == 4 * 2 * 260


@pytest.mark.slow
def test_acknowledged_points_survive_sigkill(
    database_url: str, engine: Engine, tenant: Tenant
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/positions"
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    acked: list[tuple[str, datetime]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def generator(n: int) -> None:
        device = tenant.device_ids[n]
        seq = 0
        with httpx.Client(headers={"X-API-Key": tenant.key}, timeout=5) as http:
            while not stop.is_set():
                batch = []
                for _ in range(20):
                    at = base + timedelta(seconds=seq)
                    batch.append(
                        {
                            "device_id": device,
                            "ts": at.isoformat(),
                            "lat": 55.7 + seq * 1e-5,
                            "lon": 37.6,
                        }
                    )
                    seq += 1
                try:
                    response = http.post(url, json={"positions": batch})
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if response.status_code == 200:
                    assert response.json()["rejected"] == 0
                    with lock:
                        acked.extend((device, datetime.fromisoformat(p["ts"])) for p in batch)

    server, _ = start_server(database_url, port=port)
    threads = [threading.Thread(target=generator, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        with lock:
            before_kill = len(acked)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        time.sleep(0.5)
        server, _ = start_server(database_url, port=port)
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert before_kill > 0 and len(acked) > before_kill
    by_device = dict(zip(tenant.device_ids, tenant.vehicle_ids, strict=True))
    with Session(engine) as session:
        stored = {
            (p.vehicle_id, p.device_at)
            for p in session.exec(
                select(Position).where(col(Position.vehicle_id).in_(tenant.vehicle_ids))
            )
        }
    missing = [(d, at) for d, at in acked if (by_device[d], at) not in stored]
    assert missing == [], f"{len(missing)} acknowledged points lost"

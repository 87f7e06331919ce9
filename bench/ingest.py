"""Ingest benchmark: batch API and single-point OsmAnd against a real server, vs raw COPY.

    python bench/ingest.py [--db sqlite|postgres|both] [--seconds 15] [--workers 2]

Starts `inbound serve` (uvicorn workers) on loopback against a fresh database, then drives:
  1. batch ingest: 8 concurrent clients posting batches of 500 points, positions/s;
  2. OsmAnd: 64 concurrent connections (wrk) sending one fix per request, req/s, p50/p99;
  3. the same number of rows loaded by a raw bulk COPY (PostgreSQL) or one executemany
     transaction (SQLite) into the same table, and the API's rate as a share of it;
  4. peak resident memory (VmHWM) of the server processes.
Prints figures; asserts nothing. PostgreSQL: INBOUND_BENCH_PG_ADMIN_URL (default the local
server as user postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "INBOUND_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
VEHICLES = 1000
BATCH = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS inbound_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE inbound_bench")
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    return f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/inbound_bench"


def seed(url: str) -> str:
    os.environ["INBOUND_DATABASE_URL"] = url
    from sqlmodel import Session

    from app.db import build_engine
    from app.migrations import upgrade
    from app.services import api_keys
    from models import Supplier, Vehicle

    upgrade(url=url)
    engine = build_engine(url)
    with Session(engine) as session:
        supplier = Supplier(code="BENCH", name="Bench supplier")
        session.add(supplier)
        session.commit()
        session.refresh(supplier)
        for n in range(VEHICLES):
            session.add(Vehicle(supplier_id=supplier.id, plate=f"B{n}", device_id=f"bench-{n}"))
        session.commit()
        key = api_keys.create_for_supplier(session, supplier_id=supplier.id, name="bench").key
    engine.dispose()
    return key


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ, INBOUND_DATABASE_URL=url, INBOUND_LOG_LEVEL="warning", INBOUND_OSMAND_PORT="0"
    )
    cmd = [
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "serve",
        "--no-migrate",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--osmand-port",
        "0",
    ]
    log = open(Path(tempfile.gettempdir()) / "inbound-bench-server.log", "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def peak_rss_mb(root_pid: int) -> float:
    pids = [root_pid]
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(root_pid)], capture_output=True, text=True
        ).stdout.split()
        pids += [int(p) for p in children]
    except FileNotFoundError:
        pass
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def make_batches(n_batches: int, start: datetime) -> list[bytes]:
    # Each vehicle gets its own second, so no batch collides with another (all accepted).
    bodies = []
    for b in range(n_batches):
        points = []
        for i in range(BATCH):
            k = b * BATCH + i
            vehicle = k % VEHICLES
            step = k // VEHICLES
            points.append(
                {
                    "device_id": f"bench-{vehicle}",
                    "ts": (start + timedelta(seconds=step)).isoformat(),
                    "lat": 55.0 + vehicle * 0.001 + step * 1e-5,
                    "lon": 37.0 + step * 1e-5,
                    "speed_mps": 10.0,
                }
            )
        bodies.append(orjson.dumps({"positions": points}))
    return bodies


async def batch_load(
    port: int, key: str, bodies: list[bytes], seconds: float, clients: int = 8
) -> tuple[int, float]:
    url = f"http://127.0.0.1:{port}/api/v1/positions"
    headers = {"X-API-Key": key, "content-type": "application/json"}
    accepted = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    deadline = time.perf_counter() + seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal accepted
        while time.perf_counter() < deadline and not queue.empty():
            body = queue.get_nowait()
            response = await http.post(url, content=body, headers=headers)
            response.raise_for_status()
            accepted += response.json()["accepted"]

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(worker(http) for _ in range(clients)))
    return accepted, time.perf_counter() - start


WRK_SCRIPT = """
counter = 0
local base = %d
request = function()
  counter = counter + 1
  local v = counter %% %d
  local t = base + math.floor(counter / %d) + (wrk.thread_id or 0) * 100000
  local path = "/osmand?key=%s&id=bench-" .. v .. "&lat=" .. (55 + v * 0.001) .. "&lon=37.5&speed=20&timestamp=" .. t
  return wrk.format("GET", path)
end
setup = function(thread)
  thread:set("thread_id", math.random(1, 50))
end
"""


def osmand_load(port: int, key: str, seconds: int) -> str:
    if shutil.which("wrk") is None:
        return "wrk not installed (apt-get install wrk); OsmAnd load skipped"
    base = int((datetime.now(UTC) - timedelta(days=10)).timestamp())
    script = Path(tempfile.mkdtemp()) / "osmand.lua"
    script.write_text(WRK_SCRIPT % (base, VEHICLES, VEHICLES, key))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c64",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
    ).stdout
    lines = [line.strip() for line in out.splitlines()]
    keep = [
        line
        for line in lines
        if line.startswith(("50%", "99%", "Requests/sec", "Non-2xx", "Socket errors"))
    ]
    return "; ".join(keep)


def raw_copy_rate(url: str, rows: int) -> float:
    start_at = datetime.now(UTC) - timedelta(days=20)
    data = [
        (
            1 + (k % VEHICLES),
            start_at + timedelta(seconds=k // VEHICLES),
            start_at,
            55.0,
            37.0,
            10.0,
            "copy",
        )
        for k in range(rows)
    ]
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        t = time.perf_counter()
        conn.executemany(
            "INSERT INTO position (vehicle_id, device_at, received_at, lat, lon, speed_mps, source) VALUES (?,?,?,?,?,?,?)",
            [
                (
                    v,
                    d.replace(tzinfo=None).isoformat(" "),
                    r.replace(tzinfo=None).isoformat(" "),
                    la,
                    lo,
                    s,
                    src,
                )
                for v, d, r, la, lo, s, src in data
            ],
        )
        conn.commit()
        elapsed = time.perf_counter() - t
        conn.close()
        return rows / elapsed
    with psycopg.connect(url) as conn:
        t = time.perf_counter()
        with conn.cursor().copy(
            sql.SQL(
                "COPY position (vehicle_id, device_at, received_at, lat, lon, speed_mps, source) FROM STDIN"
            )
        ) as copy:
            for row in data:
                copy.write_row(row)
        conn.commit()
        return rows / (time.perf_counter() - t)


def run(kind: str, seconds: int, workers: int) -> None:
    url = fresh_database(kind)
    key = seed(url)
    port = free_port()
    server = start_server(url, port, workers)
    try:
        bodies = make_batches(int(seconds * 160), datetime.now(UTC) - timedelta(days=30))
        accepted, elapsed = asyncio.run(batch_load(port, key, bodies, seconds))
        batch_rate = accepted / elapsed
        osmand = osmand_load(port, key, seconds)
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    copy_rate = raw_copy_rate(url, max(accepted, 50_000))
    print(f"\n== {kind} ({workers} uvicorn workers, loopback, {os.cpu_count()} cores) ==")
    print(
        f"batch ingest (batches of {BATCH}, 8 clients): {batch_rate:,.0f} positions/s ({accepted:,} in {elapsed:.1f} s)"
    )
    print(f"OsmAnd single-point, 64 connections: {osmand}")
    print(
        f"raw bulk load into the same table: {copy_rate:,.0f} rows/s; API batch rate = {batch_rate / copy_rate:.0%} of it"
    )
    print(f"peak RSS of server processes: {rss:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(kind, args.seconds, args.workers)


if __name__ == "__main__":
    main()

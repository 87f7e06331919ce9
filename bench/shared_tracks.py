"""Convert public GPS track samples into the backtest CSV format of `inbound eta backtest`.

    python bench/shared_tracks.py porto   PORTO_TAXI_TRIPS.csv  porto.csv
    python bench/shared_tracks.py liverpool LIVERPOOL_BUS.csv   liverpool.csv

porto: one row per taxi trip, `shape` a WKT LINESTRING of "lon lat" pairs and `timestamps`
the epoch seconds of each point; the taxi is the vehicle. liverpool: one row per bus fix
(`trip_id, timestamp` in UTC, `latitude, longitude`, `vehicle_id`). Output columns:
trip_id, ts, lat, lon, vehicle_id.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

OUT_COLUMNS = ["trip_id", "ts", "lat", "lon", "vehicle_id"]


def porto(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            shape = row["shape"].strip()
            if not shape.upper().startswith("LINESTRING"):
                continue
            points = shape[shape.index("(") + 1 : shape.rindex(")")].split(",")
            stamps = [s.strip() for s in row["timestamps"].split(",") if s.strip()]
            if len(points) != len(stamps):
                continue
            for point, ts in zip(points, stamps, strict=True):
                lon, lat = point.split()
                yield [row["TRIP_ID"], ts, lat, lon, row["TAXI_ID"]]


def liverpool(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ts = row["timestamp"].strip().replace(" ", "T") + "Z"
            trip = f"{row['vehicle_id']}-{row['trip_id']}"
            yield [trip, ts, row["latitude"], row["longitude"], row["vehicle_id"]]


def convert(kind: str, source: Path, target: Path) -> int:
    reader = {"porto": porto, "liverpool": liverpool}[kind]
    count = 0
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUT_COLUMNS)
        for row in reader(source):
            writer.writerow(row)
            count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("porto", "liverpool"):
        sys.exit(__doc__)
    n = convert(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
    print(f"wrote {n} fixes to {sys.argv[3]}")

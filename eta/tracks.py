"""Trips as arrays of fixes, read from the backtest CSV format or built from stored positions.

CSV format (one row per fix): `trip_id, ts` (ISO-8601 or epoch seconds), `lat, lon`, optional
`speed_mps`, `vehicle_id`, and optional `dest_lat, dest_lon` (without them a trip's last fix is
its destination and its time the arrival).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

REQUIRED = ("trip_id", "ts", "lat", "lon")
# A gap this long inside a vehicle's fixes starts a new trip when segmenting raw tracks.
TRIP_GAP_S = 20 * 60.0


class TrackFileError(ValueError):
    """A backtest file that cannot be read, naming the row and column at fault."""


@dataclass
class Trip:
    trip_id: str
    vehicle_id: str
    t: np.ndarray  # epoch seconds, increasing
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray  # reported m/s, NaN where unknown
    dest_lat: float
    dest_lon: float
    arrival_t: float  # epoch seconds the trip reached its destination
    supplier_id: str = ""
    tz: str = "UTC"
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def start_t(self) -> float:
        return float(self.t[0])

    @property
    def duration_s(self) -> float:
        return self.arrival_t - self.start_t

    def __len__(self) -> int:
        return len(self.t)


def parse_ts(value: str) -> float:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        text = value.replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone") from None
        return parsed.timestamp()
    if not math.isfinite(number):
        raise ValueError(f"timestamp {value!r} is not a number")
    return number / 1000.0 if number > 1e11 else number


def _float(row: dict[str, str], key: str, line: int, *, optional: bool = False) -> float:
    raw = (row.get(key) or "").strip()
    if raw == "" and optional:
        return math.nan
    try:
        value = float(raw)
    except ValueError:
        raise TrackFileError(f"row {line}: column {key!r} is not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise TrackFileError(f"row {line}: column {key!r} is not finite: {raw!r}")
    return value


def read_tracks_csv(path: Path) -> list[Trip]:
    """All trips of the file, fixes ordered by time, duplicates dropped."""
    rows: dict[str, list[tuple[float, float, float, float, str, float, float]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise TrackFileError(f"missing column(s) {', '.join(missing)}; the header has {header}")
        has_dest = "dest_lat" in header and "dest_lon" in header
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "") for k, v in raw.items()}
            trip_id = row["trip_id"].strip()
            if not trip_id:
                raise TrackFileError(f"row {line}: column 'trip_id' is empty")
            try:
                ts = parse_ts(row["ts"])
            except ValueError as exc:
                raise TrackFileError(f"row {line}: column 'ts': {exc}") from None
            lat, lon = _float(row, "lat", line), _float(row, "lon", line)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise TrackFileError(f"row {line}: lat/lon out of range: {lat}, {lon}")
            speed = _float(row, "speed_mps", line, optional=True)
            dest = (
                (
                    _float(row, "dest_lat", line, optional=True),
                    _float(row, "dest_lon", line, optional=True),
                )
                if has_dest
                else (math.nan, math.nan)
            )
            vehicle = (row.get("vehicle_id") or "").strip() or trip_id
            rows.setdefault(trip_id, []).append((ts, lat, lon, speed, vehicle, *dest))
    if not rows:
        raise TrackFileError("the file holds no fixes")
    return [trip for trip in (_trip(tid, fixes) for tid, fixes in rows.items()) if trip]


def _trip(
    trip_id: str, fixes: list[tuple[float, float, float, float, str, float, float]]
) -> Trip | None:
    fixes.sort(key=lambda f: f[0])
    unique = [f for i, f in enumerate(fixes) if i == 0 or f[0] > fixes[i - 1][0]]
    if len(unique) < 2:
        return None
    t = np.array([f[0] for f in unique])
    lat = np.array([f[1] for f in unique])
    lon = np.array([f[2] for f in unique])
    speed = np.array([f[3] for f in unique])
    dest_lat, dest_lon = unique[-1][5], unique[-1][6]
    if math.isnan(dest_lat) or math.isnan(dest_lon):
        dest_lat, dest_lon = float(lat[-1]), float(lon[-1])
    return Trip(
        trip_id=trip_id,
        vehicle_id=unique[0][4],
        t=t,
        lat=lat,
        lon=lon,
        speed=speed,
        dest_lat=dest_lat,
        dest_lon=dest_lon,
        arrival_t=float(t[-1]),
    )


def split_by_gaps(
    t: np.ndarray, *, gap_s: float = TRIP_GAP_S, min_fixes: int = 3
) -> Iterator[slice]:
    """Index ranges of a vehicle's time-ordered fixes, cut where the device fell silent."""
    if len(t) == 0:
        return
    cuts = np.flatnonzero(np.diff(t) > gap_s) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(t)]))
    for start, end in zip(starts, ends, strict=True):
        if end - start >= min_fixes:
            yield slice(int(start), int(end))


def order_by_start(trips: Iterable[Trip]) -> list[Trip]:
    return sorted(trips, key=lambda trip: (trip.start_t, trip.trip_id))

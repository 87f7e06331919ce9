"""Import past tracks (GPX or CSV files) into a vehicle's history, for training."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import gpxpy
import gpxpy.gpx

from app.errors import InvalidInput
from app.services.positions import PointError, PointIn, Rejection, parse_number, parse_timestamp

_CSV_COLUMNS = {
    "ts": ("ts", "time", "timestamp", "datetime", "device_time"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "speed_mps": ("speed_mps",),
    "speed_kmh": ("speed_kmh", "speed_kph"),
    "heading": ("heading", "bearing", "course"),
    "accuracy_m": ("accuracy_m", "accuracy", "hacc"),
}


def detect_format(filename: str, head: bytes) -> str:
    name = filename.lower()
    if name.endswith(".gpx") or head.lstrip().startswith(b"<"):
        return "gpx"
    if name.endswith((".csv", ".txt")) or b"," in head:
        return "csv"
    raise InvalidInput("upload a .gpx or .csv track", code="unsupported_track_format")


def parse_gpx(data: bytes, *, device_id: str) -> Iterator[PointIn | Rejection]:
    try:
        gpx = gpxpy.parse(data.decode("utf-8", errors="replace"))
    except gpxpy.gpx.GPXException as exc:
        raise InvalidInput(f"not a readable GPX file: {exc}", code="invalid_gpx") from exc
    index = 0
    for track in gpx.tracks:
        for segment in track.segments:
            for point in segment.points:
                if point.time is None:
                    yield Rejection(index, "invalid_timestamp", "GPX point without <time>")
                else:
                    yield PointIn(
                        index=index,
                        device_id=device_id,
                        device_at=parse_timestamp(point.time.isoformat()),
                        lat=point.latitude,
                        lon=point.longitude,
                        speed_mps=point.speed
                        if point.speed is not None and point.speed >= 0
                        else None,
                        altitude_m=point.elevation,
                    )
                index += 1


def parse_csv(data: bytes, *, device_id: str) -> Iterator[PointIn | Rejection]:
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower(): h for h in (reader.fieldnames or [])}
    columns: dict[str, str] = {}
    for key, names in _CSV_COLUMNS.items():
        for name in names:
            if name in header:
                columns[key] = header[name]
                break
    missing = [k for k in ("ts", "lat", "lon") if k not in columns]
    if missing:
        raise InvalidInput(
            f"the CSV needs columns for {', '.join(missing)} (e.g. ts, lat, lon)",
            code="invalid_csv",
            details={"found": list(header)},
        )
    for index, row in enumerate(reader):
        try:
            yield _csv_point(row, columns, index=index, device_id=device_id)
        except PointError as exc:
            yield Rejection(index, exc.reason, exc.message)


def _csv_point(
    row: dict[str, Any], columns: dict[str, str], *, index: int, device_id: str
) -> PointIn:
    def value(key: str) -> Any:
        return row.get(columns[key]) if key in columns else None

    lat = parse_number(value("lat"), "lat", required=True)
    lon = parse_number(value("lon"), "lon", required=True)
    speed = parse_number(value("speed_mps"), "speed_mps")
    if speed is None:
        kmh = parse_number(value("speed_kmh"), "speed_kmh")
        speed = kmh / 3.6 if kmh is not None else None
    heading = parse_number(value("heading"), "heading")
    assert lat is not None and lon is not None
    return PointIn(
        index=index,
        device_id=device_id,
        device_at=parse_timestamp(value("ts")),
        lat=lat,
        lon=lon,
        speed_mps=speed if speed is None or speed >= 0 else None,
        heading=heading % 360.0 if heading is not None and heading >= 0 else None,
        accuracy_m=parse_number(value("accuracy_m"), "accuracy_m"),
    )


def parse_track(data: bytes, *, filename: str, device_id: str) -> Iterator[PointIn | Rejection]:
    fmt = detect_format(filename, data[:200])
    return (
        parse_gpx(data, device_id=device_id)
        if fmt == "gpx"
        else parse_csv(data, device_id=device_id)
    )


def chunks(items: Iterator[PointIn | Rejection], size: int) -> Iterator[list[PointIn | Rejection]]:
    chunk: list[PointIn | Rejection] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


ProgressFn = Callable[[int], None]

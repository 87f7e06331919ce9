"""Position ingestion: validate each point with a reason code and resolve devices."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlmodel import Session, col, select

from app.services.cache import CachedVehicle, IngestCache, TTLCache
from app.settings import Settings
from eta.geofence import distance_m
from models import Position, Vehicle

# Within this distance consecutive fixes are never called a jump: GPS jitter while parked or
# a burst of fixes a second apart would otherwise look supersonic.
JUMP_MIN_DISTANCE_M = 500.0
# A last fix older than this no longer anchors the jump check, so one bad stored fix cannot
# block a vehicle's data for long.
JUMP_ANCHOR_MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class PointIn:
    """A point after unit conversion, before device resolution."""

    index: int
    device_id: str
    device_at: datetime
    lat: float
    lon: float
    speed_mps: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    message: str


@dataclass
class PreparedBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_index: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates_in_batch: int = 0


class PointError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_timestamp(value: Any) -> datetime:
    """Epoch seconds or milliseconds, ISO-8601, or 'yyyy-MM-dd HH:mm:ss' (UTC when no zone)."""
    if isinstance(value, bool) or value is None:
        raise PointError("invalid_timestamp", "timestamp is missing or not a time")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise PointError("invalid_timestamp", f"cannot read time {text[:40]!r}") from exc
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if not math.isfinite(number) or number < 0:
        raise PointError("invalid_timestamp", "timestamp must be a positive epoch")
    # Epoch milliseconds pass 1e11 in 1973 as seconds would only in year 5138.
    if number > 1e11:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PointError("invalid_timestamp", "timestamp out of range") from exc


def parse_number(value: Any, name: str, *, required: bool = False) -> float | None:
    if value is None or value == "":
        if required:
            raise PointError("missing_field", f"{name} is required")
        return None
    if isinstance(value, bool):
        raise PointError("malformed_number", f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise PointError("malformed_number", f"{name} must be a number") from exc
    if not math.isfinite(number):
        raise PointError("malformed_number", f"{name} must be finite")
    return number


def check_point(
    point: PointIn, *, now: datetime, settings: Settings, check_age: bool = True
) -> None:
    """Raise PointError for a point no truck could have produced."""
    if not -90.0 <= point.lat <= 90.0:
        raise PointError("lat_out_of_range", "lat must be within -90..90")
    if not -180.0 <= point.lon <= 180.0:
        raise PointError("lon_out_of_range", "lon must be within -180..180")
    if abs(point.lat) < 1e-6 and abs(point.lon) < 1e-6:
        raise PointError("null_island", "(0, 0) is a receiver without a fix")
    if point.device_at > now + timedelta(seconds=settings.max_future_s):
        raise PointError("future_timestamp", "device time is in the future")
    if check_age and point.device_at < now - timedelta(days=settings.retention_days):
        raise PointError("too_old", f"device time is older than {settings.retention_days} days")
    if point.speed_mps is not None and point.speed_mps > settings.max_speed_mps:
        raise PointError("impossible_speed", f"speed above {settings.max_speed_mps} m/s")
    if point.accuracy_m is not None and point.accuracy_m > settings.max_accuracy_m:
        raise PointError("poor_accuracy", f"accuracy worse than {settings.max_accuracy_m} m")


def point_from_json(raw: Any, index: int) -> PointIn:
    """One element of a batch: {device_id, ts, lat, lon, speed_mps?, heading?, accuracy_m?}."""
    if not isinstance(raw, dict):
        raise PointError("invalid_point", "each point must be a JSON object")
    device_id = raw.get("device_id")
    if device_id is None or isinstance(device_id, bool | dict | list) or str(device_id) == "":
        raise PointError("missing_field", "device_id is required")
    lat = parse_number(raw.get("lat"), "lat", required=True)
    lon = parse_number(raw.get("lon"), "lon", required=True)
    if "ts" not in raw:
        raise PointError("missing_field", "ts is required")
    speed = parse_number(raw.get("speed_mps"), "speed_mps")
    heading = parse_number(raw.get("heading"), "heading")
    accuracy = parse_number(raw.get("accuracy_m"), "accuracy_m")
    assert lat is not None and lon is not None
    return PointIn(
        index=index,
        device_id=str(device_id)[:64],
        device_at=parse_timestamp(raw["ts"]),
        lat=lat,
        lon=lon,
        speed_mps=speed if speed is None or speed >= 0 else None,
        heading=heading % 360.0 if heading is not None and heading >= 0 else None,
        accuracy_m=accuracy if accuracy is None or accuracy >= 0 else None,
    )


def uncached_devices(
    cache: IngestCache, *, supplier_id: int, points: Iterable[PointIn | Rejection]
) -> list[str]:
    """Device ids of these points that the cache cannot answer (they need a query)."""
    missing = {
        p.device_id
        for p in points
        if isinstance(p, PointIn)
        and TTLCache.missing(cache.devices.get((supplier_id, p.device_id)))
    }
    return sorted(missing)


def resolve_devices(
    session: Session | None,
    *,
    supplier_id: int,
    device_ids: Iterable[str],
    cache: IngestCache | None = None,
) -> dict[str, CachedVehicle]:
    """The supplier's own active vehicles by device id; anyone else's devices stay invisible."""
    found: dict[str, CachedVehicle] = {}
    wanted = []
    for device_id in sorted(set(device_ids)):
        hit = cache.devices.get((supplier_id, device_id)) if cache else None
        if cache is not None and not TTLCache.missing(hit):
            found[device_id] = cast(CachedVehicle, hit)
        else:
            wanted.append(device_id)
    if session is None:  # the caller already loaded what the cache lacked
        return found
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = select(Vehicle).where(
            Vehicle.supplier_id == supplier_id,
            col(Vehicle.device_id).in_(chunk),
            col(Vehicle.is_active).is_(True),
        )
        for vehicle in session.exec(stmt):
            assert vehicle.id is not None
            snapshot = CachedVehicle(id=vehicle.id, device_id=vehicle.device_id)
            found[vehicle.device_id] = snapshot
            if cache is not None:
                cache.devices.put((supplier_id, vehicle.device_id), snapshot)
                if (
                    vehicle.last_fix_at is not None
                    and vehicle.last_lat is not None
                    and vehicle.last_lon is not None
                ):
                    cache.note_fix(
                        vehicle.id, vehicle.last_fix_at, vehicle.last_lat, vehicle.last_lon
                    )
    return found


def prepare(
    session: Session | None,
    *,
    supplier_id: int,
    points: list[PointIn | Rejection],
    now: datetime,
    settings: Settings,
    source: str,
    check_age: bool = True,
    cache: IngestCache | None = None,
) -> PreparedBatch:
    """Turn parsed points into rows for the writer; every bad point gets its reason."""
    # Without a shared cache (CLI import) a fresh one still carries the stored last fixes.
    cache = cache if cache is not None else IngestCache()
    batch = PreparedBatch()
    good: list[PointIn] = []
    for item in points:
        if isinstance(item, Rejection):
            batch.rejected.append(item)
            continue
        try:
            check_point(item, now=now, settings=settings, check_age=check_age)
        except PointError as exc:
            batch.rejected.append(Rejection(item.index, exc.reason, exc.message))
            continue
        good.append(item)
    vehicles = resolve_devices(
        session, supplier_id=supplier_id, device_ids=(p.device_id for p in good), cache=cache
    )
    by_vehicle: dict[int, list[PointIn]] = {}
    for item in good:
        vehicle = vehicles.get(item.device_id)
        if vehicle is None:
            batch.rejected.append(
                Rejection(
                    item.index,
                    "unknown_device",
                    f"no vehicle of yours has device id {item.device_id!r}",
                )
            )
            continue
        by_vehicle.setdefault(vehicle.id, []).append(item)
    anchors = cache.anchors
    for vehicle_id, items in by_vehicle.items():
        _accept_track(
            batch,
            vehicle_id=vehicle_id,
            anchor=anchors.get(vehicle_id),
            items=items,
            now=now,
            settings=settings,
            source=source,
        )
    batch.rejected.sort(key=lambda r: r.index)
    return batch


def _accept_track(
    batch: PreparedBatch,
    *,
    vehicle_id: int,
    anchor: tuple[datetime, float, float] | None,
    items: list[PointIn],
    now: datetime,
    settings: Settings,
    source: str,
) -> None:
    seen: set[datetime] = set()
    for item in sorted(items, key=lambda p: (p.device_at, p.index)):
        if item.device_at in seen:
            batch.duplicates_in_batch += 1
            continue
        if anchor is not None and item.device_at >= anchor[0]:
            dt = (item.device_at - anchor[0]).total_seconds()
            if dt <= JUMP_ANCHOR_MAX_AGE.total_seconds():
                distance = distance_m(anchor[1], anchor[2], item.lat, item.lon)
                if (
                    distance > JUMP_MIN_DISTANCE_M
                    and distance > settings.max_implied_speed_mps * max(dt, 1.0)
                ):
                    batch.rejected.append(
                        Rejection(
                            item.index,
                            "impossible_jump",
                            f"{distance:.0f} m in {dt:.0f} s from the previous fix",
                        )
                    )
                    continue
        seen.add(item.device_at)
        if anchor is None or item.device_at >= anchor[0]:
            anchor = (item.device_at, item.lat, item.lon)
        batch.rows.append(
            {
                "vehicle_id": vehicle_id,
                "device_at": item.device_at,
                "received_at": now,
                "lat": item.lat,
                "lon": item.lon,
                "speed_mps": item.speed_mps,
                "heading": item.heading,
                "accuracy_m": item.accuracy_m,
                "altitude_m": item.altitude_m,
                "source": source,
                "attributes": item.attributes,
            }
        )
        batch.row_index.append(item.index)


def list_track(
    session: Session, *, vehicle_id: int, since: datetime | None, until: datetime | None, limit: int
) -> list[Position]:
    stmt = select(Position).where(Position.vehicle_id == vehicle_id)
    if since is not None:
        stmt = stmt.where(Position.device_at >= since)
    if until is not None:
        stmt = stmt.where(Position.device_at < until)
    stmt = stmt.order_by(col(Position.device_at).desc()).limit(limit)
    return list(reversed(session.exec(stmt).all()))

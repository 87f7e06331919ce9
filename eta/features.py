"""Features of a truck at each of its fixes, computed from that fix and the ones before only.

Every column at fix i is a function of fixes 0..i (cumulative sums and backward windows), so
appending later fixes never changes an earlier row: the model is trained on exactly what it
will know when it predicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike

from eta.tracks import Trip

EARTH_M = 6_371_000.0
STOPPED_MPS = 1.0
MAX_SPEED_MPS = 45.0

FEATURES = (
    "remaining_m",
    "covered_m",
    "share_done",
    "elapsed_s",
    "speed_now",
    "mean_speed_5",
    "mean_speed_15",
    "mean_speed_30",
    "stopped_share_15",
    "heading_cos",
    "hour_sin",
    "hour_cos",
    "weekday",
    "pace_vehicle",
    "pace_supplier",
    "traffic_now",
    "traffic_usual",
    "traffic_line",
    "physics_s",
    "route_m",
    "route_s",
)
COL = {name: i for i, name in enumerate(FEATURES)}


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def bearing_rad(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    return np.arctan2(
        np.sin(dl) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    )


@dataclass(frozen=True)
class Context:
    """What is known about the trip besides its fixes (NaN when unknown)."""

    pace_vehicle: float = math.nan  # m/s of straight-line progress on this vehicle's past trips
    pace_supplier: float = math.nan
    tz: str = "UTC"


def _window_mean_speed(
    key: np.ndarray, t: np.ndarray, cum: np.ndarray, window_s: float
) -> np.ndarray:
    j = np.searchsorted(key, key - round(window_s * 1000), side="left")
    dt = t - t[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = (cum - cum[j]) / dt
    speed[dt < 1] = np.nan
    return np.minimum(speed, MAX_SPEED_MPS)


def _utc_offset_s(t0: float, tz: str) -> float:
    # The offset is taken at the trip's first fix; a DST change mid-trip shifts by an hour
    # only the fixes after it, which the hour features tolerate.
    offset = datetime.fromtimestamp(t0, ZoneInfo(tz)).utcoffset()
    return offset.total_seconds() if offset else 0.0


def trip_features(trip: Trip, context: Context = Context()) -> np.ndarray:
    """One row per fix (traffic, physics and route columns left NaN for the caller)."""
    return fleet_features([trip], [context])


def fleet_features(trips: Sequence[Trip], contexts: Sequence[Context]) -> np.ndarray:
    """trip_features of many trips at once: their rows stacked in order. One pass of array
    operations over all fixes, because a refresh computes features for thousands of short
    tracks and per-trip array calls cost more than the arithmetic. Nothing crosses from one
    trip to another: steps and windows restart at every trip's first fix."""
    lengths = np.array([len(trip.t) for trip in trips], dtype=np.int64)
    n = int(lengths.sum())
    out = np.full((n, len(FEATURES)), np.nan)
    if n == 0:
        return out
    trip_of = np.repeat(np.arange(len(trips)), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    t = np.concatenate([trip.t for trip in trips]).astype(float)
    lat = np.concatenate([trip.lat for trip in trips]).astype(float)
    lon = np.concatenate([trip.lon for trip in trips]).astype(float)
    reported = np.concatenate([trip.speed for trip in trips]).astype(float)
    dest_lat = np.array([trip.dest_lat for trip in trips], dtype=float)[trip_of]
    dest_lon = np.array([trip.dest_lon for trip in trips], dtype=float)[trip_of]
    starts = first == np.arange(n)
    remaining = haversine_m(lat, lon, dest_lat, dest_lon)
    step = np.zeros(n)
    step[1:] = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    step[starts] = 0.0
    cum_all = np.cumsum(step)
    cum = cum_all - cum_all[first]
    dt = np.zeros(n)
    dt[1:] = np.diff(t)
    dt[starts] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.where(dt > 0, step / dt, np.nan)
    derived = np.minimum(derived, MAX_SPEED_MPS)
    speed_now = np.where(np.isfinite(reported), reported, derived)
    moving_time = np.where(np.nan_to_num(derived, nan=0.0) >= STOPPED_MPS, dt, 0.0)
    cum_moving = np.cumsum(moving_time)
    # Windows look back within their own trip: a sorted key of (trip, ms since its start).
    elapsed = t - t[first]
    key = (trip_of.astype(np.int64) << 42) + np.round(elapsed * 1000).astype(np.int64)
    j15 = np.searchsorted(key, key - 900_000, side="left")
    span15 = t - t[j15]
    with np.errstate(invalid="ignore", divide="ignore"):
        stopped = 1.0 - (cum_moving - cum_moving[j15]) / span15
    stopped[span15 < 1] = np.nan
    heading = np.full(n, np.nan)
    if n > 1:
        moved = bearing_rad(lat[:-1], lon[:-1], lat[1:], lon[1:])
        to_dest = bearing_rad(lat[1:], lon[1:], dest_lat[1:], dest_lon[1:])
        heading[1:] = np.where(step[1:] > 5.0, np.cos(moved - to_dest), np.nan)
        heading[starts] = np.nan
    offsets = np.array(
        [
            _utc_offset_s(float(trip.t[0]), ctx.tz or trip.tz) if len(trip.t) else 0.0
            for trip, ctx in zip(trips, contexts, strict=True)
        ]
    )
    local = t + offsets[trip_of]
    hour = (local % 86400) / 3600.0
    out[:, COL["remaining_m"]] = remaining
    out[:, COL["covered_m"]] = cum
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, COL["share_done"]] = cum / (cum + remaining)
    out[:, COL["elapsed_s"]] = elapsed
    out[:, COL["speed_now"]] = speed_now
    out[:, COL["mean_speed_5"]] = _window_mean_speed(key, t, cum, 300.0)
    out[:, COL["mean_speed_15"]] = _window_mean_speed(key, t, cum, 900.0)
    out[:, COL["mean_speed_30"]] = _window_mean_speed(key, t, cum, 1800.0)
    out[:, COL["stopped_share_15"]] = np.clip(stopped, 0, 1)
    out[:, COL["heading_cos"]] = heading
    out[:, COL["hour_sin"]] = np.sin(2 * np.pi * hour / 24)
    out[:, COL["hour_cos"]] = np.cos(2 * np.pi * hour / 24)
    out[:, COL["weekday"]] = ((local // 86400) + 3) % 7  # 1970-01-01 was a Thursday (3)
    out[:, COL["pace_vehicle"]] = np.array([c.pace_vehicle for c in contexts])[trip_of]
    out[:, COL["pace_supplier"]] = np.array([c.pace_supplier for c in contexts])[trip_of]
    return out


def remaining_seconds(trip: Trip) -> np.ndarray:
    return trip.arrival_t - trip.t

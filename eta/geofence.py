"""Geofence arrival, departure and en-route detection from a whole track, debounced.

Works on the complete stored track every time, so the answer never depends on the order in
which points arrived.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Fix:
    at: datetime
    lat: float
    lon: float
    speed_mps: float | None = None


@dataclass(frozen=True)
class FenceRules:
    radius_m: float
    # A truck must stay inside this long and for this many fixes to have arrived; one parked
    # beside the fence for a minute, or passing by on the road, must not count.
    min_dwell: timedelta = timedelta(minutes=3)
    min_fixes: int = 3
    # Leaving needs the truck beyond radius × this factor: jitter at the fence never flaps.
    exit_factor: float = 1.25
    # En route: within this window before the slot, the truck closes in on the site by this
    # many metres within `approach_within`.
    en_route_window: timedelta = timedelta(hours=12)
    approach_m: float = 300.0
    approach_within: timedelta = timedelta(minutes=15)
    # A silence longer than this splits the track: an approach before it is no departure
    # (the truck parked with its tracker off, e.g. at its depot after another trip), and
    # neither is one whose track fell silent this long before now.
    track_gap: timedelta = timedelta(minutes=45)


@dataclass(frozen=True)
class FenceEvents:
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    left_at: datetime | None = None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _stays(
    fixes: Sequence[Fix], flags: Sequence[int], start: int, min_dwell: timedelta, min_fixes: int
) -> int | None:
    """Index of the first fix of the first qualifying run from `start`.

    A flag of 1 counts towards the run, 0 (the band between the fence and the exit radius)
    neither counts nor breaks it, -1 breaks it.
    """
    run_start: int | None = None
    count = 0
    for i in range(start, len(fixes)):
        if flags[i] > 0:
            if run_start is None:
                run_start, count = i, 0
            count += 1
            if count >= min_fixes and fixes[i].at - fixes[run_start].at >= min_dwell:
                return run_start
        elif flags[i] < 0:
            run_start = None
    return None


def detect(
    fixes: Sequence[Fix],
    *,
    site_lat: float,
    site_lon: float,
    rules: FenceRules,
    slot_start: datetime,
    not_before: datetime | None = None,
    departure_not_before: datetime | None = None,
    now: datetime | None = None,
) -> FenceEvents:
    """Departure towards the site, arrival in the fence and leaving it, from a sorted track.

    `not_before` ignores the track before a moment (e.g. the end of the truck's previous
    visit to this site); `departure_not_before` only for the departure (e.g. the end of its
    previous delivery anywhere). With `now`, a truck whose track has been silent for
    `rules.track_gap` has not departed (yet): its approach is old news.
    """
    track = sorted(
        (f for f in fixes if not_before is None or f.at >= not_before), key=lambda f: f.at
    )
    if not track:
        return FenceEvents()
    dist = [distance_m(f.lat, f.lon, site_lat, site_lon) for f in track]
    exit_m = rules.radius_m * rules.exit_factor
    inside = [1 if d <= rules.radius_m else (0 if d <= exit_m else -1) for d in dist]
    outside = [1 if d > exit_m else (0 if d > rules.radius_m else -1) for d in dist]
    window_start = slot_start - rules.en_route_window
    if departure_not_before is not None and departure_not_before > window_start:
        window_start = departure_not_before
    arrival_idx = _stays(track, inside, 0, rules.min_dwell, rules.min_fixes)
    # A truck that waited at the gate since before the window still arrives; it never departs.
    departed_at = _departure(track, dist, window_start, arrival_idx, rules, now)
    if arrival_idx is None:
        return FenceEvents(departed_at=departed_at)
    arrived_at = track[arrival_idx].at
    leave_idx = _stays(track, outside, arrival_idx, rules.min_dwell, 2)
    left_at = track[leave_idx].at if leave_idx is not None else None
    return FenceEvents(departed_at=departed_at, arrived_at=arrived_at, left_at=left_at)


def _departure(
    track: Sequence[Fix],
    dist: Sequence[float],
    window_start: datetime,
    arrival_idx: int | None,
    rules: FenceRules,
    now: datetime | None,
) -> datetime | None:
    """The first fix from which the truck closes in on the site by `approach_m` within
    `approach_within`, on the stretch of track that leads to the arrival (or to now)."""
    end = arrival_idx if arrival_idx is not None else len(track)
    if arrival_idx is None and now is not None and now - track[-1].at > rules.track_gap:
        return None
    start = 0
    for k in range(1, min(end + 1, len(track))):  # up to the arrival fix itself
        if track[k].at - track[k - 1].at > rules.track_gap:
            start = k
    for i in range(start, end):
        if track[i].at < window_start or dist[i] <= rules.radius_m:
            continue
        horizon = track[i].at + rules.approach_within
        j = i + 1
        while j < len(track) and track[j].at <= horizon:
            if dist[i] - dist[j] >= rules.approach_m:
                return track[i].at
            j += 1
    return None

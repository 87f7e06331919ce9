"""Geofence detection: debounced arrival, jitter-proof leaving, departure, order independence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from eta.geofence import FenceRules, Fix, detect, distance_m

SITE = (55.75, 37.62)
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
RULES = FenceRules(radius_m=300)
M_PER_DEG_LAT = 111_195.0


def at_north(metres: float, t: datetime) -> Fix:
    return Fix(at=t, lat=SITE[0] + metres / M_PER_DEG_LAT, lon=SITE[1])


def approach_and_stay(
    *, start_m: float = 20_000, speed: float = 15.0, stay_min: int = 30
) -> list[Fix]:
    fixes, t, d = [], T0, start_m
    while d > 0:
        fixes.append(at_north(d, t))
        t += timedelta(seconds=30)
        d -= speed * 30
    for _ in range(stay_min * 2):
        fixes.append(at_north(50, t))
        t += timedelta(seconds=30)
    return fixes


def test_distance_is_metres() -> None:
    assert abs(distance_m(55.75, 37.62, 55.75 + 1 / M_PER_DEG_LAT * 1000, 37.62) - 1000) < 1


def test_arrival_is_first_fix_of_a_stay() -> None:
    fixes = approach_and_stay()
    found = detect(
        fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0 + timedelta(hours=1)
    )
    first_inside = next(f.at for f in fixes if distance_m(f.lat, f.lon, *SITE) <= 300)
    assert found.arrived_at == first_inside
    assert found.departed_at == T0
    assert found.left_at is None


def test_passing_by_does_not_arrive() -> None:
    fixes, t = [], T0
    for d in range(-3000, 3001, 450):  # drives straight through the fence at 15 m/s
        fixes.append(at_north(d, t))
        t += timedelta(seconds=30)
    found = detect(fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    assert found.arrived_at is None


def test_jitter_at_the_fence_never_flaps() -> None:
    fixes = approach_and_stay(stay_min=5)
    t = fixes[-1].at
    rng = random.Random(7)
    # Parked right at the fence for an hour: fixes scatter between 250 and 360 m.
    for _ in range(120):
        t += timedelta(seconds=30)
        fixes.append(at_north(rng.uniform(250, 360), t))
    found = detect(fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    assert found.arrived_at is not None and found.left_at is None
    # Then it really leaves: 2 km away for minutes.
    left_at = t + timedelta(seconds=30)
    for i in range(12):
        fixes.append(at_north(600 + i * 300, left_at + timedelta(seconds=30 * i)))
    found = detect(fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    assert found.left_at == left_at


def test_result_does_not_depend_on_order() -> None:
    fixes = approach_and_stay()
    shuffled = fixes[:]
    random.Random(3).shuffle(shuffled)
    a = detect(fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    b = detect(shuffled, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    assert a == b


def test_departure_needs_the_window_and_an_approach() -> None:
    fixes = approach_and_stay()
    # Slot far in the future: the approach happened before the en-route window opened.
    late_slot = T0 + timedelta(hours=20)
    found = detect(fixes, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=late_slot)
    assert found.departed_at is None and found.arrived_at is not None
    parked = [at_north(5000, T0 + timedelta(minutes=i)) for i in range(60)]
    still = detect(parked, site_lat=SITE[0], site_lon=SITE[1], rules=RULES, slot_start=T0)
    assert still.departed_at is None and still.arrived_at is None


def test_an_approach_followed_by_silence_is_no_departure() -> None:
    # Closing in for five minutes, then nothing: the truck parked with its tracker off.
    fixes = [at_north(20_000 - 450 * i, T0 + timedelta(seconds=30 * i)) for i in range(10)]
    last = fixes[-1].at
    kw = {"site_lat": SITE[0], "site_lon": SITE[1], "rules": RULES, "slot_start": T0}
    assert detect(fixes, **kw, now=last + timedelta(minutes=10)).departed_at == T0
    assert detect(fixes, **kw, now=last + timedelta(hours=3)).departed_at is None
    assert detect(fixes, **kw).departed_at == T0  # without a clock, the track alone decides


def test_departure_is_taken_after_the_last_silence_before_arrival() -> None:
    # An approach in the evening, a night parked with the tracker off, then the real trip.
    evening = [at_north(30_000 - 450 * i, T0 + timedelta(seconds=30 * i)) for i in range(10)]
    morning = [Fix(at=f.at + timedelta(hours=8), lat=f.lat, lon=f.lon) for f in approach_and_stay()]
    found = detect(
        evening + morning,
        site_lat=SITE[0],
        site_lon=SITE[1],
        rules=RULES,
        slot_start=T0 + timedelta(hours=8),
    )
    assert found.departed_at == T0 + timedelta(hours=8)
    assert found.arrived_at is not None and found.arrived_at > found.departed_at

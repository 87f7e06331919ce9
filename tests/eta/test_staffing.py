"""Erlang C against known values, the yard queue against Erlang C and simulation, crew plans."""

from __future__ import annotations

import heapq
import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from eta.staffing import (
    HourlyArrivals,
    Shift,
    erlang_b,
    erlang_c,
    min_servers,
    recommend_crews,
    shift_occurrences,
    simulate_mmc,
    simulate_yard,
    what_if,
)

BERLIN = ZoneInfo("Europe/Berlin")


def make_arrivals(
    trucks: list[float], *, start: datetime | None = None, pallets_per_truck: float = 20.0
) -> list[HourlyArrivals]:
    start = start or datetime(2024, 6, 3, 0, tzinfo=UTC)
    return [
        HourlyArrivals(start + timedelta(hours=h), t, t * pallets_per_truck)
        for h, t in enumerate(trucks)
    ]


def erlang_c_exact(load: Fraction, servers: int) -> Fraction:
    """Textbook sum form in exact rationals, independent of the recursion under test."""
    term = Fraction(1)
    total = Fraction(0)
    for k in range(servers):
        total += term
        term = term * load / (k + 1)
    top = term * servers / (servers - load)  # A^c / c! * c / (c - A)
    return top / (total + top)


# --------------------------------------------------------------------------- Erlang


def test_erlang_c_two_erlangs_three_servers_is_four_ninths() -> None:
    # A = 2, c = 3: B = 4/19, C = 4/9 (e.g. Kleinrock, Queueing Systems vol. 1, sec. 3.5).
    m = erlang_c(arrival_rate=2.0, service_rate=1.0, servers=3)
    assert erlang_b(offered_load=2.0, servers=3) == pytest.approx(4 / 19, rel=1e-12)
    assert m.p_wait == pytest.approx(4 / 9, rel=1e-12)
    assert m.mean_wait == pytest.approx((4 / 9) / (3 - 2), rel=1e-12)
    assert m.mean_queue == pytest.approx(2 * 4 / 9, rel=1e-12)
    assert m.utilisation == pytest.approx(2 / 3)


def test_erlang_c_ten_erlangs_eleven_servers() -> None:
    # The call-centre example: A = 10 Erlangs on 11 agents waits with probability ~0.6821.
    m = erlang_c(arrival_rate=10.0, service_rate=1.0, servers=11)
    assert m.p_wait == pytest.approx(0.6821, abs=5e-5)
    assert m.p_wait == pytest.approx(float(erlang_c_exact(Fraction(10), 11)), rel=1e-12)


def test_mm1_and_mm2_closed_forms() -> None:
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda).  M/M/2: P(wait) = 2 rho^2 / (1 + rho).
    m1 = erlang_c(arrival_rate=3.0, service_rate=4.0, servers=1)
    assert m1.p_wait == pytest.approx(0.75)
    assert m1.mean_wait == pytest.approx(0.75 / 1.0)
    rho = 6.0 / (2 * 4.0)
    m2 = erlang_c(arrival_rate=6.0, service_rate=4.0, servers=2)
    assert m2.p_wait == pytest.approx(2 * rho**2 / (1 + rho))
    assert m2.mean_wait == pytest.approx(m2.p_wait / (2 * 4.0 - 6.0))


def test_wait_formula_and_service_level() -> None:
    lam, mu, c = 10.0, 4.0, 3  # trucks/h; a dock unloads 4 trucks/h
    m = erlang_c(arrival_rate=lam, service_rate=mu, servers=c)
    assert m.mean_wait == pytest.approx(m.p_wait / (c * mu - lam))
    assert m.service_level(within_hours=0.0) == pytest.approx(1 - m.p_wait)
    assert m.service_level(within_hours=0.25) == pytest.approx(
        1 - m.p_wait * math.exp(-(c * mu - lam) * 0.25)
    )


def test_large_server_counts_stay_finite_and_exact() -> None:
    # A^c / c! overflows a float near c = 170; the recursion must not care.
    for load, c in ((180.0, 200), (450.0, 480)):
        m = erlang_c(arrival_rate=load, service_rate=1.0, servers=c)
        exact = float(erlang_c_exact(Fraction(int(load)), c))
        assert 0.0 < m.p_wait < 1.0
        assert m.p_wait == pytest.approx(exact, rel=1e-9)


def test_overload_is_flagged_with_infinite_wait() -> None:
    for lam in (12.0, 13.0):  # rho = 1 and rho > 1 with c mu = 12
        m = erlang_c(arrival_rate=lam, service_rate=4.0, servers=3)
        assert m.overloaded
        assert math.isinf(m.mean_wait) and math.isinf(m.mean_queue)
        assert m.p_wait == 1.0
    assert not erlang_c(arrival_rate=11.9, service_rate=4.0, servers=3).overloaded


def test_min_servers_is_the_smallest_meeting_target() -> None:
    c = min_servers(arrival_rate=10.0, service_rate=1.0, target_wait_hours=0.05, max_servers=50)
    assert c is not None
    assert erlang_c(arrival_rate=10.0, service_rate=1.0, servers=c).mean_wait <= 0.05
    assert erlang_c(arrival_rate=10.0, service_rate=1.0, servers=c - 1).mean_wait > 0.05
    assert (
        min_servers(arrival_rate=10.0, service_rate=1.0, target_wait_hours=0.05, max_servers=10)
        is None
    )


# --------------------------------------------------------------------------- simulation


def test_discrete_event_simulation_matches_erlang_c() -> None:
    lam, mu, c = 8.0, 4.0, 3
    sim = simulate_mmc(
        arrival_rate=lam, service_rate=mu, servers=c, hours=20_000, seed=7, warmup_hours=20
    )
    m = erlang_c(arrival_rate=lam, service_rate=mu, servers=c)
    assert sim.mean_wait == pytest.approx(m.mean_wait, rel=0.06)
    assert sim.p_wait == pytest.approx(m.p_wait, abs=0.02)
    assert sim.utilisation == pytest.approx(m.utilisation, abs=0.01)


def test_yard_queue_converges_to_erlang_c() -> None:
    # 8 trucks/h of 20 pallets, 80 pallets/h per crew -> mu = 4 trucks/h per dock.
    arr = make_arrivals([8.0] * 48)
    q = simulate_yard(arr, docks=5, crews_per_hour=[3] * 48, rate_per_crew=80.0)
    m = erlang_c(arrival_rate=8.0, service_rate=4.0, servers=3)
    last = q[-1]
    assert last.servers == 3
    assert last.crew_utilisation == pytest.approx(m.utilisation, abs=1e-6)
    assert last.dock_utilisation == pytest.approx(2.0 / 5, abs=1e-6)
    assert last.mean_waiting == pytest.approx(m.mean_queue, rel=1e-5)
    assert last.mean_wait_minutes == pytest.approx(m.mean_wait_minutes, rel=1e-5)
    assert last.p_wait == pytest.approx(m.p_wait, rel=1e-5)
    assert last.trucks_served == pytest.approx(8.0, rel=1e-6)
    # From an empty yard the queue builds up rather than starting at steady state.
    assert q[0].mean_waiting < last.mean_waiting


def _transient_des(rates: list[float], *, mu: float, c: int, runs: int, seed: int) -> np.ndarray:
    """Mean trucks waiting at each hour end, by simulation with piecewise-constant arrivals."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(rates))
    for _ in range(runs):
        arrivals: list[float] = []
        for h, r in enumerate(rates):
            k = rng.poisson(r)
            arrivals.extend(sorted(h + rng.random(k)))
        free = [0.0] * c
        starts = []
        for t in arrivals:
            s = max(t, heapq.heappop(free))
            heapq.heappush(free, s + rng.exponential(1 / mu))
            starts.append((t, s))
        for h in range(len(rates)):
            end = h + 1.0
            out[h] += sum(1 for t, s in starts if t < end < s)
    return out / runs


def test_yard_queue_carries_backlog_like_a_simulation() -> None:
    # A rush that overloads three docks for three hours, then a quiet spell to drain.
    rates = [4.0, 16.0, 16.0, 16.0, 2.0, 2.0, 2.0, 2.0]
    q = simulate_yard(make_arrivals(rates), docks=3, crews_per_hour=[3] * 8, rate_per_crew=80.0)
    des = _transient_des(rates, mu=4.0, c=3, runs=1500, seed=3)
    got = np.array([h.waiting_at_end for h in q])
    assert got[3] > 4.0  # the rush leaves a real backlog at its end
    assert got[3] > got[6]  # which the quiet hours work off
    np.testing.assert_allclose(got, des, atol=0.35, rtol=0.08)


def test_unstaffed_hour_waits_until_crews_arrive() -> None:
    arr = make_arrivals([2.0, 2.0, 2.0])
    q = simulate_yard(arr, docks=4, crews_per_hour=[0, 0, 3], rate_per_crew=80.0)
    # Half an hour on average until the crews come, then the queue found at 02:00.
    assert q[1].mean_wait_minutes > 30.0
    assert q[0].mean_wait_minutes == pytest.approx(q[1].mean_wait_minutes + 60.0)
    assert q[1].waiting_at_end == pytest.approx(4.0, rel=1e-6)
    assert math.isinf(
        simulate_yard(arr, docks=4, crews_per_hour=[0, 0, 0], rate_per_crew=80.0)[
            0
        ].mean_wait_minutes
    )


# --------------------------------------------------------------------------- shifts


SHIFTS = (Shift("early", 6, 14), Shift("late", 14, 22), Shift("night", 22, 6))


def test_shift_occurrences_cover_each_hour_once() -> None:
    start = datetime(2024, 6, 3, 0, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(72)]
    occ = shift_occurrences(hours, shifts=SHIFTS, tz=BERLIN)
    covered = sorted(h for o in occ for h in o.hours)
    assert covered == list(range(72))
    early = [o for o in occ if o.key == ("early", date(2024, 6, 3))][0]
    # 06:00 CEST is 04:00 UTC.
    assert hours[early.hours[0]] == datetime(2024, 6, 3, 4, tzinfo=UTC)
    assert len(early.hours) == 8


@pytest.mark.parametrize(
    ("day", "night_hours"),
    [(date(2024, 3, 30), 7), (date(2024, 10, 26), 9), (date(2024, 6, 1), 8)],
)
def test_night_shift_length_follows_dst(day: date, night_hours: int) -> None:
    # Spring forward skips 02:00 local: the 22-06 shift is 7 real hours; fall back repeats
    # 02:00: 9 hours. The next early shift still starts at 06:00 local either way.
    start = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(36)]
    occ = shift_occurrences(hours, shifts=SHIFTS, tz=BERLIN)
    night = [o for o in occ if o.key == ("night", day)][0]
    assert len(night.hours) == night_hours
    early = [o for o in occ if o.key == ("early", day + timedelta(days=1))][0]
    assert hours[early.hours[0]].astimezone(BERLIN).hour == 6


def test_recommend_crews_meets_target_and_respects_docks() -> None:
    trucks = [1.0] * 6 + [10.0] * 8 + [5.0] * 8 + [1.0] * 2
    arr = make_arrivals(trucks, start=datetime(2024, 6, 2, 22, tzinfo=UTC))  # 00:00 Berlin
    plan = recommend_crews(
        arr,
        shifts=SHIFTS,
        docks=6,
        rate_per_crew=80.0,
        target_wait_minutes=15.0,
        max_crews=10,
        tz=BERLIN,
    )
    by_name = {(s.name, s.local_date): s for s in plan.shifts}
    early = by_name[("early", date(2024, 6, 3))]
    late = by_name[("late", date(2024, 6, 3))]
    assert early.crews > late.crews >= 1
    for s in plan.shifts:
        assert s.crews <= 6
        assert s.meets_target and s.worst_wait_minutes <= 15.0
        # One crew fewer must break the target somewhere, else the plan is not minimal.
        if s.crews > 0:
            occ_hours = [h for h in plan.queue if s.start <= h.hour_start < s.end]
            fewer = max(
                erlang_c(
                    arrival_rate=h.arrivals, service_rate=4.0, servers=s.crews - 1
                ).mean_wait_minutes
                for h in occ_hours
            )
            assert fewer > 15.0
    assert plan.total_cost == pytest.approx(sum(s.crew_hours for s in plan.shifts))
    assert not plan.unmet_hours
    assert len(plan.queue) == len(arr)

    # Demand no dock count can meet: capped at the docks and reported.
    heavy = recommend_crews(
        make_arrivals([40.0] * 24, start=arr[0].hour_start),
        shifts=SHIFTS,
        docks=6,
        rate_per_crew=80.0,
        target_wait_minutes=15.0,
        max_crews=10,
        tz=BERLIN,
    )
    assert all(s.crews == 6 and not s.meets_target for s in heavy.shifts)
    assert len(heavy.unmet_hours) == 24


def test_more_arrivals_never_means_fewer_crews() -> None:
    rng = np.random.default_rng(11)
    start = datetime(2024, 6, 2, 22, tzinfo=UTC)
    for _ in range(8):
        base = rng.uniform(0.0, 12.0, size=48)
        more = base + rng.uniform(0.0, 3.0, size=48) * (rng.random(48) < 0.5)
        kw = {
            "shifts": SHIFTS,
            "docks": 8,
            "rate_per_crew": 80.0,
            "target_wait_minutes": 10.0,
            "max_crews": 8,
            "tz": BERLIN,
        }
        a = recommend_crews(make_arrivals(list(base), start=start), **kw)
        b = recommend_crews(make_arrivals(list(more), start=start), **kw)
        for sa, sb in zip(a.shifts, b.shifts, strict=True):
            assert sb.crews >= sa.crews


def test_overlapping_shifts_are_covered_at_least_cost() -> None:
    # A cheap mid shift (10-18) overlaps both day shifts; the peak sits inside it, so the
    # cheapest plan staffs the peak from the mid shift instead of raising both day shifts.
    shifts = (Shift("early", 6, 14, 1.0), Shift("late", 14, 22, 1.0), Shift("mid", 10, 18, 0.5))
    trucks = [0.0] * 6 + [3.0] * 4 + [12.0] * 8 + [3.0] * 4 + [0.0] * 2
    arr = make_arrivals(trucks, start=datetime(2024, 6, 2, 22, tzinfo=UTC))
    plan = recommend_crews(
        arr,
        shifts=shifts,
        docks=10,
        rate_per_crew=80.0,
        target_wait_minutes=10.0,
        max_crews=10,
        tz=BERLIN,
    )
    crews = {s.name: s.crews for s in plan.shifts}
    need_peak = min_servers(
        arrival_rate=12.0, service_rate=4.0, target_wait_hours=10 / 60, max_servers=10
    )
    need_side = min_servers(
        arrival_rate=3.0, service_rate=4.0, target_wait_hours=10 / 60, max_servers=10
    )
    assert need_peak is not None and need_side is not None
    assert crews["early"] == crews["late"] == need_side
    assert crews["mid"] == need_peak - need_side
    assert all(s.meets_target for s in plan.shifts)


def test_what_if_uses_the_planners_crews() -> None:
    arr = make_arrivals([6.0] * 24, start=datetime(2024, 6, 2, 22, tzinfo=UTC))
    kw = {"shifts": SHIFTS, "docks": 6, "rate_per_crew": 80.0, "tz": BERLIN}
    thin = what_if(arr, {"early": 2, "late": 2, "night": 2}, **kw)
    thick = what_if(arr, {"early": 4, "late": 4, "night": 4}, **kw)
    assert [h.servers for h in thin] == [2] * 24
    assert sum(h.mean_wait_minutes for h in thick) < sum(h.mean_wait_minutes for h in thin)
    # A dated key overrides the shift-wide one for that occurrence only.
    mixed = what_if(arr, {"early": 2, ("early", date(2024, 6, 3)): 5}, **kw)
    early_hours = [h for h in mixed if 6 <= h.hour_start.astimezone(BERLIN).hour < 14]
    assert {h.servers for h in early_hours} == {5}
    assert all(h.servers == 0 for h in mixed if h not in early_hours)

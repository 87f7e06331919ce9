"""Arrivals forecast: where probability mass goes, honest bands, baseline and leak-free backtest."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy.stats import binom, norm, poisson

from eta.forecast import (
    BookedDelivery,
    EtaSnapshot,
    HistoricDelivery,
    LatenessPrior,
    SupplierStats,
    TruckOnRoad,
    UnbookedFlow,
    backtest,
    forecast_arrivals,
    inputs_at,
    naive_forecast,
    shrink_stats,
    supplier_stats_from_history,
    unbooked_flow_from_history,
)

T0 = datetime(2024, 6, 3, 6, 0, tzinfo=UTC)  # a Monday
MIN = timedelta(minutes=1)


def make_truck(
    *, p10: float, p50: float, p90: float, pallets: float = 20.0, ident: str = "t"
) -> TruckOnRoad:
    """A truck on the road with ETA quantiles in minutes after T0."""
    return TruckOnRoad(ident, pallets, T0 + p10 * MIN, T0 + p50 * MIN, T0 + p90 * MIN)


def make_booking(
    *, slot_min: float, supplier: str = "s1", pallets: float = 20.0, ident: str = "b"
) -> BookedDelivery:
    start = T0 + slot_min * MIN
    return BookedDelivery(ident, supplier, start, start + timedelta(hours=1), pallets)


# --------------------------------------------------------------------------- spreading


def test_symmetric_eta_spreads_mass_by_its_quantiles() -> None:
    # P10/P50/P90 on hour boundaries: 40% between P10 and P50, 40% between P50 and P90.
    fc = forecast_arrivals(
        issued_at=T0, trucks_on_road=[make_truck(p10=600, p50=660, p90=720)], hours=24
    )
    p = np.array([h.trucks for h in fc])
    assert p[10] == pytest.approx(0.4, abs=1e-9)
    assert p[11] == pytest.approx(0.4, abs=1e-9)
    assert p[9] == pytest.approx(p[12], abs=1e-12)  # symmetric tails
    # One hour is one P10-P50 gap, i.e. 1.2816 sigma: hour 9 holds Phi(-1.28) - Phi(-2.56).
    assert p[9] == pytest.approx(norm.cdf(-1.2816) - norm.cdf(-2 * 1.2816), abs=1e-4)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert fc[10].pallets == pytest.approx(0.4 * 20.0)
    assert fc[0].hour_start == T0 and fc[23].hour_start == T0 + timedelta(hours=23)


def test_skewed_eta_keeps_its_skew() -> None:
    fc = forecast_arrivals(
        issued_at=T0, trucks_on_road=[make_truck(p10=300, p50=360, p90=540)], hours=24
    )
    p = np.array([h.trucks for h in fc])
    assert p[5] == pytest.approx(0.4, abs=1e-9)  # 05:00-06:00 = P10..P50
    assert p[6] + p[7] + p[8] == pytest.approx(0.4, abs=1e-9)  # P50..P90
    # The late tail is the long one: an hour past P90 keeps far more than an hour before P10.
    assert p[10:].sum() > 5 * p[:4].sum()


def test_overdue_quantiles_are_conditioned_on_not_arrived_yet() -> None:
    # Issued mid-hour with P50 already past: only the future half of the window counts.
    issued = T0 + 30 * MIN
    truck = make_truck(p10=0, p50=30, p90=60)
    fc = forecast_arrivals(issued_at=issued, trucks_on_road=[truck], hours=6)
    assert fc[0].hour_start == T0
    assert sum(h.trucks for h in fc) == pytest.approx(1.0, abs=1e-6)
    assert fc[0].trucks == pytest.approx(0.8, abs=1e-6)  # P(30 < T < 60 | T > 30) = 0.4/0.5


def test_booked_delivery_with_no_show_rate_contributes_its_show_probability() -> None:
    stats = {"s1": SupplierStats("s1", 15.0, 10.0, 0.2, 400)}
    prior = LatenessPrior(mean_lateness_min=15.0, std_lateness_min=10.0, no_show_rate=0.2)
    fc = forecast_arrivals(
        issued_at=T0,
        booked=[make_booking(slot_min=300, pallets=30.0)],
        supplier_stats=stats,
        prior=prior,
        hours=24,
    )
    assert sum(h.trucks for h in fc) == pytest.approx(0.8, abs=1e-9)
    assert sum(h.pallets for h in fc) == pytest.approx(0.8 * 30.0, abs=1e-8)
    # Slot 11:00 + 15 min mean lateness, sd 10: almost all of it in the 11:00 hour.
    assert fc[5].trucks == pytest.approx(0.8 * (norm.cdf(4.5) - norm.cdf(-1.5)), abs=1e-9)


def test_absent_truck_after_its_slot_is_more_likely_a_no_show() -> None:
    prior = LatenessPrior(mean_lateness_min=0.0, std_lateness_min=30.0, no_show_rate=0.2)
    # Slot started an hour ago and the truck is not here: P(T > now | show) = 1 - Phi(2).
    fc = forecast_arrivals(issued_at=T0, booked=[make_booking(slot_min=-60)], prior=prior, hours=12)
    s = 1 - norm.cdf(2.0)
    assert sum(h.trucks for h in fc) == pytest.approx(0.8 * s / (0.8 * s + 0.2), abs=1e-9)


def test_many_trucks_at_once_add_up_to_each_truck_alone() -> None:
    # The windows of all trucks are spread in one array pass: no truck's mass may leak into
    # another's, whatever their order or kind.
    stats = {"s1": SupplierStats("s1", 20.0, 15.0, 0.1, 50)}
    trucks = [
        make_truck(p10=20, p50=50, p90=140, pallets=12.0, ident="a"),
        make_truck(p10=-90, p50=-60, p90=-30, pallets=5.0, ident="late"),  # window all past
        make_truck(p10=300, p50=310, p90=315, pallets=33.0, ident="c"),
    ]
    booked = [
        make_booking(slot_min=-120, supplier="s1", pallets=8.0, ident="x"),
        make_booking(slot_min=200, supplier="s2", pallets=18.0, ident="y"),
    ]
    together = forecast_arrivals(
        issued_at=T0, trucks_on_road=trucks, booked=booked, supplier_stats=stats, hours=12
    )
    alone = [
        forecast_arrivals(issued_at=T0, trucks_on_road=[t], supplier_stats=stats, hours=12)
        for t in trucks
    ] + [
        forecast_arrivals(issued_at=T0, booked=[b], supplier_stats=stats, hours=12) for b in booked
    ]
    for k in range(12):
        assert together[k].trucks == pytest.approx(sum(f[k].trucks for f in alone), abs=1e-12)
        assert together[k].pallets == pytest.approx(sum(f[k].pallets for f in alone), abs=1e-9)


def test_truck_whose_whole_window_is_past_is_taken_as_imminent() -> None:
    fc = forecast_arrivals(
        issued_at=T0, trucks_on_road=[make_truck(p10=-300, p50=-240, p90=-200)], hours=4
    )
    assert [h.trucks for h in fc] == pytest.approx([1.0, 0.0, 0.0, 0.0], abs=1e-12)


def test_eta_quantiles_out_of_order_are_refused_naming_the_delivery() -> None:
    good = make_truck(p10=10, p50=20, p90=30, ident="fine")
    bad = make_truck(p10=10, p50=40, p90=30, ident="D-42")
    with pytest.raises(ValueError, match="D-42"):
        forecast_arrivals(issued_at=T0, trucks_on_road=[good, bad], hours=4)


def test_supplier_stats_are_shrunk_to_the_prior_when_thin() -> None:
    prior = LatenessPrior(mean_lateness_min=0.0, std_lateness_min=30.0, no_show_rate=0.1)
    assert shrink_stats(None, prior) == (0.0, 30.0, 0.1)
    thin = SupplierStats("s", 120.0, 5.0, 0.0, 2)
    thick = dataclasses.replace(thin, n=5000)
    mean_thin, sd_thin, _ = shrink_stats(thin, prior)
    mean_thick, sd_thick, ns_thick = shrink_stats(thick, prior)
    assert mean_thin == pytest.approx(120.0 * 2 / 12)
    assert sd_thin > 25.0  # two deliveries do not buy a 5-minute window
    assert mean_thick == pytest.approx(120.0, rel=0.01)
    assert sd_thick == pytest.approx(5.0, rel=0.05)
    assert ns_thick == pytest.approx(0.0, abs=1e-3)


def test_unbooked_flow_by_local_hour_of_week() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    rates = [0.0] * 168
    rates[8] = 3.0  # Monday 08:00-09:00 local
    flow = UnbookedFlow(tuple(rates), pallets_mean=10.0)
    fc = forecast_arrivals(issued_at=T0, unbooked=flow, tz=berlin, hours=12)
    # 08:00 CEST is 06:00 UTC, the first forecast hour.
    assert [h.trucks for h in fc] == [3.0] + [0.0] * 11
    assert fc[0].pallets == pytest.approx(30.0)
    assert (fc[0].trucks_p10, fc[0].trucks_p90) == (poisson.ppf(0.1, 3), poisson.ppf(0.9, 3))


def test_unbooked_flow_from_history_averages_over_weeks_seen() -> None:
    as_of = T0 + timedelta(weeks=4)
    # Two of four Mondays saw one walk-in at 06:xx UTC; one Monday saw three at 07:xx.
    times = [T0 + 10 * MIN, T0 + timedelta(weeks=2, minutes=5)]
    times += [T0 + timedelta(weeks=1, hours=1, minutes=m) for m in (1, 2, 3)]
    flow = unbooked_flow_from_history(times, as_of=as_of, observed_since=T0 - timedelta(weeks=9))
    assert flow is not None
    assert flow.trucks_by_hour_of_week[6] == pytest.approx(0.5)
    assert flow.trucks_by_hour_of_week[7] == pytest.approx(0.75)
    assert sum(flow.trucks_by_hour_of_week) == pytest.approx(1.25)
    short = unbooked_flow_from_history(times, as_of=as_of, observed_since=T0 + timedelta(weeks=2))
    assert short is not None and short.trucks_by_hour_of_week[6] == pytest.approx(0.5)


# --------------------------------------------------------------------------- bands


@pytest.mark.parametrize("n", [100, 600])  # exact convolution / normal approximation
def test_truck_band_matches_binomial(n: int) -> None:
    # n identical trucks, each arriving in the 10:00 hour with probability 0.4.
    trucks = [make_truck(p10=600, p50=660, p90=720, ident=str(i)) for i in range(n)]
    fc = forecast_arrivals(issued_at=T0, trucks_on_road=trucks, hours=24)
    h = fc[10]
    assert h.trucks == pytest.approx(0.4 * n, rel=1e-9)
    assert abs(h.trucks_p10 - binom.ppf(0.1, n, 0.4)) <= (0 if n <= 400 else 1)
    assert abs(h.trucks_p90 - binom.ppf(0.9, n, 0.4)) <= (0 if n <= 400 else 1)
    assert h.pallets_p10 == pytest.approx(20.0 * binom.ppf(0.1, n, 0.4), abs=40.0)
    assert h.pallets_p90 == pytest.approx(20.0 * binom.ppf(0.9, n, 0.4), abs=40.0)


def test_band_covers_the_truth_about_80_percent_of_the_time() -> None:
    rng = np.random.default_rng(42)
    hours = 24
    road = []
    for i in range(150):
        p50 = rng.uniform(0, hours * 60)
        lo, hi = rng.uniform(10, 60), rng.uniform(10, 120)
        road.append(
            make_truck(
                p10=p50 - lo,
                p50=p50,
                p90=p50 + hi,
                pallets=float(rng.integers(5, 33)),
                ident=f"r{i}",
            )
        )
    booked = [
        make_booking(
            slot_min=rng.uniform(0, hours * 60), pallets=float(rng.integers(5, 33)), ident=f"b{i}"
        )
        for i in range(150)
    ]
    prior = LatenessPrior(mean_lateness_min=20.0, std_lateness_min=40.0, no_show_rate=0.1)
    flow = UnbookedFlow(tuple([1.5] * 168), pallets_mean=12.0, pallets_std=4.0)
    fc = forecast_arrivals(
        issued_at=T0 - timedelta(days=1), trucks_on_road=[], booked=[], hours=1
    )  # warm call: an empty forecast is well-formed
    assert fc[0].trucks == 0.0
    fc = forecast_arrivals(
        issued_at=T0, trucks_on_road=road, booked=booked, prior=prior, unbooked=flow, hours=hours
    )

    def split_normal_draw(t: TruckOnRoad) -> float:
        q = [(v - T0) / MIN for v in (t.eta_p10, t.eta_p50, t.eta_p90)]
        z = rng.standard_normal()
        return q[1] + z * ((q[1] - q[0]) if z < 0 else (q[2] - q[1])) / 1.2815515655446004

    inside_trucks, inside_pallets, n = 0, 0, 0
    for _ in range(400):
        counts = np.zeros(hours)
        pallets = np.zeros(hours)
        for t in road:
            m = split_normal_draw(t)
            if m < 0:  # the forecast conditions on "not arrived yet"; so does the truth
                m = split_normal_draw(t)
                while m < 0:
                    m = split_normal_draw(t)
            k = int(m // 60)
            if k < hours:
                counts[k] += 1
                pallets[k] += t.pallets
        for b in booked:
            if rng.random() < 0.1:
                continue
            m = (b.slot_start - T0) / MIN + rng.normal(20.0, 40.0)
            if m < 0:  # bookings this early are ruled out the same way
                continue
            k = int(m // 60)
            if k < hours:
                counts[k] += 1
                pallets[k] += b.pallets
        walk = rng.poisson(1.5, size=hours)
        counts += walk
        pallets += np.array([rng.gamma(9.0 * w, 4.0 / 3.0) if w else 0.0 for w in walk])
        for k in range(1, hours):  # hour 0 is skewed by the cut at issue time
            h = fc[k]
            inside_trucks += h.trucks_p10 <= counts[k] <= h.trucks_p90
            inside_pallets += h.pallets_p10 <= pallets[k] <= h.pallets_p90
            n += 1
    # Counts cannot split an atom, so the band holds a bit more than 80%; never much less.
    assert 0.78 <= inside_trucks / n <= 0.90
    assert 0.76 <= inside_pallets / n <= 0.86


# --------------------------------------------------------------------------- naive, backtest


def test_naive_forecast_is_same_hour_last_week() -> None:
    last_week = T0 - timedelta(weeks=1)
    times = [last_week + 5 * MIN, last_week + 50 * MIN, last_week + timedelta(hours=3, minutes=1)]
    fc = naive_forecast(times, start=T0 + 20 * MIN, hours=4, history_pallets=[10.0, 20.0, 5.0])
    assert [h.trucks for h in fc] == [2.0, 0.0, 0.0, 1.0]
    assert fc[0].pallets == 30.0 and fc[3].pallets == 5.0
    assert fc[0].trucks_p10 <= 2.0 <= fc[0].trucks_p90
    assert fc[0].hour_start == T0


def synthetic_history(*, days: int, seed: int) -> list[HistoricDelivery]:
    """Five suppliers with their own lateness habits, hourly slots 06-20, some walk-ins."""
    rng = np.random.default_rng(seed)
    habits = {
        "early": (-15.0, 10.0, 0.02),
        "punctual": (0.0, 15.0, 0.05),
        "late": (40.0, 20.0, 0.05),
        "very_late": (120.0, 40.0, 0.10),
        "flaky": (10.0, 30.0, 0.30),
    }
    start = T0 - timedelta(hours=6)
    out: list[HistoricDelivery] = []
    for day in range(days):
        for hour in range(6, 20):
            slot = start + timedelta(days=day, hours=hour)
            for sup, (mean, sd, no_show) in habits.items():
                if rng.random() > 0.45:
                    continue
                arrived = None
                departed = None
                snaps: tuple[EtaSnapshot, ...] = ()
                if rng.random() >= no_show:
                    arrived = slot + rng.normal(mean, sd) * MIN
                    departed = arrived - timedelta(hours=3)
                    p50 = arrived + rng.normal(0, 15) * MIN
                    snaps = (EtaSnapshot(departed, p50 - 20 * MIN, p50, p50 + 20 * MIN),)
                out.append(
                    HistoricDelivery(
                        delivery_id=f"{sup}-{day}-{hour}",
                        supplier_id=sup,
                        pallets=float(rng.integers(6, 33)),
                        slot_start=slot,
                        slot_end=slot + timedelta(hours=1),
                        arrived_at=arrived,
                        booked_at=slot - timedelta(days=2),
                        departed_at=departed,
                        eta_snapshots=snaps,
                    )
                )
            for w in range(rng.poisson(0.6)):
                out.append(
                    HistoricDelivery(
                        delivery_id=f"walk-{day}-{hour}-{w}",
                        supplier_id="walk",
                        pallets=float(rng.integers(2, 10)),
                        slot_start=None,
                        slot_end=None,
                        arrived_at=start
                        + timedelta(days=day, hours=hour, minutes=rng.uniform(0, 60)),
                    )
                )
    return out


def test_inputs_at_uses_nothing_settled_later() -> None:
    history = synthetic_history(days=10, seed=1)
    issued = T0 + timedelta(days=7, hours=3)
    # Rewrite every outcome after the issue time: the inputs must not move.
    rng = np.random.default_rng(9)
    altered = [
        dataclasses.replace(d, arrived_at=d.arrived_at + abs(rng.normal(0, 300)) * MIN)
        if d.arrived_at is not None and d.arrived_at > issued + timedelta(hours=4)
        else d
        for d in history
    ]
    assert altered != history
    a = inputs_at(history, issued_at=issued)
    b = inputs_at(altered, issued_at=issued)
    assert a.supplier_stats == b.supplier_stats
    assert a.prior == b.prior
    assert a.unbooked == b.unbooked
    assert {t.delivery_id for t in a.trucks_on_road} == {t.delivery_id for t in b.trucks_on_road}
    assert {x.delivery_id for x in a.booked} == {x.delivery_id for x in b.booked}
    # And the stats do reflect the history that was known: the habits come through.
    stats = supplier_stats_from_history(history, as_of=issued)
    assert stats["very_late"].mean_lateness_min > stats["late"].mean_lateness_min > 20.0
    assert stats["early"].mean_lateness_min < 0.0
    assert all(s.supplier_id != "walk" for s in stats.values())
    assert a.trucks_on_road  # departed trucks with a served ETA are on the road


def test_backtest_model_beats_naive_and_is_calibrated() -> None:
    history = synthetic_history(days=21, seed=5)
    issue_times = [T0 + timedelta(days=14 + d, hours=h) for d in range(5) for h in (1, 3, 5)]
    report = backtest(history, issue_times=issue_times, lead_hours=(2, 12, 24))
    assert report["issue_times"] == 15
    model, naive = report["model"], report["naive"]
    assert isinstance(model, dict) and isinstance(naive, dict)
    for lead in (2, 12, 24):
        assert model[lead]["hours"] == 15
        assert model[lead]["mae_trucks"] < naive[lead]["mae_trucks"]
        assert 0.6 <= model[lead]["coverage_80"] <= 1.0
        assert abs(model[lead]["bias_trucks"]) < 1.0


def test_short_notice_bookings_are_expected_before_they_are_made() -> None:
    """Every Monday a truck arrives at 10:00, booked two hours before. A forecast made at
    midnight expects it (its booking does not exist yet); one made at 09:00 with no booking
    in sight does not (it would have been booked by then)."""
    from eta.forecast import HistoricDelivery, forecast_arrivals, inputs_at

    monday = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    history = [
        HistoricDelivery(
            delivery_id=f"d{w}",
            supplier_id="s",
            pallets=12.0,
            slot_start=monday + timedelta(weeks=w, hours=10),
            slot_end=monday + timedelta(weeks=w, hours=11),
            arrived_at=monday + timedelta(weeks=w, hours=10, minutes=10),
            booked_at=monday + timedelta(weeks=w, hours=8, minutes=10),
        )
        for w in range(4)
    ]
    week5 = monday + timedelta(weeks=4)

    def at_ten(issued: datetime) -> float:
        inputs = inputs_at(history, issued_at=issued)
        hours = forecast_arrivals(
            issued_at=issued,
            booked=inputs.booked,
            supplier_stats=inputs.supplier_stats,
            unbooked=inputs.unbooked,
            prior=inputs.prior,
            hours=14,
        )
        return next(h.trucks for h in hours if h.hour_start == week5 + timedelta(hours=10))

    assert at_ten(week5) == pytest.approx(1.0, abs=0.05)
    assert at_ten(week5 + timedelta(hours=9)) == pytest.approx(0.0, abs=0.05)

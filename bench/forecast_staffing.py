"""Forecast and staffing benchmark: run time at site scale and a backtest against the naive baseline.

    python bench/forecast_staffing.py [--trucks 1500] [--days 28] [--seed 0]

Prints figures on synthetic data (suppliers with their own lateness habits, walk-ins);
asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from eta.forecast import (
    BookedDelivery,
    EtaSnapshot,
    HistoricDelivery,
    LatenessPrior,
    TruckOnRoad,
    backtest,
    forecast_arrivals,
)
from eta.staffing import Shift, recommend_crews

START = datetime(2024, 6, 3, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HABITS = {
    "early": (-15.0, 10.0, 0.02),
    "punctual": (0.0, 15.0, 0.05),
    "late": (40.0, 20.0, 0.05),
    "very_late": (120.0, 40.0, 0.10),
    "flaky": (10.0, 30.0, 0.30),
}


def history(*, days: int, seed: int) -> list[HistoricDelivery]:
    rng = np.random.default_rng(seed)
    out: list[HistoricDelivery] = []
    for day in range(days):
        for hour in range(6, 20):
            slot = START + timedelta(days=day, hours=hour)
            for sup, (mean, sd, no_show) in HABITS.items():
                for k in range(rng.poisson(0.8)):
                    arrived = departed = None
                    snaps: tuple[EtaSnapshot, ...] = ()
                    if rng.random() >= no_show:
                        arrived = slot + rng.normal(mean, sd) * MIN
                        departed = arrived - timedelta(hours=3)
                        p50 = arrived + rng.normal(0, 15) * MIN
                        snaps = (EtaSnapshot(departed, p50 - 20 * MIN, p50, p50 + 20 * MIN),)
                    out.append(
                        HistoricDelivery(
                            delivery_id=f"{sup}-{day}-{hour}-{k}",
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
                        arrived_at=slot + rng.uniform(0, 60) * MIN,
                    )
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trucks", type=int, default=1500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    road, booked = [], []
    for i in range(args.trucks // 3):
        p50 = START + rng.uniform(0, 12 * 60) * MIN
        road.append(TruckOnRoad(f"r{i}", 20.0, p50 - 25 * MIN, p50, p50 + 40 * MIN))
    for i in range(args.trucks - len(road)):
        slot = START + rng.uniform(0, 72 * 60) * MIN
        booked.append(BookedDelivery(f"b{i}", "s", slot, slot + timedelta(hours=1), 20.0))
    t = time.perf_counter()
    fc = forecast_arrivals(
        issued_at=START, trucks_on_road=road, booked=booked, prior=LatenessPrior(), hours=72
    )
    print(f"forecast: {args.trucks} trucks x 72 h in {time.perf_counter() - t:.2f} s")
    busiest = max(fc, key=lambda h: h.trucks)
    print(
        f"  busiest hour {busiest.hour_start:%a %H:%M}: {busiest.trucks:.1f} trucks "
        f"[{busiest.trucks_p10:.0f}, {busiest.trucks_p90:.0f}], {busiest.pallets:.0f} pallets"
    )

    shifts = (Shift("early", 6, 14), Shift("late", 14, 22), Shift("night", 22, 6, 1.25))
    docks = int(max(h.trucks for h in fc) / 2) + 2
    t = time.perf_counter()
    plan = recommend_crews(
        fc,
        shifts=shifts,
        docks=docks,
        rate_per_crew=60.0,
        target_wait_minutes=20.0,
        max_crews=docks,
        tz=ZoneInfo("Europe/Berlin"),
    )
    print(f"recommend_crews: {docks} docks, 72 h in {time.perf_counter() - t:.2f} s")
    for s in plan.shifts:
        print(
            f"  {s.name:<6} {s.local_date}  crews {s.crews:>3}  worst wait "
            f"{s.worst_wait_minutes:5.1f} min  {'ok' if s.meets_target else 'UNMET'}"
        )

    hist = history(days=args.days, seed=args.seed)
    issue_times = [
        START + timedelta(days=d, hours=h)
        for d in range(args.days - 8, args.days - 1)
        for h in (5, 9, 13)
    ]
    t = time.perf_counter()
    report = backtest(hist, issue_times=issue_times)
    print(
        f"backtest: {len(hist)} deliveries, {len(issue_times)} issue times "
        f"in {time.perf_counter() - t:.2f} s"
    )
    print(
        f"  {'lead':>4}  {'method':<6} {'MAE trucks':>10} {'MAE pallets':>11} {'in 80% band':>11}"
    )
    for lead in report["lead_hours"]:  # type: ignore[attr-defined]
        for name in ("model", "naive"):
            m = report[name][lead]  # type: ignore[index]
            print(
                f"  {lead:>3}h  {name:<6} {m['mae_trucks']:>10.2f} {m['mae_pallets']:>11.1f} "
                f"{m['coverage_80']:>11.0%}"
            )


if __name__ == "__main__":
    main()

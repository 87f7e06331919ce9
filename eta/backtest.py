"""Replay trips in time order and measure the ETA model against its baselines.

Trips are ordered by start; the first share trains the model, the rest are replayed fix by
fix. All fixes (training and test) go through one pass in 15-minute steps: the features of
every fix in a step are computed before that step's fixes enter the traffic index, so each
prediction sees only the past — its own trip's earlier fixes and other trucks' earlier fixes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eta import evaluation
from eta.features import COL, FEATURES, Context, haversine_m, remaining_seconds, trip_features
from eta.model import EtaModel, current_speed_baseline, mean_speed_baseline
from eta.tracks import Trip, order_by_start
from eta.traffic import BIN_S, TrafficIndex

Progress = Callable[[int, int], None]


@dataclass
class Samples:
    X: np.ndarray
    y: np.ndarray  # remaining seconds
    trip: np.ndarray  # index into the trips given
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    dest_lat: np.ndarray
    dest_lon: np.ndarray


def paces(trips: Sequence[Trip], *, before: float) -> tuple[dict[str, float], dict[str, float]]:
    """Straight-line metres per second achieved per vehicle and per supplier, from trips that
    had arrived before `before` (never from the future)."""
    by_vehicle: dict[str, list[float]] = defaultdict(list)
    by_supplier: dict[str, list[float]] = defaultdict(list)
    for trip in trips:
        if trip.arrival_t >= before or trip.duration_s < 60:
            continue
        straight = float(haversine_m(trip.lat[0], trip.lon[0], trip.dest_lat, trip.dest_lon))
        if straight < 200:
            continue
        pace = straight / trip.duration_s
        by_vehicle[trip.vehicle_id].append(pace)
        if trip.supplier_id:
            by_supplier[trip.supplier_id].append(pace)
    return (
        {k: float(np.median(v)) for k, v in by_vehicle.items()},
        {k: float(np.median(v)) for k, v in by_supplier.items()},
    )


def contexts_for(
    trips: Sequence[Trip], by_vehicle: dict[str, float], by_supplier: dict[str, float]
) -> list[Context]:
    """Each trip's context: its vehicle's and supplier's past pace, its time zone."""
    return [
        Context(
            pace_vehicle=by_vehicle.get(trip.vehicle_id, math.nan),
            pace_supplier=by_supplier.get(trip.supplier_id, math.nan),
            tz=trip.tz,
        )
        for trip in trips
    ]


def replay(
    trips: Sequence[Trip],
    contexts: Sequence[Context],
    *,
    index: TrafficIndex | None = None,
    sample_every: Sequence[int] | None = None,
    progress: Progress | None = None,
) -> Samples:
    """Features (traffic included) of every fix before arrival, in one time-ordered pass."""
    index = index or TrafficIndex()
    per_trip = [trip_features(trip, ctx) for trip, ctx in zip(trips, contexts, strict=True)]
    t_all = np.concatenate([trip.t for trip in trips])
    trip_all = np.concatenate([np.full(len(trip.t), k) for k, trip in enumerate(trips)])
    fix_all = np.concatenate([np.arange(len(trip.t)) for trip in trips])
    y_all = np.concatenate([remaining_seconds(trip) for trip in trips])
    speed_all = np.concatenate([f[:, COL["speed_now"]] for f in per_trip])
    lat_all = np.concatenate([trip.lat for trip in trips])
    lon_all = np.concatenate([trip.lon for trip in trips])
    dlat_all = np.concatenate([np.full(len(trip.t), trip.dest_lat) for trip in trips])
    dlon_all = np.concatenate([np.full(len(trip.t), trip.dest_lon) for trip in trips])
    every = np.ones(len(trips), dtype=int) if sample_every is None else np.asarray(sample_every)
    wanted = (y_all > 0) & (fix_all % every[trip_all] == 0)
    order = np.argsort(t_all, kind="stable")
    bins = (t_all[order] // BIN_S).astype(np.int64)
    bounds = np.flatnonzero(np.diff(bins)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(order)]))
    rows: list[np.ndarray] = []
    picked: list[np.ndarray] = []
    for step, (start, end) in enumerate(zip(starts, ends, strict=True)):
        ids = order[start:end]
        sample = ids[wanted[ids]]
        if len(sample):
            block = np.stack([per_trip[trip_all[i]][fix_all[i]] for i in sample])
            block[:, [COL["traffic_now"], COL["traffic_usual"], COL["traffic_line"]]] = (
                index.features_many(
                    lat_all[sample],
                    lon_all[sample],
                    t_all[sample],
                    dlat_all[sample],
                    dlon_all[sample],
                )
            )
            rows.append(block)
            picked.append(sample)
        index.observe(lat_all[ids], lon_all[ids], t_all[ids], speed_all[ids])
        if step % 96 == 0:
            index.forget_before(t_all[ids[0]] - 2 * BIN_S)
        if progress:
            progress(int(end), len(order))
    if not rows:
        empty = np.zeros(0)
        return Samples(
            np.zeros((0, len(FEATURES))), empty, np.zeros(0, int), empty, empty, empty, empty, empty
        )
    c = np.concatenate(picked)
    return Samples(
        np.vstack(rows),
        y_all[c],
        trip_all[c],
        t_all[c],
        lat_all[c],
        lon_all[c],
        dlat_all[c],
        dlon_all[c],
    )


def run(
    trips: Sequence[Trip],
    *,
    split: float = 0.7,
    max_samples_per_trip: int = 120,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train on the first share of trips (by start time), evaluate on the rest."""
    if not 0 < split < 1:
        raise ValueError("split must be between 0 and 1")
    ordered = order_by_start(t for t in trips if len(t) >= 2 and t.duration_s > 0)
    n_train = int(len(ordered) * split)
    if n_train < 5 or len(ordered) - n_train < 1:
        raise ValueError(f"too few trips to backtest ({len(ordered)}); need at least 8")
    by_vehicle, by_supplier = paces(ordered[:n_train], before=ordered[n_train].start_t)
    contexts = contexts_for(ordered, by_vehicle, by_supplier)
    # Training trips are thinned to at most max_samples_per_trip rows; test trips keep all.
    every = [
        max(1, math.ceil(len(trip) / max_samples_per_trip)) if k < n_train else 1
        for k, trip in enumerate(ordered)
    ]
    samples = replay(ordered, contexts, sample_every=every, progress=progress)
    train = samples.trip < n_train
    test = ~train
    model = EtaModel(version="backtest").fit(
        samples.X[train], samples.y[train], groups=samples.trip[train], seed=seed
    )
    X, y = samples.X[test], samples.y[test]
    p10, p50, p90 = model.predict(X)
    return {
        "trips": {"train": n_train, "test": len(ordered) - n_train},
        "samples": {"train": int(train.sum()), "test": int(test.sum())},
        "physics": {
            "fleet_speed_mps": round(model.physics.fleet_speed, 2),
            "detour": round(model.physics.detour, 3),
        },
        "predictors": {
            "model": evaluation.evaluate(y, p50, p10, p90),
            "physics": evaluation.evaluate(y, model.physics.predict(X)),
            "current_speed": evaluation.evaluate(y, current_speed_baseline(X)),
            "mean_speed": evaluation.evaluate(y, mean_speed_baseline(X, model.mean_speed)),
        },
    }

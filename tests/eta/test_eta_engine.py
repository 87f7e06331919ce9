"""The ETA engine on its own: causal features, monotone quantiles, accuracy against baselines,
the tracks file format, and the backtest on slices of real public tracks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from bench.shared_tracks import convert
from eta import backtest
from eta.features import COL, FEATURES, Context, fleet_features, trip_features
from eta.model import EtaModel
from eta.tracks import TrackFileError, Trip, read_tracks_csv
from eta.traffic import TrafficIndex

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DAY0 = 1_763_942_400.0  # 2025-11-24 00:00 UTC, a Monday


def synthetic_trips(n: int, *, seed: int = 1) -> list[Trip]:
    """Trucks driving 10–40 km straight to a depot; rush hours (7–9, 16–18 UTC) halve speed."""
    rng = np.random.default_rng(seed)
    trips = []
    for k in range(n):
        start = DAY0 + k * 1700.0 + rng.uniform(0, 600)
        km = rng.uniform(10, 40)
        bearing = rng.uniform(0, 2 * math.pi)
        t, pos, times, lats, lons, speeds = start, km * 1000, [], [], [], []
        while pos > 0:
            hour = (t % 86400) / 3600
            rush = 7 <= hour < 9 or 16 <= hour < 18
            v = (7.0 if rush else 16.0) * rng.uniform(0.9, 1.1)
            frac = pos / 111_000
            times.append(t)
            lats.append(52.0 + frac * math.cos(bearing) + rng.normal(0, 2e-5))
            lons.append(13.0 + frac * math.sin(bearing) / 0.6 + rng.normal(0, 2e-5))
            speeds.append(v)
            pos -= v * 30
            t += 30
        trips.append(
            Trip(
                trip_id=f"T{k}",
                vehicle_id=f"V{k % 7}",
                t=np.array(times),
                lat=np.array(lats),
                lon=np.array(lons),
                speed=np.array(speeds),
                dest_lat=52.0,
                dest_lon=13.0,
                arrival_t=t,
            )
        )
    return trips


def test_features_never_look_ahead() -> None:
    trip = synthetic_trips(1)[0]
    full = trip_features(trip, Context(pace_vehicle=10.0))
    cut = 25
    head = Trip(
        trip_id=trip.trip_id,
        vehicle_id=trip.vehicle_id,
        t=trip.t[:cut],
        lat=trip.lat[:cut],
        lon=trip.lon[:cut],
        speed=trip.speed[:cut],
        dest_lat=trip.dest_lat,
        dest_lon=trip.dest_lon,
        arrival_t=math.nan,  # not known yet
    )
    early = trip_features(head, Context(pace_vehicle=10.0))
    np.testing.assert_allclose(early, full[:cut], equal_nan=True)
    assert full.shape[1] == len(FEATURES)
    # Straight at the depot: heading agrees with the bearing to the destination.
    assert np.nanmedian(full[:, COL["heading_cos"]]) > 0.95


def test_traffic_index_sees_the_jam_and_the_usual_hour() -> None:
    index = TrafficIndex()
    lat, lon = np.full(40, 52.0), np.full(40, 13.0)
    # A week ago at 08:00 cars crawled here, and at night they flew.
    index.observe(lat, lon, np.full(40, DAY0 + 8 * 3600.0), np.full(40, 5.0))
    index.observe(lat, lon, np.full(40, DAY0 + 2 * 3600.0), np.full(40, 20.0))
    now = DAY0 + 7 * 86400 + 8 * 3600.0
    index.observe(lat[:5], lon[:5], np.full(5, now - 300), np.full(5, 4.0))
    jam_now, usual, along = index.features(52.0, 13.0, now, 52.05, 13.0)
    assert jam_now < 0.3 and usual < 0.4
    assert math.isnan(along) or along < 1.0
    quiet_now, quiet_usual, _ = index.features(
        52.0, 13.0, DAY0 + 7 * 86400 + 2 * 3600.0, 52.05, 13.0
    )
    assert math.isnan(quiet_now) and quiet_usual > 0.8


def test_model_learns_rush_hours_and_beats_the_baselines() -> None:
    report = backtest.run(synthetic_trips(160), split=0.7)
    model, mean_speed = (
        report["predictors"]["model"]["all"],
        report["predictors"]["mean_speed"]["all"],
    )
    current = report["predictors"]["current_speed"]["all"]
    assert model["mae_min"] < 0.6 * mean_speed["mae_min"], report["predictors"]
    assert model["mae_min"] < current["mae_min"]
    assert 0.4 <= model["coverage_p10_p90"] <= 0.98  # a real band, not a point or everything


def test_quantiles_are_monotone_and_physics_serves_untrained() -> None:
    trips = synthetic_trips(40)
    rows = np.vstack([trip_features(t) for t in trips])
    y = np.concatenate([t.arrival_t - t.t for t in trips])
    model = EtaModel(version="t").fit(rows, y)
    p10, p50, p90 = model.predict(rows)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    fresh = EtaModel(version="physics")
    q10, q50, q90 = fresh.predict(rows)
    assert np.all(q10 < q50) and np.all(q50 < q90) and not fresh.trained


def test_tracks_file_errors_name_the_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "trip_id,ts,lat,lon\nA,2025-01-01T00:00:00Z,52.0,13.0\nA,2025-01-01T00:01:00Z,north,13.0\n"
    )
    with pytest.raises(TrackFileError, match="row 3: column 'lat'"):
        read_tracks_csv(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("trip,ts,lat\n")
    with pytest.raises(TrackFileError, match="missing column"):
        read_tracks_csv(missing)
    naive = tmp_path / "naive.csv"
    naive.write_text("trip_id,ts,lat,lon\nA,2025-01-01T00:00:00,52.0,13.0\n")
    with pytest.raises(TrackFileError, match="time zone"):
        read_tracks_csv(naive)


@pytest.mark.parametrize(
    ("kind", "source", "trips_at_least"),
    [("porto", "porto_taxi_trips.csv", 300), ("liverpool", "liverpool_bus_route14.csv", 10)],
)
def test_backtest_on_real_tracks(
    tmp_path: Path, kind: str, source: str, trips_at_least: int
) -> None:
    converted = tmp_path / f"{kind}.csv"
    assert convert(kind, FIXTURES / source, converted) > 1000
    trips = read_tracks_csv(converted)
    assert len(trips) >= trips_at_least
    result = CliRunner().invoke(cli, ["eta", "backtest", "--tracks", str(converted), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    predictors = report["predictors"]
    assert set(predictors) == {"model", "physics", "current_speed", "mean_speed"}
    assert predictors["model"]["all"]["n"] == report["samples"]["test"] > 100
    # On real movement the model is at least as good as the naive current-speed answer.
    assert predictors["model"]["all"]["mae_min"] < predictors["current_speed"]["all"]["mae_min"]


def test_backtest_command_refuses_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("trip_id,ts,lat,lon\nA,yesterday,52,13\n")
    result = CliRunner().invoke(cli, ["eta", "backtest", "--tracks", str(bad)])
    assert result.exit_code == 2 and "row 2" in result.output


def _trips_with_hidden_delays(n: int, *, seed: int) -> list[Trip]:
    """synthetic_trips plus a wait at the gate nobody can see coming (0–20 min)."""
    rng = np.random.default_rng(seed + 100)
    trips = synthetic_trips(n, seed=seed)
    for trip in trips:
        trip.arrival_t = trip.arrival_t + rng.uniform(0, 1200)
    return trips


def test_p10_p90_window_is_calibrated_on_trips_it_has_not_seen() -> None:
    train = _trips_with_hidden_delays(120, seed=11)
    test = _trips_with_hidden_delays(60, seed=12)
    ctx = Context(pace_vehicle=12.0)
    X = np.vstack([trip_features(t, ctx) for t in train])
    y = np.concatenate([t.arrival_t - t.t for t in train])
    groups = np.concatenate([np.full(len(t), k) for k, t in enumerate(train)])
    model = EtaModel(version="calibrated").fit(X, y, groups=groups)
    Xt = np.vstack([trip_features(t, ctx) for t in test])
    yt = np.concatenate([t.arrival_t - t.t for t in test])
    p10, p50, p90 = model.predict(Xt)
    coverage = float(np.mean((yt >= p10) & (yt <= p90)))
    assert 0.7 <= coverage <= 0.9, coverage
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    assert model.info["interval_widening"] == round(model.widen, 4)


def test_fleet_features_equal_each_trip_on_its_own() -> None:
    # Trips back to back in time and space: windows and steps must restart at each trip.
    trips = synthetic_trips(6, seed=5)
    contexts = [Context(pace_vehicle=float(k + 1), tz="Europe/Moscow") for k in range(6)]
    together = fleet_features(trips, contexts)
    apart = np.vstack([trip_features(t, c) for t, c in zip(trips, contexts, strict=True)])
    assert together.shape == apart.shape
    assert np.allclose(together, apart, equal_nan=True, rtol=1e-9, atol=1e-6)
    assert len(fleet_features([], [])) == 0

"""How a trained ETA model must behave, whatever it learnt: farther is never sooner, a truck
standing still arrives later as time passes, and P10 ≤ P50 ≤ P90."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eta.features import COL, Context, trip_features
from eta.model import EtaModel
from eta.tracks import Trip
from tests.eta.test_eta_engine import DAY0, synthetic_trips


@pytest.fixture(scope="module")
def model() -> EtaModel:
    trips = synthetic_trips(60)
    rows = np.vstack([trip_features(t, Context(pace_vehicle=12.0)) for t in trips])
    y = np.concatenate([t.arrival_t - t.t for t in trips])
    groups = np.concatenate([np.full(len(t), k) for k, t in enumerate(trips)])
    return EtaModel(version="behaviour").fit(rows, y, groups=groups)


def test_more_remaining_distance_never_gives_an_earlier_eta(model: EtaModel) -> None:
    trips = synthetic_trips(5, seed=7)
    rows = np.vstack([trip_features(t, Context(pace_vehicle=12.0)) for t in trips])[::7]
    previous = None
    for factor in (0.5, 0.8, 1.0, 1.1, 1.3, 1.7, 2.5, 4.0):
        X = rows.copy()
        X[:, COL["remaining_m"]] *= factor
        quantiles = np.column_stack(model.predict(X))
        if previous is not None:
            assert np.all(quantiles >= previous - 1e-6), factor
        previous = quantiles
    # …and the model does use distance: four times as far is much later on average.
    assert previous is not None
    near, far = model.predict(rows)[1], previous[:, 1]
    assert np.mean(far) > 1.5 * np.mean(near)


def _stopping_trip() -> Trip:
    """Drives 20 min at 15 m/s towards the depot, then stands 30 min 8 km short of it."""
    n_drive, n_stop = 40, 60
    t = DAY0 + 11 * 3600.0 + 30.0 * np.arange(n_drive + n_stop)
    remaining = np.concatenate(
        [8_000 + 15.0 * 30 * np.arange(n_drive)[::-1], np.full(n_stop, 8_000.0)]
    )
    speed = np.concatenate([np.full(n_drive, 15.0), np.zeros(n_stop)])
    return Trip(
        trip_id="stop",
        vehicle_id="V1",
        t=t,
        lat=52.0 + remaining / 111_000,
        lon=np.full(len(t), 13.0),
        speed=speed,
        dest_lat=52.0,
        dest_lon=13.0,
        arrival_t=math.nan,
    )


def test_a_truck_standing_still_gets_a_later_eta_as_time_passes(model: EtaModel) -> None:
    trip = _stopping_trip()
    X = trip_features(trip, Context(pace_vehicle=12.0))
    p10, p50, p90 = model.predict(X)
    standing = slice(40, None)
    eta = trip.t[standing] + p50[standing]
    # Allow a few seconds of jitter between neighbouring fixes, never a real step earlier.
    assert np.all(np.diff(eta) > -5.0), np.diff(eta).min()
    assert eta[-1] - eta[0] > 15 * 60  # half an hour standing costs at least a quarter of it
    assert np.all(p10 <= p50) and np.all(p50 <= p90)


def test_quantiles_are_ordered_on_odd_inputs(model: EtaModel) -> None:
    rng = np.random.default_rng(3)
    X = np.full((500, len(COL)), np.nan)
    X[:, COL["remaining_m"]] = rng.uniform(0, 200_000, 500)
    X[:, COL["speed_now"]] = rng.uniform(0, 40, 500)
    X[:, COL["mean_speed_15"]] = rng.choice([np.nan, 0.0, 5.0, 30.0], 500)
    p10, p50, p90 = model.predict(X)
    assert np.all(np.isfinite(p50))
    assert np.all(p10 <= p50) and np.all(p50 <= p90)

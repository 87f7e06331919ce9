"""Time one vectorised ETA prediction (P10/P50/P90) for many trucks at once.

    python bench/eta_predict.py [--trucks 10000] [--repeat 5]

A model is trained on synthetic trips (the engine tests' generator), then asked about
--trucks feature rows drawn from those trips; prints the best and median wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eta.features import Context, trip_features  # noqa: E402
from eta.model import EtaModel  # noqa: E402
from tests.eta.test_eta_engine import synthetic_trips  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    trips = synthetic_trips(120)
    rows = np.vstack([trip_features(t, Context(pace_vehicle=12.0)) for t in trips])
    y = np.concatenate([t.arrival_t - t.t for t in trips])
    groups = np.concatenate([np.full(len(t), k) for k, t in enumerate(trips)])
    model = EtaModel(version="bench").fit(rows, y, groups=groups)
    X = rows[np.random.default_rng(0).integers(0, len(rows), args.trucks)]
    model.predict(X[:1])  # the first call pays a one-off set-up cost
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        p10, p50, p90 = model.predict(X)
        times.append(time.perf_counter() - started)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    print(
        f"predict {args.trucks:,} trucks (P10/P50/P90): best {min(times):.3f} s, "
        f"median {statistics.median(times):.3f} s over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()

"""The ETA model: gradient-boosted quantile regression of the remaining time, and its baselines.

The physics baseline (remaining straight-line distance × a learned detour factor ÷ a speed
blended from the truck's recent pace and the fleet's) serves before any model is trained and
whenever a model cannot. The model predicts log(remaining seconds) at P10, P50 and P90 with
scikit-learn's HistGradientBoostingRegressor (quantile loss; missing features are native),
sorted so that P10 ≤ P50 ≤ P90 always holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from eta.features import COL, FEATURES

# scikit-learn's OpenMP threads spin while they wait: on a small machine shared with the API
# server and the database they turned a 0.2 s prediction for 10 000 trucks into seconds (and
# the first call into ten). One thread per process is faster here and never oversubscribes.
threadpool_limits(1, user_api="openmp")

QUANTILES = (0.1, 0.5, 0.9)
MIN_SPEED_MPS = 0.5
MAX_HORIZON_S = 48 * 3600.0
INTERVAL_COVERAGE = 0.8  # P10–P90 should hold 80 % of arrivals
CALIBRATION_SHARE = 0.2
MIN_CALIBRATION_TRIPS = 20


@dataclass
class Physics:
    """remaining_m × detour ÷ blended speed, with detour and fleet speed learned from trips."""

    fleet_speed: float = 12.5  # m/s of straight-line progress
    detour: float = 1.0
    recent_weight: float = 0.5

    def speed(self, X: np.ndarray) -> np.ndarray:
        # A slower recent pace always means a slower blend: a truck that has stood for a
        # quarter of an hour blends 0 m/s in, rather than falling back to the fleet's pace
        # (which made a parked truck's ETA jump earlier the moment it stopped moving).
        recent = np.maximum(X[:, COL["mean_speed_15"]], 0.0)
        pace = X[:, COL["pace_vehicle"]]
        base = np.where(np.isfinite(pace) & (pace > 0.5), pace, self.fleet_speed)
        blended = np.where(
            np.isfinite(recent), self.recent_weight * recent + (1 - self.recent_weight) * base, base
        )
        return np.maximum(blended, MIN_SPEED_MPS)

    def predict(self, X: np.ndarray) -> np.ndarray:
        seconds = X[:, COL["remaining_m"]] * self.detour / self.speed(X)
        return np.clip(seconds, 0, MAX_HORIZON_S)

    def fit(self, X: np.ndarray, y: np.ndarray) -> Physics:
        remaining = X[:, COL["remaining_m"]]
        useful = (y > 60) & (remaining > 100)
        if useful.sum() >= 10:
            # Fleet pace: straight-line metres per second actually achieved to the destination.
            self.fleet_speed = float(np.clip(np.median(remaining[useful] / y[useful]), 1.0, 40.0))
            raw = remaining[useful] / self.speed(X[useful])
            self.detour = float(np.clip(np.median(y[useful] / raw), 0.3, 5.0))
        return self


def current_speed_baseline(X: np.ndarray) -> np.ndarray:
    """Remaining distance ÷ current speed (the naive answer)."""
    speed = np.nan_to_num(X[:, COL["speed_now"]], nan=MIN_SPEED_MPS)
    return np.clip(X[:, COL["remaining_m"]] / np.maximum(speed, MIN_SPEED_MPS), 0, MAX_HORIZON_S)


def mean_speed_baseline(X: np.ndarray, mean_speed: float) -> np.ndarray:
    """Remaining distance ÷ the training trips' mean straight-line speed."""
    return np.clip(X[:, COL["remaining_m"]] / max(mean_speed, MIN_SPEED_MPS), 0, MAX_HORIZON_S)


@dataclass
class EtaModel:
    version: str
    physics: Physics = field(default_factory=Physics)
    models: list[HistGradientBoostingRegressor] = field(default_factory=list)
    features: tuple[str, ...] = FEATURES
    mean_speed: float = 12.5
    info: dict[str, Any] = field(default_factory=dict)
    # Columns the model was fitted on: a feature never seen in training (e.g. road distance
    # without a routing server) is left out rather than learned as always missing.
    columns: list[int] = field(default_factory=list)
    # Log seconds added below P10 and above P90, calibrated on the newest training trips.
    widen: float = 0.0

    @property
    def trained(self) -> bool:
        return len(self.models) == len(QUANTILES)

    def _matrix(self, X: np.ndarray) -> np.ndarray:
        X = X.copy()
        X[:, COL["physics_s"]] = self.physics.predict(X)
        return X[:, self.columns] if self.columns else X

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, seed: int = 0
    ) -> EtaModel:
        """Fit on rows X with remaining seconds y; `groups` (the trip of each row) makes every
        trip weigh the same, however many fixes it has, so one long trip cannot steer a leaf."""
        keep = np.isfinite(y) & (y >= 0) & (y <= MAX_HORIZON_S)
        X, y = X[keep], y[keep]
        weight = None
        if groups is not None:
            groups = groups[keep]
            _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
            weight = 1.0 / counts[inverse]
            weight *= len(weight) / weight.sum()
        self.physics.fit(X, y)
        remaining = X[:, COL["remaining_m"]]
        moving = (y > 60) & (remaining > 100)
        if moving.any():
            self.mean_speed = float(np.mean(remaining[moving] / y[moving]))
        self.columns = []
        full = self._matrix(X)
        self.columns = [
            k for k in range(full.shape[1]) if len(np.unique(full[np.isfinite(full[:, k]), k])) > 1
        ]
        Xm = full[:, self.columns]
        target = np.log1p(y)
        self.widen = 0.0
        if groups is not None:
            self.widen = self._calibrated_widening(Xm, target, groups, weight, seed)
        self.models = _fit_quantiles(Xm, target, weight, seed)
        self.info["n_samples"] = int(len(y))
        self.info["interval_widening"] = round(self.widen, 4)
        return self

    @staticmethod
    def _calibrated_widening(
        Xm: np.ndarray,
        target: np.ndarray,
        groups: np.ndarray,
        weight: np.ndarray | None,
        seed: int,
    ) -> float:
        """How far (in log seconds) to move P10 down and P90 up so that the newest trips'
        arrivals fall inside P10–P90 as often as promised (conformalised quantile regression:
        Romano et al., 2019). Quantile models fitted on few trips are overconfident on trips
        they have not seen; this learns by how much on trips they have not seen. `groups`
        must number the trips in time order, so the calibration trips are the newest."""
        trips = np.unique(groups)
        if len(trips) < MIN_CALIBRATION_TRIPS:
            return 0.0
        first_calibration = trips[int(len(trips) * (1 - CALIBRATION_SHARE))]
        fit, calibrate = groups < first_calibration, groups >= first_calibration
        models = _fit_quantiles(Xm[fit], target[fit], None if weight is None else weight[fit], seed)
        raw = np.column_stack([m.predict(Xm[calibrate]) for m in models])
        raw.sort(axis=1)
        truth = target[calibrate]
        scores = np.maximum(raw[:, 0] - truth, truth - raw[:, 2])
        n = len(scores)
        level = min(1.0, INTERVAL_COVERAGE * (n + 1) / n)
        return float(np.quantile(scores, level))

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Remaining seconds at P10, P50, P90 for each row (physics ± spread if untrained)."""
        if len(X) == 0:
            empty = np.zeros(0)
            return empty, empty, empty
        if not self.trained:
            p50 = self.physics.predict(X)
            return p50 * 0.8, p50, p50 * 1.5
        Xm = self._matrix(X)
        raw = np.column_stack([m.predict(Xm) for m in self.models])
        raw.sort(axis=1)  # quantile models trained apart can cross; sorted they cannot
        widen = getattr(self, "widen", 0.0)  # models saved before calibration have none
        raw[:, 0] = np.minimum(raw[:, 0] - widen, raw[:, 1])
        raw[:, 2] = np.maximum(raw[:, 2] + widen, raw[:, 1])
        seconds = np.clip(np.expm1(raw), 0, MAX_HORIZON_S)
        return seconds[:, 0], seconds[:, 1], seconds[:, 2]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)

    @staticmethod
    def load(path: Path) -> EtaModel:
        model = joblib.load(path)
        if not isinstance(model, EtaModel):
            raise ValueError(f"{path} does not hold an ETA model")
        if tuple(model.features) != FEATURES:
            raise ValueError(f"{path} was trained on other features; retrain it")
        return model


def _fit_quantiles(
    Xm: np.ndarray, target: np.ndarray, weight: np.ndarray | None, seed: int
) -> list[HistGradientBoostingRegressor]:
    return [
        HistGradientBoostingRegressor(
            loss="quantile",
            quantile=q,
            max_iter=250,
            learning_rate=0.08,
            max_leaf_nodes=31,
            min_samples_leaf=max(30, len(target) // 50),
            l2_regularization=1.0,
            random_state=seed,
        ).fit(Xm, target, sample_weight=weight)
        for q in QUANTILES
    ]


def untrained(version: str = "physics-0") -> EtaModel:
    return EtaModel(version=version)


def finite_or_nan(value: float) -> float:
    return value if math.isfinite(value) else math.nan

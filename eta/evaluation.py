"""Accuracy of remaining-time predictions by horizon: MAE, median and p90 error, MAPE, coverage."""

from __future__ import annotations

from typing import Any

import numpy as np

# Horizon buckets in minutes of actual remaining time.
BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("0-15", 0, 15),
    ("15-30", 15, 30),
    ("30-60", 30, 60),
    ("60-120", 60, 120),
    ("120+", 120, float("inf")),
)
MAPE_FLOOR_S = 60.0  # percentage errors are taken only where at least a minute remained


def _metrics(
    y: np.ndarray, p50: np.ndarray, p10: np.ndarray | None, p90: np.ndarray | None
) -> dict[str, Any]:
    if len(y) == 0:
        return {"n": 0}
    err = np.abs(p50 - y) / 60.0
    big = y >= MAPE_FLOOR_S
    out: dict[str, Any] = {
        "n": int(len(y)),
        "mae_min": round(float(err.mean()), 2),
        "median_ae_min": round(float(np.median(err)), 2),
        "p90_ae_min": round(float(np.percentile(err, 90)), 2),
        "mape_pct": round(float(np.mean(np.abs(p50[big] - y[big]) / y[big]) * 100), 1)
        if big.any()
        else None,
    }
    if p10 is not None and p90 is not None:
        out["coverage_p10_p90"] = round(float(np.mean((y >= p10) & (y <= p90))), 3)
    return out


def evaluate(
    y: np.ndarray, p50: np.ndarray, p10: np.ndarray | None = None, p90: np.ndarray | None = None
) -> dict[str, Any]:
    """Overall and per-horizon metrics; y and predictions in seconds."""
    report: dict[str, Any] = {"all": _metrics(y, p50, p10, p90), "by_horizon": {}}
    minutes = y / 60.0
    for name, low, high in BUCKETS:
        mask = (minutes >= low) & (minutes < high)
        report["by_horizon"][name] = _metrics(
            y[mask],
            p50[mask],
            p10[mask] if p10 is not None else None,
            p90[mask] if p90 is not None else None,
        )
    return report


def beats(candidate: dict[str, Any], incumbent: dict[str, Any]) -> bool:
    """The candidate's overall MAE is lower (both measured on the same holdout)."""
    a, b = candidate.get("all", {}).get("mae_min"), incumbent.get("all", {}).get("mae_min")
    if a is None:
        return False
    return b is None or a < b

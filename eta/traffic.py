"""A traffic index crowd-sourced from the fleet's own fixes: observed speed against free flow.

Speeds are kept per H3 cell: a coarse histogram per cell (whose 85th percentile is the cell's
free-flow speed), sums per cell and 15-minute bin (traffic right now), and sums per cell and
hour of the week (the usual congestion then). Observing a fix and asking about a place are
dictionary updates and lookups, so the index keeps up with every refresh.
"""

from __future__ import annotations

import math
from collections import defaultdict

import h3.api.basic_int as h3
import numpy as np

RESOLUTION = 8  # cells of about 0.7 km²
BIN_S = 900.0  # 15 minutes
SPEED_BIN = 2.0  # m/s per histogram bin
N_BINS = 25  # up to 50 m/s
FREE_FLOW_Q = 0.85
MIN_FREE_FLOW_OBS = 8
LINE_SAMPLES = 6
WEEK_S = 7 * 24 * 3600.0
# Epoch 1970-01-01 was a Thursday: shift so that hour-of-week 0 is Monday 00:00 UTC.
_MONDAY_OFFSET_S = 3 * 24 * 3600.0


def _pair() -> list[float]:
    return [0.0, 0.0]


def hour_of_week(t: float) -> int:
    return int(((t + _MONDAY_OFFSET_S) % WEEK_S) // 3600)


class TrafficIndex:
    def __init__(self, resolution: int = RESOLUTION) -> None:
        self.resolution = resolution
        self.hist: dict[int, np.ndarray] = {}
        self.now: dict[tuple[int, int], list[float]] = defaultdict(_pair)
        self.typical: dict[tuple[int, int], list[float]] = defaultdict(_pair)
        self.global_hist = np.zeros(N_BINS)
        self._free: dict[int, float] = {}
        self.latest_t = -math.inf
        self.history = True  # False: observe() feeds only the present (see live_view)

    # --- learning -----------------------------------------------------------------------

    def live_view(self) -> TrafficIndex:
        """An index sharing this one's history (free flow, usual congestion) with an empty
        'right now', for serving: live fixes go into its present only."""
        view = TrafficIndex(self.resolution)
        view.hist, view.typical, view.global_hist, view._free = (
            self.hist,
            self.typical,
            self.global_hist,
            self._free,
        )
        view.history = False
        return view

    def observe(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray, speed: np.ndarray) -> None:
        """Take in fixes with a known speed (NaN speeds are skipped)."""
        known = np.isfinite(speed) & (speed >= 0) & (speed < SPEED_BIN * N_BINS * 2)
        if not known.any():
            return
        bins = np.minimum((speed[known] / SPEED_BIN).astype(int), N_BINS - 1)
        if self.history:
            np.add.at(self.global_hist, bins, 1)
        for la, lo, ts, sp, b in zip(
            lat[known].tolist(),
            lon[known].tolist(),
            t[known].tolist(),
            speed[known].tolist(),
            bins.tolist(),
            strict=True,
        ):
            cell = h3.latlng_to_cell(la, lo, self.resolution)
            now = self.now[(cell, int(ts // BIN_S))]
            now[0] += sp
            now[1] += 1
            if not self.history:
                continue
            hist = self.hist.get(cell)
            if hist is None:
                hist = self.hist[cell] = np.zeros(N_BINS)
            hist[b] += 1
            self._free.pop(cell, None)
            usual = self.typical[(cell, hour_of_week(ts))]
            usual[0] += sp
            usual[1] += 1
        self.latest_t = max(self.latest_t, float(t[known].max()))

    def forget_before(self, t: float) -> None:
        """Drop 'right now' bins older than t (the typical and free-flow history stays)."""
        cutoff = int(t // BIN_S)
        for key in [k for k in self.now if k[1] < cutoff]:
            del self.now[key]

    # --- asking -------------------------------------------------------------------------

    @staticmethod
    def _quantile(hist: np.ndarray) -> float:
        cum = np.cumsum(hist)
        k = int(np.searchsorted(cum, FREE_FLOW_Q * cum[-1]))
        return (k + 1) * SPEED_BIN

    def free_flow(self, cell: int) -> float:
        cached = self._free.get(cell)
        if cached is not None:
            return cached
        hist = self.hist.get(cell)
        if hist is None or hist.sum() < MIN_FREE_FLOW_OBS:
            value = self._quantile(self.global_hist) if self.global_hist.sum() else math.nan
        else:
            value = self._quantile(hist)
        self._free[cell] = value
        return value

    def _ratio_now(self, cells: list[int], t: float) -> float:
        b = int(t // BIN_S)
        total = count = free = 0.0
        for cell in cells:
            for key in ((cell, b), (cell, b - 1)):
                found = self.now.get(key)
                if found and found[1]:
                    total += found[0]
                    count += found[1]
                    free += self.free_flow(cell) * found[1]
        return total / free if count and free > 0 else math.nan

    def _ratio_typical(self, cells: list[int], t: float) -> float:
        how = hour_of_week(t)
        total = count = free = 0.0
        for cell in cells:
            found = self.typical.get((cell, how))
            if found and found[1]:
                total += found[0]
                count += found[1]
                free += self.free_flow(cell) * found[1]
        return total / free if count and free > 0 else math.nan

    def features(
        self, lat: float, lon: float, t: float, dest_lat: float, dest_lon: float
    ) -> tuple[float, float, float]:
        """(congestion here now, usual congestion here at this hour of the week, congestion
        along the straight line to the destination): observed ÷ free-flow speed, NaN unknown."""
        here = h3.grid_disk(h3.latlng_to_cell(lat, lon, self.resolution), 1)
        now = self._ratio_now(here, t)
        usual = self._ratio_typical(here, t)
        along = []
        for k in range(1, LINE_SAMPLES + 1):
            f = k / (LINE_SAMPLES + 1)
            cell = h3.latlng_to_cell(
                lat + (dest_lat - lat) * f, lon + (dest_lon - lon) * f, self.resolution
            )
            value = self._ratio_now([cell], t)
            if math.isnan(value):
                value = self._ratio_typical([cell], t)
            if not math.isnan(value):
                along.append(value)
        return now, usual, (sum(along) / len(along) if along else math.nan)

    def features_many(
        self,
        lat: np.ndarray,
        lon: np.ndarray,
        t: np.ndarray,
        dest_lat: np.ndarray,
        dest_lon: np.ndarray,
    ) -> np.ndarray:
        out = np.full((len(lat), 3), np.nan)
        for i, args in enumerate(
            zip(
                lat.tolist(),
                lon.tolist(),
                t.tolist(),
                dest_lat.tolist(),
                dest_lon.tolist(),
                strict=True,
            )
        ):
            out[i] = self.features(*args)
        return out

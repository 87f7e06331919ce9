"""GPS devices: when fixes are taken, how wrong they are, and when they reach the server.

Real trackers sample every few seconds with metres of correlated error, lose fixes in runs
(tunnels, a device rebooting), buffer while the mobile connection is down and then send a
burst, resend points they never saw acknowledged, deliver some late (out of order), and now
and then report a fix hundreds of metres off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from app.simulator.network import EARTH_RADIUS_M


@dataclass(frozen=True)
class GpsConfig:
    # Each device samples at its own interval drawn from this range (seconds).
    interval_s: tuple[float, float] = (5.0, 30.0)
    # Trackers save battery and traffic while parked: a fix at most this often then.
    parked_interval_s: float = 60.0
    # Standard deviation of the position error on each axis, metres.
    noise_m: float = 4.0
    # Error correlation between consecutive fixes (GPS error drifts, it does not flicker).
    noise_correlation: float = 0.6
    # Share of fixes never taken, lost in runs of this mean length (in fixes).
    fix_loss: float = 0.03
    loss_run_mean: float = 6.0
    # Connection drops per hour of operation and their length (minutes): fixes taken
    # meanwhile are buffered and sent in one burst when the connection returns.
    drops_per_hour: float = 0.4
    drop_minutes: tuple[float, float] = (1.0, 12.0)
    duplicate_rate: float = 0.01
    out_of_order_rate: float = 0.02
    bad_fix_rate: float = 0.002
    bad_fix_m: tuple[float, float] = (200.0, 2_000.0)
    send_latency_s: tuple[float, float] = (0.5, 3.0)


@dataclass
class Observed:
    """Fixes as the device reports them, one row per send (duplicates included)."""

    t: np.ndarray  # device time, whole UTC epoch seconds
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray
    heading: np.ndarray  # NaN when standing still
    accuracy: np.ndarray
    send_t: np.ndarray
    bad: np.ndarray  # bool: a wild fix
    source: np.ndarray  # index into the fix times this row came from

    def __len__(self) -> int:
        return int(self.t.size)

    def take(self, mask: np.ndarray) -> Observed:
        return Observed(
            t=self.t[mask],
            lat=self.lat[mask],
            lon=self.lon[mask],
            speed=self.speed[mask],
            heading=self.heading[mask],
            accuracy=self.accuracy[mask],
            send_t=self.send_t[mask],
            bad=self.bad[mask],
            source=self.source[mask],
        )

    @staticmethod
    def concat(parts: list[Observed]) -> Observed:
        return Observed(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Observed.__dataclass_fields__)
        )


def device_interval(rng: np.random.Generator, config: GpsConfig) -> float:
    return float(rng.uniform(*config.interval_s))


def fix_times(
    start_t: float, end_t: float, *, interval_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Whole-second fix times from start to end at about the device interval (±10 %)."""
    if end_t <= start_t:
        return np.empty(0)
    count = int((end_t - start_t) / interval_s * 1.15) + 2
    steps = interval_s * rng.uniform(0.9, 1.1, size=count)
    t = np.round(start_t + np.concatenate([[0.0], np.cumsum(steps)]))
    t = t[t < end_t]
    return np.unique(t)


def observe(
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    speed: np.ndarray,
    heading: np.ndarray,
    *,
    rng: np.random.Generator,
    config: GpsConfig,
) -> Observed:
    """What the device reports for true states at fix times `t`."""
    n = t.size
    if n == 0:
        empty = np.empty(0)
        return Observed(empty, empty, empty, empty, empty, empty, empty, empty.astype(bool), empty)
    kept = ~_losses(n, rng, config)
    # AR(1) error per axis with the configured stationary standard deviation.
    rho = config.noise_correlation
    shocks = rng.standard_normal((n, 2)) * config.noise_m * np.sqrt(1 - rho * rho)
    shocks[0] /= np.sqrt(1 - rho * rho)  # the first error is drawn from the stationary spread
    err = lfilter([1.0], [1.0, -rho], shocks, axis=0)
    bad = rng.random(n) < config.bad_fix_rate
    if bad.any():
        distance = rng.uniform(*config.bad_fix_m, size=int(bad.sum()))
        angle = rng.uniform(0, 2 * np.pi, size=int(bad.sum()))
        err[bad, 0] += distance * np.cos(angle)
        err[bad, 1] += distance * np.sin(angle)
    cos_lat = np.cos(np.radians(lat))
    out_lat = lat + np.degrees(err[:, 1] / EARTH_RADIUS_M)
    out_lon = lon + np.degrees(err[:, 0] / (EARTH_RADIUS_M * cos_lat))
    out_speed = np.maximum(speed + rng.normal(0, 0.3, n), 0.0)
    out_speed = np.where(speed < 0.3, 0.0, out_speed)
    out_heading = np.where(speed < 0.5, np.nan, (heading + rng.normal(0, 3, n)) % 360.0)
    accuracy = np.round(config.noise_m * rng.uniform(1.0, 2.5, n), 1)
    accuracy = np.where(bad, np.round(rng.uniform(15, 80, n), 1), accuracy)
    send = t + rng.uniform(*config.send_latency_s, size=n)
    send = _drops(t, send, rng, config)
    late = rng.random(n) < config.out_of_order_rate
    send = np.where(late, send + rng.uniform(30, 180, n), send)
    obs = Observed(
        t=t,
        lat=out_lat,
        lon=out_lon,
        speed=out_speed,
        heading=out_heading,
        accuracy=accuracy,
        send_t=send,
        bad=bad,
        source=np.arange(n),
    ).take(kept)
    dup = rng.random(len(obs)) < config.duplicate_rate
    if dup.any():
        again = obs.take(dup)
        again.send_t = again.send_t + rng.uniform(5, 60, size=len(again))
        obs = Observed.concat([obs, again])
    return obs


def _losses(n: int, rng: np.random.Generator, config: GpsConfig) -> np.ndarray:
    """Runs of lost fixes whose long-run share is `fix_loss`."""
    if config.fix_loss <= 0:
        return np.zeros(n, dtype=bool)
    # A two-state chain: a run ends with probability 1/mean; it starts so that the share of
    # lost fixes is loss = p_start / (p_start + p_end).
    p_end = 1.0 / max(config.loss_run_mean, 1.0)
    p_start = config.fix_loss * p_end / (1.0 - config.fix_loss)
    lost = np.zeros(n, dtype=bool)
    state = bool(rng.random() < config.fix_loss)
    i = 0
    while i < n:
        run = int(rng.geometric(p_end if state else p_start))
        if state:
            lost[i : i + run] = True
        i += run
        state = not state
    return lost


def _drops(
    t: np.ndarray, send: np.ndarray, rng: np.random.Generator, config: GpsConfig
) -> np.ndarray:
    """Fixes taken while the connection is down go out together when it comes back."""
    hours = (t[-1] - t[0]) / 3600.0
    count = int(rng.poisson(config.drops_per_hour * hours)) if hours > 0 else 0
    for _ in range(count):
        start = float(rng.uniform(t[0], t[-1]))
        end = start + float(rng.uniform(*config.drop_minutes)) * 60.0
        inside = (t >= start) & (t < end)
        send = np.where(inside, end + rng.uniform(0.5, 2.0), send)
    return send

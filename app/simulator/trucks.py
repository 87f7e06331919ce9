"""Truck motion along a path: speed by road and traffic, acceleration and braking, red lights,
driver breaks and fuel stops, as piecewise constant-acceleration segments.

A trip is a list of segments (start time, start distance, start speed, acceleration), so the
true position at any moment is a closed-form lookup, which keeps weeks of trips fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.simulator.network import RoadNetwork
from app.simulator.traffic import TrafficModel


@dataclass(frozen=True)
class TruckConfig:
    # Speed limiters hold heavy trucks to 90 km/h.
    max_speed_mps: float = 25.0
    accel_mps2: float = 0.5
    brake_mps2: float = 1.0
    red_light_prob: float = 0.45
    red_wait_s: tuple[float, float] = (5.0, 70.0)
    # A driver takes a break after this much driving; a shorter trip never stops for one.
    break_after_s: float = 2 * 3600.0
    break_s: tuple[float, float] = (15 * 60.0, 30 * 60.0)
    fuel_stops_per_100km: float = 0.15
    fuel_stop_s: tuple[float, float] = (8 * 60.0, 15 * 60.0)
    # A driver's pace against the traffic (standard deviation of a per-trip factor).
    pace_sd: float = 0.05


@dataclass
class Stop:
    kind: str  # "light", "break" or "fuel"
    start_t: float
    end_t: float


@dataclass
class Trip:
    depart_t: float
    end_t: float
    nodes: list[int]
    edges: np.ndarray
    edge_start_m: np.ndarray  # distance along the path at the start of each edge, plus the end
    seg_t: np.ndarray
    seg_s: np.ndarray
    seg_v: np.ndarray
    seg_a: np.ndarray
    stops: list[Stop] = field(default_factory=list)

    @property
    def length_m(self) -> float:
        return float(self.edge_start_m[-1])

    @property
    def duration_s(self) -> float:
        return self.end_t - self.depart_t


def drive(
    network: RoadNetwork,
    traffic: TrafficModel,
    *,
    nodes: list[int],
    edges: list[int],
    depart_t: float,
    rng: np.random.Generator,
    config: TruckConfig | None = None,
) -> Trip:
    """Drive a path starting at `depart_t`; the truck starts and ends standing."""
    c = config or TruckConfig()
    e = np.asarray(edges, dtype=np.int64)
    length = network.edge_length[e]
    starts = np.concatenate([[0.0], np.cumsum(length)])
    pace = max(0.7, 1.0 + c.pace_sd * float(rng.standard_normal()))
    free = np.minimum(network.edge_free_mps[e] * pace, c.max_speed_mps)
    # The traffic met on an edge depends on when the truck gets there: two passes settle it.
    speed = free
    for _ in range(2):
        enter = depart_t + np.concatenate([[0.0], np.cumsum(length / speed)[:-1]])
        speed = np.maximum(free * traffic.factor(e, enter), 0.5)
    n = len(e)
    waits = np.zeros(n + 1)  # a stop before leaving node k (k = 1..n-1)
    kinds: dict[int, str] = {}
    inner = np.asarray(nodes[1:-1], dtype=np.int64)
    if n > 1:
        red = network.signal[inner] & (rng.random(n - 1) < c.red_light_prob)
        waits[1:-1] = np.where(red, rng.uniform(*c.red_wait_s, size=n - 1), 0.0)
        for k in np.flatnonzero(red).tolist():
            kinds[k + 1] = "light"
        driving = np.cumsum(length / speed)
        if driving[-1] > c.break_after_s:
            k = int(np.searchsorted(driving, c.break_after_s))
            k = min(max(k, 1), n - 1)
            waits[k] += float(rng.uniform(*c.break_s))
            kinds[k] = "break"
        if rng.random() < c.fuel_stops_per_100km * starts[-1] / 100_000.0:
            k = int(rng.integers(1, n))
            waits[k] += float(rng.uniform(*c.fuel_stop_s))
            kinds[k] = "fuel"
    # Speed allowed through each node: the slower neighbour, zero where the truck stops.
    cap = np.zeros(n + 1)
    cap[1:-1] = np.minimum(speed[:-1], speed[1:])
    cap[waits > 0] = 0.0
    a, d = c.accel_mps2, c.brake_mps2
    cap_list = cap.tolist()
    length_list = length.tolist()
    for k in range(n - 1, -1, -1):  # able to brake for what comes next
        cap_list[k] = min(cap_list[k], (cap_list[k + 1] ** 2 + 2 * d * length_list[k]) ** 0.5)
    for k in range(n):  # able to reach it from what came before
        cap_list[k + 1] = min(cap_list[k + 1], (cap_list[k] ** 2 + 2 * a * length_list[k]) ** 0.5)
    cap = np.asarray(cap_list)
    v_in, v_out = cap[:-1], cap[1:]
    peak2 = (2 * a * d * length + d * v_in**2 + a * v_out**2) / (a + d)
    v_top = np.minimum(speed, np.sqrt(peak2))
    d_acc = (v_top**2 - v_in**2) / (2 * a)
    d_dec = (v_top**2 - v_out**2) / (2 * d)
    d_cruise = np.maximum(length - d_acc - d_dec, 0.0)
    # Per edge: accelerate, cruise, brake, then wait at the node it ends in.
    dur = np.stack([(v_top - v_in) / a, d_cruise / v_top, (v_top - v_out) / d, waits[1:]], axis=1)
    s0 = np.stack(
        [starts[:-1], starts[:-1] + d_acc, starts[:-1] + d_acc + d_cruise, starts[1:]], axis=1
    )
    v0 = np.stack([v_in, v_top, v_top, np.zeros(n)], axis=1)
    acc = np.stack([np.full(n, a), np.zeros(n), np.full(n, -d), np.zeros(n)], axis=1)
    leave_node = depart_t + np.cumsum(dur.sum(axis=1))
    stops = [
        Stop(kinds.get(k, "light"), float(leave_node[k - 1] - waits[k]), float(leave_node[k - 1]))
        for k in np.flatnonzero(waits > 0).tolist()
    ]
    dur, s0, v0, acc = dur.ravel(), s0.ravel(), v0.ravel(), acc.ravel()
    keep = dur > 1e-6
    dur, s0, v0, acc = dur[keep], s0[keep], v0[keep], acc[keep]
    seg_t = depart_t + np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    end_t = depart_t + float(dur.sum())
    return Trip(
        depart_t=depart_t,
        end_t=end_t,
        nodes=list(nodes),
        edges=e,
        edge_start_m=starts,
        seg_t=seg_t,
        seg_s=s0,
        seg_v=v0,
        seg_a=acc,
        stops=stops,
    )


@dataclass
class TruthSample:
    x: np.ndarray
    y: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray
    heading: np.ndarray


def sample(network: RoadNetwork, trip: Trip, t: np.ndarray) -> TruthSample:
    """The true position, speed and heading at times `t` (clamped to the trip)."""
    t = np.clip(np.asarray(t, dtype=float), trip.depart_t, trip.end_t)
    i = np.clip(np.searchsorted(trip.seg_t, t, side="right") - 1, 0, len(trip.seg_t) - 1)
    dt = t - trip.seg_t[i]
    s = np.clip(trip.seg_s[i] + trip.seg_v[i] * dt + 0.5 * trip.seg_a[i] * dt * dt, 0, None)
    s = np.minimum(s, trip.length_m)
    v = np.maximum(trip.seg_v[i] + trip.seg_a[i] * dt, 0.0)
    k = np.clip(np.searchsorted(trip.edge_start_m, s, side="right") - 1, 0, len(trip.edges) - 1)
    path = np.asarray(trip.nodes, dtype=np.int64)
    ax, ay = network.x[path[k]], network.y[path[k]]
    bx, by = network.x[path[k + 1]], network.y[path[k + 1]]
    seg = trip.edge_start_m[k + 1] - trip.edge_start_m[k]
    f = np.clip((s - trip.edge_start_m[k]) / seg, 0.0, 1.0)
    x, y = ax + f * (bx - ax), ay + f * (by - ay)
    lat, lon = network.projection.to_latlon(x, y)
    heading = np.degrees(np.arctan2(bx - ax, by - ay)) % 360.0
    return TruthSample(x=x, y=y, lat=lat, lon=lon, speed=v, heading=heading)

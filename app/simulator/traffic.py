"""Traffic: speed factors by hour of day, weekday and place, plus random incidents.

The factor multiplies an edge's free speed. It is the simulator's hidden truth: the ETA model
only ever sees it through the speeds trucks report and achieve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from app.simulator.network import RoadClass, RoadNetwork

DAY_S = 86_400.0


@dataclass(frozen=True)
class TrafficConfig:
    # Share of free speed lost at the rush-hour peak in the very centre (before the floor).
    rush_depth: float = 0.45
    # Share lost through the working day outside the peaks, in the centre.
    day_depth: float = 0.15
    morning_peak_h: float = 8.5
    evening_peak_h: float = 18.5
    rush_width_h: float = 1.3
    # Rush intensity at weekends, relative to weekdays.
    weekend_rush: float = 0.3
    # Congestion fades with distance from the centre on this scale, down to a floor share.
    centre_scale_m: float = 9_000.0
    outskirts_share: float = 0.25
    class_sensitivity: dict[RoadClass, float] = field(
        default_factory=lambda: {
            RoadClass.street: 0.9,
            RoadClass.arterial: 1.0,
            RoadClass.regional: 0.6,
            RoadClass.ring: 1.0,
            RoadClass.highway: 0.9,
            RoadClass.access: 0.3,
        }
    )
    # Day-to-day variation of the whole city's congestion (standard deviation of a factor).
    day_variation: float = 0.1
    min_factor: float = 0.2
    incidents_per_day: float = 4.0
    incident_minutes: tuple[float, float] = (20.0, 120.0)
    incident_factor: tuple[float, float] = (0.15, 0.5)
    incident_stretch_m: float = 2_000.0


@dataclass(frozen=True)
class Incident:
    edges: frozenset[int]
    start_t: float
    end_t: float
    factor: float


def utc_offset_s(timezone: str, at: datetime | None = None) -> float:
    """The zone's offset at a moment; traffic follows local clocks (DST shifts are ignored)."""
    moment = at or datetime.now(UTC)
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


class TrafficModel:
    def __init__(
        self,
        network: RoadNetwork,
        *,
        seed: int,
        config: TrafficConfig | None = None,
        utc_offset_s: float = 0.0,
    ) -> None:
        self.network = network
        self.config = config or TrafficConfig()
        self.seed = seed
        self.offset_s = utc_offset_s
        sens = np.array(
            [self.config.class_sensitivity[RoadClass(c)] for c in range(len(RoadClass))]
        )
        place = self.config.outskirts_share + (1 - self.config.outskirts_share) * np.exp(
            -network.edge_centre_m / self.config.centre_scale_m
        )
        self.edge_weight = place * sens[network.edge_class]
        self._days: dict[int, tuple[float, list[Incident]]] = {}
        self._neighbours: list[list[int]] | None = None

    # --- the daily pattern ------------------------------------------------------------

    def _pattern(self, t: np.ndarray) -> np.ndarray:
        """City-wide congestion intensity (0 = free) at UTC epoch seconds `t`."""
        c = self.config
        local = t + self.offset_s
        hour = (local % DAY_S) / 3600.0
        weekday = ((local // DAY_S).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        width = c.rush_width_h
        rush = np.exp(-0.5 * ((hour - c.morning_peak_h) / width) ** 2) + np.exp(
            -0.5 * ((hour - c.evening_peak_h) / width) ** 2
        )
        rush = np.where(weekday >= 5, rush * c.weekend_rush, rush)
        day = 1.0 / (1.0 + np.exp(-2.0 * (hour - 7.0))) / (1.0 + np.exp(2.0 * (hour - 21.0)))
        return c.rush_depth * rush + c.day_depth * day

    def expected_factor(self, edges: np.ndarray, t: float | np.ndarray) -> np.ndarray:
        """The usual factor at that hour and weekday: what planners and navigators know."""
        pattern = self._pattern(np.broadcast_to(np.asarray(t, dtype=float), edges.shape))
        return np.clip(1.0 - self.edge_weight[edges] * pattern, self.config.min_factor, 1.0)

    def factor(self, edges: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The true factor: the usual pattern, this day's variation and any incident."""
        t = np.asarray(t, dtype=float)
        days = np.floor((t + self.offset_s) / DAY_S).astype(np.int64)
        intensity = np.ones_like(t)
        incidents: list[Incident] = []
        for day in np.unique(days).tolist():
            level, found = self._day(int(day))
            intensity[days == day] = level
            incidents.extend(found)
        pattern = self._pattern(t) * intensity
        out = np.clip(1.0 - self.edge_weight[edges] * pattern, self.config.min_factor, 1.0)
        if incidents:
            lo, hi = float(t.min()), float(t.max())
            for incident in incidents:
                if incident.end_t < lo or incident.start_t > hi:
                    continue
                hit = (
                    np.isin(edges, list(incident.edges))
                    & (t >= incident.start_t)
                    & (t < incident.end_t)
                )
                out = np.where(hit, out * incident.factor, out)
        return out

    # --- day-level randomness, generated lazily so a live run never ends ----------------

    def _day(self, day: int) -> tuple[float, list[Incident]]:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self._make_day(day)
        return found

    def _make_day(self, day: int) -> tuple[float, list[Incident]]:
        c = self.config
        rng = np.random.default_rng([self.seed, 2, day + 100_000])
        level = max(0.3, 1.0 + c.day_variation * float(rng.standard_normal()))
        incidents = []
        start_of_day = day * DAY_S - self.offset_s
        for _ in range(int(rng.poisson(c.incidents_per_day))):
            first = int(rng.integers(self.network.edge_count))
            start = start_of_day + float(rng.uniform(0, DAY_S))
            minutes = float(rng.uniform(*c.incident_minutes))
            incidents.append(
                Incident(
                    edges=frozenset(self._stretch(first, c.incident_stretch_m)),
                    start_t=start,
                    end_t=start + minutes * 60.0,
                    factor=float(rng.uniform(*c.incident_factor)),
                )
            )
        return level, incidents

    def incidents_between(self, start_t: float, end_t: float) -> list[Incident]:
        first = math.floor((start_t + self.offset_s) / DAY_S)
        last = math.floor((end_t + self.offset_s) / DAY_S)
        return [
            i
            for day in range(first, last + 1)
            for i in self._day(day)[1]
            if i.end_t > start_t and i.start_t < end_t
        ]

    def _stretch(self, first: int, length_m: float) -> set[int]:
        """Edges within `length_m` of the first one, along the road (breadth first)."""
        if self._neighbours is None:
            by_node: list[list[int]] = [[] for _ in range(self.network.node_count)]
            for e, (u, v) in enumerate(
                zip(self.network.edge_u.tolist(), self.network.edge_v.tolist(), strict=True)
            ):
                by_node[u].append(e)
                by_node[v].append(e)
            self._neighbours = by_node
        chosen = {first}
        frontier = [first]
        total = float(self.network.edge_length[first])
        while frontier and total < length_m:
            edge = frontier.pop(0)
            for node in (int(self.network.edge_u[edge]), int(self.network.edge_v[edge])):
                for other in self._neighbours[node]:
                    if other not in chosen and total < length_m:
                        chosen.add(other)
                        frontier.append(other)
                        total += float(self.network.edge_length[other])
        return chosen

"""The fleet: suppliers' trucks booking slots, driving to sites, queueing, unloading, returning.

A discrete-event simulation over plain data. `FleetSim.advance(until_t)` runs every event up
to a moment and returns what happened (bookings, GPS fixes with their send times, dock
events, finished deliveries), which history mode writes to the database and live mode posts
to a server as it comes due.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.simulator import gps
from app.simulator.gps import GpsConfig, Observed
from app.simulator.network import NetworkConfig, RoadNetwork, Router, generate
from app.simulator.traffic import DAY_S, TrafficConfig, TrafficModel
from app.simulator.trucks import Trip, TruckConfig, drive, sample
from app.simulator.yard import Visit, Yard, YardConfig

SLOT_STEP_S = 1800.0
_TruthFn = Callable[[np.ndarray], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class SiteSpec:
    key: int
    code: str
    kind: str  # distribution_centre, warehouse or darkstore
    lat: float
    lon: float
    radius_m: float = 300.0
    dock_count: int = 4
    unloading_rate_pph: float = 30.0
    # Local hours when slots may start, as (start, end) pairs; an end before its start
    # crosses midnight. Empty means around the clock.
    open_hours: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class SupplierSpec:
    key: int
    code: str
    depot_lat: float
    depot_lon: float
    # Punctuality: how often and how late trucks leave, how much slack planners leave.
    late_start_prob: float = 0.15
    late_start_mean_s: float = 20 * 60.0
    buffer_s: float = 15 * 60.0
    no_show_rate: float = 0.03


@dataclass(frozen=True)
class VehicleSpec:
    key: int
    supplier_key: int
    device_id: str


@dataclass(frozen=True)
class World:
    sites: tuple[SiteSpec, ...]
    suppliers: tuple[SupplierSpec, ...]
    vehicles: tuple[VehicleSpec, ...]
    timezone: str = "UTC"
    utc_offset_s: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        return (
            float(np.mean([s.lat for s in self.sites])),
            float(np.mean([s.lon for s in self.sites])),
        )


@dataclass(frozen=True)
class FleetConfig:
    # Loading at the depot before each delivery.
    loading_s: tuple[float, float] = (1800.0, 3600.0)
    # Each truck works a shift starting at its own local hour, most by day and some by
    # night (distribution centres receive around the clock), and plans new deliveries for
    # `plan_hours` from the shift's start.
    day_shift_start_h: tuple[float, float] = (4.5, 8.0)
    night_shift_start_h: tuple[float, float] = (16.0, 21.0)
    night_shift_share: float = 0.35
    plan_hours: float = 12.0
    weekend_work: tuple[float, float] = (0.6, 0.25)
    site_weight: dict[str, float] = field(
        default_factory=lambda: {
            "distribution_centre": 0.5,
            "warehouse": 0.35,
            "darkstore": 0.15,
        }
    )
    pallets: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            "distribution_centre": (10, 33),
            "warehouse": (6, 26),
            "darkstore": (2, 10),
        }
    )
    slot_minutes: dict[str, int] = field(
        default_factory=lambda: {"distribution_centre": 60, "warehouse": 60, "darkstore": 30}
    )
    # A no-show is marked this long after the slot ends.
    no_show_after_s: float = 3600.0


@dataclass(frozen=True)
class SimConfig:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    truck: TruckConfig = field(default_factory=TruckConfig)
    gps: GpsConfig = field(default_factory=GpsConfig)
    yard: YardConfig = field(default_factory=YardConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)


@dataclass
class DeliveryRecord:
    ref: str
    vehicle_key: int
    supplier_key: int
    site_key: int
    pallets: int
    booked_t: float
    slot_start_t: float
    slot_end_t: float
    planned_depart_t: float
    late_start_s: float
    status: str = "planned"  # planned, en_route, on_site, completed, no_show
    departed_t: float | None = None  # first fix of the trip
    reached_t: float | None = None  # at the gate (end of the drive), exact
    arrived_t: float | None = None  # first fix of the stay inside the geofence
    left_t: float | None = None  # first fix beyond 1.25 × the radius on the way out
    visit: Visit | None = None
    trip: Trip | None = None


@dataclass
class Happening:
    """Something that happened at `at_t`: booked, fixes, docked, completed, left, no_show."""

    kind: str
    at_t: float
    vehicle: VehicleSpec
    delivery: DeliveryRecord | None = None
    fixes: Observed | None = None
    phase: str = ""  # for fixes: to_site, on_site or to_depot


@dataclass
class _Truck:
    spec: VehicleSpec
    supplier: SupplierSpec
    depot_node: int
    rng: np.random.Generator
    interval_s: float
    index: int
    shift_start_h: float
    next_fix_t: float = 0.0
    current: DeliveryRecord | None = None
    approach: Observed | None = None


def supplier_spec(
    *, key: int, code: str, seed: int, centre: tuple[float, float], depot_radius_m: float
) -> SupplierSpec:
    """A supplier's depot and punctuality, fixed by its code and the seed."""
    rng = np.random.default_rng([seed, 5, zlib.crc32(code.encode())])
    angle = float(rng.uniform(0, 2 * math.pi))
    radius = float(rng.uniform(0.35, 0.85)) * depot_radius_m
    lat = centre[0] + math.degrees(radius * math.sin(angle) / 6_371_008.8)
    lon = centre[1] + math.degrees(
        radius * math.cos(angle) / (6_371_008.8 * math.cos(math.radians(centre[0])))
    )
    # Punctuality ranges from dependable to sloppy; one draw places the supplier on it.
    sloppiness = float(rng.beta(1.5, 2.5))
    return SupplierSpec(
        key=key,
        code=code,
        depot_lat=lat,
        depot_lon=lon,
        late_start_prob=0.05 + 0.45 * sloppiness,
        late_start_mean_s=(10 + 60 * sloppiness) * 60.0,
        buffer_s=(20 - 20 * sloppiness) * 60.0,
        no_show_rate=0.005 + 0.08 * sloppiness,
    )


class FleetSim:
    def __init__(
        self,
        world: World,
        *,
        seed: int,
        start_t: float,
        stop_planning_t: float | None = None,
        config: SimConfig | None = None,
    ) -> None:
        self.world = world
        self.config = config or SimConfig()
        self.seed = seed
        self.stop_planning_t = stop_planning_t if stop_planning_t is not None else math.inf
        centre = world.centre
        places = [(s.lat, s.lon) for s in world.sites] + [
            (s.depot_lat, s.depot_lon) for s in world.suppliers
        ]
        self.network: RoadNetwork = generate(
            centre_lat=centre[0],
            centre_lon=centre[1],
            seed=seed,
            places=places,
            config=self.config.network,
        )
        self.traffic = TrafficModel(
            self.network, seed=seed, config=self.config.traffic, utc_offset_s=world.utc_offset_s
        )
        self.router = Router(self.network)
        self.site_node = {s.key: self.network.place_nodes[i] for i, s in enumerate(world.sites)}
        self.sites = {s.key: s for s in world.sites}
        n_sites = len(world.sites)
        depot_node = {
            s.key: self.network.place_nodes[n_sites + i] for i, s in enumerate(world.suppliers)
        }
        suppliers = {s.key: s for s in world.suppliers}
        self.yards = {
            s.key: Yard(
                dock_count=s.dock_count,
                unloading_rate_pph=s.unloading_rate_pph,
                config=self.config.yard,
            )
            for s in world.sites
        }
        self.site_rng = {
            s.key: np.random.default_rng([seed, 4, i]) for i, s in enumerate(world.sites)
        }
        self.trucks: list[_Truck] = []
        for i, v in enumerate(world.vehicles):
            rng = np.random.default_rng([seed, 3, i])
            self.trucks.append(
                _Truck(
                    spec=v,
                    supplier=suppliers[v.supplier_key],
                    depot_node=depot_node[v.supplier_key],
                    rng=rng,
                    interval_s=gps.device_interval(rng, self.config.gps),
                    index=i,
                    shift_start_h=float(
                        rng.uniform(*self.config.fleet.night_shift_start_h)
                        if rng.random() < self.config.fleet.night_shift_share
                        else rng.uniform(*self.config.fleet.day_shift_start_h)
                    ),
                )
            )
        self._queue: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._count = 0
        self.now_t = start_t
        for i, truck in enumerate(self.trucks):
            # Trucks wake up spread over the first hour so they do not all plan at once.
            self._push(start_t + float(truck.rng.uniform(0, 3600)), "plan", i)
        self._weights: dict[int, np.ndarray] = {}

    # --- event queue ----------------------------------------------------------------------

    def _push(self, t: float, kind: str, truck: int) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t, self._seq, kind, truck))

    def advance(self, until_t: float) -> list[Happening]:
        """Run every event up to `until_t`; events are processed in time order."""
        out: list[Happening] = []
        while self._queue and self._queue[0][0] <= until_t:
            t, _, kind, index = heapq.heappop(self._queue)
            self.now_t = t
            getattr(self, f"_on_{kind}")(t, self.trucks[index], index, out)
        self.now_t = max(self.now_t, until_t)
        return out

    # --- helpers --------------------------------------------------------------------------

    def local_hour(self, t: float) -> float:
        return ((t + self.world.utc_offset_s) % DAY_S) / 3600.0

    def weekday(self, t: float) -> int:
        return int(((t + self.world.utc_offset_s) // DAY_S + 3) % 7)

    def _profile_weights(self, t: float) -> tuple[int, np.ndarray]:
        """Edge travel times a navigator expects at that hour of the week (no incidents)."""
        hour_of_week = int(((t + self.world.utc_offset_s) // 3600 + 72) % 168)
        found = self._weights.get(hour_of_week)
        if found is None:
            edges = np.arange(self.network.edge_count)
            speed = np.minimum(self.network.edge_free_mps, self.config.truck.max_speed_mps)
            factor = self.traffic.expected_factor(edges, t)
            found = self._weights[hour_of_week] = self.network.edge_length / (speed * factor)
        return hour_of_week, found

    def route(self, origin: int, destination: int, t: float) -> tuple[list[int], list[int], float]:
        profile, weights = self._profile_weights(t)
        return self.router.route(origin, destination, profile=profile, weights=weights)

    def expected_travel_s(self, origin: int, destination: int, t: float) -> float:
        nodes, _, seconds = self.route(origin, destination, t)
        c = self.config.truck
        lights = float(self.network.signal[nodes].sum()) * c.red_light_prob * sum(c.red_wait_s) / 2
        return seconds + lights + 60.0

    def _shift(self, truck: _Truck, day: int) -> tuple[float, float] | None:
        """The truck's planning window on a local day, or None on a day off."""
        f = self.config.fleet
        rng = np.random.default_rng([self.seed, 6, truck.index, day + 100_000])
        weekday = (day + 3) % 7
        if weekday >= 5 and rng.random() >= f.weekend_work[weekday - 5]:
            return None
        start = day * DAY_S - self.world.utc_offset_s
        start += (truck.shift_start_h + float(rng.uniform(-0.3, 0.3))) * 3600.0
        return start, start + f.plan_hours * 3600.0

    def _next_work_start(self, t: float, truck: _Truck) -> float:
        """The next moment at or after `t` inside one of the truck's shifts."""
        today = math.floor((t + self.world.utc_offset_s) / DAY_S)
        for day in range(today - 1, today + 14):
            shift = self._shift(truck, day)
            if shift is None or t > shift[1]:
                continue
            return max(t, shift[0])
        return t + DAY_S

    def _slot_start(self, site: SiteSpec, earliest: float) -> float:
        start = math.ceil(earliest / SLOT_STEP_S) * SLOT_STEP_S
        if not site.open_hours:
            return start
        for _ in range(96):
            hour = self.local_hour(start)
            for lo, hi in site.open_hours:
                if (lo <= hour < hi) if lo < hi else (hour >= lo or hour < hi):
                    return start
            start += SLOT_STEP_S
        return start

    def _fixes(
        self,
        truck: _Truck,
        start_t: float,
        end_t: float,
        truth: _TruthFn,
        *,
        parked: bool = False,
    ) -> Observed | None:
        interval = truck.interval_s
        if parked:
            interval = max(interval, self.config.gps.parked_interval_s)
        t = gps.fix_times(max(start_t, truck.next_fix_t), end_t, interval_s=interval, rng=truck.rng)
        if t.size == 0:
            return None
        truck.next_fix_t = float(t[-1]) + interval
        lat, lon, speed, heading = truth(t)
        observed = gps.observe(t, lat, lon, speed, heading, rng=truck.rng, config=self.config.gps)
        # A short stretch can lose every fix (a loss run, a tunnel): then nothing is reported.
        return observed if len(observed) else None

    def _trip_truth(self, trip: Trip) -> _TruthFn:
        def truth(t: np.ndarray) -> tuple[np.ndarray, ...]:
            s = sample(self.network, trip, t)
            return s.lat, s.lon, s.speed, s.heading

        return truth

    # --- events ---------------------------------------------------------------------------

    def _on_plan(self, t: float, truck: _Truck, index: int, out: list[Happening]) -> None:
        start = self._next_work_start(t, truck)
        if start > t:
            self._push(start, "plan", index)
            return
        if t > self.stop_planning_t:
            return
        f = self.config.fleet
        rng = truck.rng
        sites = self.world.sites
        weights = np.array([f.site_weight.get(s.kind, 0.3) for s in sites])
        site = sites[int(rng.choice(len(sites), p=weights / weights.sum()))]
        low, high = f.pallets.get(site.kind, (4, 26))
        pallets = int(rng.integers(low, high + 1))
        loaded = t + float(rng.uniform(*f.loading_s))
        origin, destination = truck.depot_node, self.site_node[site.key]
        travel = self.expected_travel_s(origin, destination, loaded)
        sup = truck.supplier
        slot = self._slot_start(site, loaded + travel + sup.buffer_s)
        planned = slot - travel - sup.buffer_s
        late = 0.0
        if rng.random() < sup.late_start_prob:
            late = float(rng.exponential(sup.late_start_mean_s))
        depart = max(loaded, planned + late + float(rng.normal(0, 120)))
        self._count += 1
        record = DeliveryRecord(
            ref=f"SIM{self.seed}-{truck.spec.key}-{int(slot) // 60}",
            vehicle_key=truck.spec.key,
            supplier_key=sup.key,
            site_key=site.key,
            pallets=pallets,
            booked_t=t,
            slot_start_t=slot,
            slot_end_t=slot + f.slot_minutes.get(site.kind, 60) * 60.0,
            planned_depart_t=planned,
            late_start_s=depart - planned,
        )
        truck.current = record
        out.append(Happening("booked", t, truck.spec, record))
        if rng.random() < sup.no_show_rate:
            record.status = "no_show"
            self._push(record.slot_end_t + f.no_show_after_s, "no_show", index)
            return
        self._push(depart, "depart", index)

    def _on_no_show(self, t: float, truck: _Truck, index: int, out: list[Happening]) -> None:
        record = truck.current
        assert record is not None
        out.append(Happening("no_show", t, truck.spec, record))
        truck.current = None
        self._push(t, "plan", index)

    def _drive(self, truck: _Truck, origin: int, destination: int, t: float) -> Trip:
        """The truck's trip on the fastest route for the traffic expected at departure."""
        nodes, edges, _ = self.route(origin, destination, t)
        return drive(
            self.network,
            self.traffic,
            nodes=nodes,
            edges=edges,
            depart_t=t,
            rng=truck.rng,
            config=self.config.truck,
        )

    def _on_depart(self, t: float, truck: _Truck, index: int, out: list[Happening]) -> None:
        record = truck.current
        assert record is not None
        trip = self._drive(truck, truck.depot_node, self.site_node[record.site_key], t)
        record.trip = trip
        record.status = "en_route"
        truck.next_fix_t = t
        fixes = self._fixes(truck, t, trip.end_t, self._trip_truth(trip))
        truck.approach = fixes
        if fixes is not None:
            record.departed_t = float(fixes.t.min())
            out.append(Happening("fixes", t, truck.spec, record, fixes, "to_site"))
        self._push(trip.end_t, "arrive", index)

    def _on_arrive(self, t: float, truck: _Truck, index: int, out: list[Happening]) -> None:
        record = truck.current
        assert record is not None
        site = self.sites[record.site_key]
        visit = self.yards[site.key].admit(
            arrived_t=t, pallets=record.pallets, rng=self.site_rng[site.key]
        )
        record.visit = visit
        record.reached_t = t
        record.status = "on_site"
        rng = truck.rng
        proj = self.network.projection
        sx, sy = proj.to_xy(np.array([site.lat]), np.array([site.lon]))
        spots = []
        for share in (0.35, 0.25):
            r = site.radius_m * share * math.sqrt(float(rng.random()))
            a = float(rng.uniform(0, 2 * math.pi))
            spots.append((float(sx[0]) + r * math.cos(a), float(sy[0]) + r * math.sin(a)))
        yard_lat, yard_lon = proj.to_latlon(np.array([spots[0][0]]), np.array([spots[0][1]]))
        dock_lat, dock_lon = proj.to_latlon(np.array([spots[1][0]]), np.array([spots[1][1]]))

        def truth(ts: np.ndarray) -> tuple[np.ndarray, ...]:
            at_dock = ts >= visit.dock_start_t
            lat = np.where(at_dock, dock_lat[0], yard_lat[0])
            lon = np.where(at_dock, dock_lon[0], yard_lon[0])
            zero = np.zeros(ts.size)
            return lat, lon, zero, zero

        fixes = self._fixes(truck, t, visit.left_t, truth, parked=True)
        if fixes is not None:
            out.append(Happening("fixes", t, truck.spec, record, fixes, "on_site"))
        parts = [p for p in (truck.approach, fixes) if p is not None]
        if parts:
            record.arrived_t = self._fence_entry(Observed.concat(parts), site)
        truck.approach = None
        out.append(Happening("docked", visit.dock_start_t, truck.spec, record))
        out.append(Happening("completed", visit.dock_end_t, truck.spec, record))
        self._push(visit.left_t, "leave", index)

    def _fence_entry(self, fixes: Observed, site: SiteSpec) -> float | None:
        """The first fix of the final stay inside the fence, as the geofence would see it."""
        d = self._distance(fixes, site)
        good = ~fixes.bad
        order = np.argsort(fixes.t[good], kind="stable")
        t, d = fixes.t[good][order], d[good][order]
        outside = np.flatnonzero(d > site.radius_m)
        first = int(outside[-1]) + 1 if outside.size else 0
        return float(t[first]) if first < t.size else None

    def _distance(self, fixes: Observed, site: SiteSpec) -> np.ndarray:
        proj = self.network.projection
        x, y = proj.to_xy(fixes.lat, fixes.lon)
        sx, sy = proj.to_xy(np.array([site.lat]), np.array([site.lon]))
        return np.asarray(np.hypot(x - sx[0], y - sy[0]))

    def _on_leave(self, t: float, truck: _Truck, index: int, out: list[Happening]) -> None:
        record = truck.current
        assert record is not None
        site = self.sites[record.site_key]
        trip = self._drive(truck, self.site_node[site.key], truck.depot_node, t)
        fixes = self._fixes(truck, t, trip.end_t, self._trip_truth(trip))
        if fixes is not None:
            out.append(Happening("fixes", t, truck.spec, None, fixes, "to_depot"))
            d = self._distance(fixes, site)
            beyond = fixes.t[(d > site.radius_m * 1.25) & ~fixes.bad]
            record.left_t = float(beyond.min()) if beyond.size else None
        record.status = "completed"
        out.append(Happening("left", t, truck.spec, record))
        truck.current = None
        self._push(trip.end_t, "plan", index)

"""Simulator properties with numbers: traffic by hour, trucks on the road, GPS error and gap
rates, yard queues, determinism by seed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from app.simulator.fleet import (
    FleetConfig,
    FleetSim,
    SimConfig,
    SiteSpec,
    VehicleSpec,
    World,
    supplier_spec,
)
from app.simulator.gps import GpsConfig, fix_times, observe
from app.simulator.network import RoadNetwork, Router, distance_to_edges, generate
from app.simulator.traffic import TrafficConfig, TrafficModel
from app.simulator.trucks import drive, sample
from app.simulator.yard import Yard, YardConfig

CENTRE = (55.75, 37.62)
MSK = 3 * 3600.0  # Europe/Moscow, UTC+3 all year
MONDAY = datetime(2026, 11, 16, tzinfo=UTC).timestamp()  # local midnight is 21:00 UTC before


def local(hour: float, day: int = 0) -> float:
    """UTC epoch of a local Moscow hour on the Monday of the test week (+ days)."""
    return MONDAY + day * 86_400 + hour * 3600 - MSK


@pytest.fixture(scope="module")
def network() -> RoadNetwork:
    return generate(
        centre_lat=CENTRE[0],
        centre_lon=CENTRE[1],
        seed=11,
        places=[(55.95, 37.35), (55.757, 37.615), (55.55, 37.90)],
    )


def _trip_minutes(
    network: RoadNetwork, traffic: TrafficModel, depart_t: float, n: int = 12
) -> float:
    router = Router(network)
    free = network.edge_length / network.edge_free_mps
    origin, destination = network.place_nodes[0], network.place_nodes[1]
    nodes, edges, _ = router.route(origin, destination, profile="free", weights=free)
    rng = np.random.default_rng(3)
    return float(
        np.mean(
            [
                drive(
                    network, traffic, nodes=nodes, edges=edges, depart_t=depart_t, rng=rng
                ).duration_s
                for _ in range(n)
            ]
        )
        / 60.0
    )


def test_network_spans_sixty_kilometres_with_every_road_class(network: RoadNetwork) -> None:
    assert network.x.max() - network.x.min() > 55_000
    assert network.y.max() - network.y.min() > 55_000
    assert set(np.unique(network.edge_class).tolist()) == {0, 1, 2, 3, 4, 5}
    speeds = {int(c): float(network.edge_free_mps[network.edge_class == c][0]) for c in range(5)}
    assert speeds[0] < speeds[1] < speeds[2] < speeds[3] < speeds[4]


def test_rush_hour_is_slower_than_night_by_the_configured_depth(network: RoadNetwork) -> None:
    quiet = TrafficConfig(incidents_per_day=0, day_variation=0)
    traffic = TrafficModel(network, seed=1, config=quiet, utc_offset_s=MSK)
    night = _trip_minutes(network, traffic, local(3.0))
    rush = _trip_minutes(network, traffic, local(8.5))
    midday = _trip_minutes(network, traffic, local(13.0))
    saturday_rush = _trip_minutes(network, traffic, local(8.5, day=5))
    print(
        f"night {night:.1f} min, midday {midday:.1f}, rush {rush:.1f}, Saturday 08:30 {saturday_rush:.1f}"
    )
    assert rush > 1.3 * night
    assert night < midday < rush
    assert saturday_rush < rush - 5
    # Without a rush configured, the morning peak is no slower than midday.
    flat = TrafficModel(network, seed=1, config=replace(quiet, rush_depth=0.0), utc_offset_s=MSK)
    assert _trip_minutes(network, flat, local(8.5)) == pytest.approx(
        _trip_minutes(network, flat, local(13.0)), rel=0.03
    )


def test_night_highways_run_at_free_speed_and_city_streets_slow_at_rush(
    network: RoadNetwork,
) -> None:
    traffic = TrafficModel(
        network,
        seed=1,
        config=TrafficConfig(incidents_per_day=0, day_variation=0),
        utc_offset_s=MSK,
    )
    highways = np.flatnonzero(network.edge_class == 4)
    centre = np.flatnonzero((network.edge_class == 0) & (network.edge_centre_m < 2_000))
    assert traffic.factor(highways, np.full(highways.size, local(3.0))).min() > 0.97
    rush_centre = traffic.factor(centre, np.full(centre.size, local(8.5))).mean()
    rush_highway = traffic.factor(highways, np.full(highways.size, local(8.5))).mean()
    assert rush_centre < 0.6 and rush_highway > 0.75


def test_incidents_slow_their_stretch_for_their_duration(network: RoadNetwork) -> None:
    traffic = TrafficModel(
        network, seed=5, config=TrafficConfig(incidents_per_day=20), utc_offset_s=MSK
    )
    incident = traffic.incidents_between(local(0), local(24))[0]
    edges = np.array(sorted(incident.edges))
    during = (incident.start_t + incident.end_t) / 2
    inside = traffic.factor(edges, np.full(edges.size, during))
    without = traffic.expected_factor(edges, during)
    assert np.all(inside < without)
    after = traffic.factor(edges, np.full(edges.size, incident.end_t + 60))
    assert np.all(after > inside)


def test_trucks_stay_on_the_network_and_obey_their_speeds(network: RoadNetwork) -> None:
    traffic = TrafficModel(network, seed=2, utc_offset_s=MSK)
    router = Router(network)
    free = network.edge_length / network.edge_free_mps
    rng = np.random.default_rng(8)
    worst = 0.0
    for origin, destination in ((0, 1), (1, 2), (2, 0)):
        nodes, edges, _ = router.route(
            network.place_nodes[origin], network.place_nodes[destination], profile="f", weights=free
        )
        trip = drive(network, traffic, nodes=nodes, edges=edges, depart_t=local(10), rng=rng)
        t = np.arange(trip.depart_t, trip.end_t, 3.0)
        truth = sample(network, trip, t)
        worst = max(worst, float(distance_to_edges(network, truth.x, truth.y).max()))
        assert truth.speed.max() <= 25.0 + 1e-9
        step = np.hypot(np.diff(truth.x), np.diff(truth.y))
        assert step.max() <= 3.0 * 25.0 + 1e-6
        assert trip.stops and all(s.end_t > s.start_t for s in trip.stops)
    print(f"largest distance of a true position from the nearest edge: {worst:.2e} m")
    assert worst < 0.01


def test_gps_noise_and_loss_rates_match_their_settings() -> None:
    config = GpsConfig(
        noise_m=6.0,
        fix_loss=0.05,
        loss_run_mean=4.0,
        bad_fix_rate=0.0,
        duplicate_rate=0.02,
        out_of_order_rate=0.0,
        drops_per_hour=0.0,
    )
    rng = np.random.default_rng(4)
    t = fix_times(0.0, 400_000.0, interval_s=10.0, rng=rng)
    lat = np.full(t.size, 55.75)
    lon = np.full(t.size, 37.62)
    obs = observe(t, lat, lon, np.full(t.size, 10.0), np.full(t.size, 90.0), rng=rng, config=config)
    gaps = np.diff(t)
    unique = np.unique(obs.t)
    lost = 1 - unique.size / t.size
    dy = (obs.lat - 55.75) * 111_195.0
    dx = (obs.lon - 37.62) * 111_195.0 * np.cos(np.radians(55.75))
    duplicates = len(obs) / unique.size - 1
    print(
        f"interval {gaps.mean():.2f} s, lost {lost:.3%}, noise σ {dx.std():.2f}/{dy.std():.2f} m, duplicates {duplicates:.3%}"
    )
    assert gaps.mean() == pytest.approx(10.0, rel=0.02)
    assert lost == pytest.approx(0.05, abs=0.01)
    assert dx.std() == pytest.approx(6.0, rel=0.1) and dy.std() == pytest.approx(6.0, rel=0.1)
    assert duplicates == pytest.approx(0.02, abs=0.005)


def test_gps_drops_send_bursts_late_and_bad_fixes_are_wild() -> None:
    config = GpsConfig(
        drops_per_hour=2.0,
        out_of_order_rate=0.0,
        bad_fix_rate=0.01,
        duplicate_rate=0.0,
        fix_loss=0.0,
    )
    rng = np.random.default_rng(9)
    t = fix_times(0.0, 200_000.0, interval_s=15.0, rng=rng)
    z = np.zeros(t.size)
    obs = observe(t, z + 55.75, z + 37.62, z + 10, z + 90, rng=rng, config=config)
    delay = obs.send_t - obs.t
    late = delay > 30
    # Bursts: many fixes share one send moment when the connection comes back.
    sends, counts = np.unique(np.round(obs.send_t[late]), return_counts=True)
    assert late.mean() > 0.02 and counts.max() >= 4
    offset = np.hypot((obs.lat - 55.75) * 111_195.0, (obs.lon - 37.62) * 62_600.0)
    assert obs.bad.mean() == pytest.approx(0.01, abs=0.004)
    assert offset[obs.bad].min() > 150 and offset[~obs.bad].max() < 40


def test_out_of_order_sends_happen_at_the_configured_rate() -> None:
    config = GpsConfig(out_of_order_rate=0.05, drops_per_hour=0.0, duplicate_rate=0.0, fix_loss=0.0)
    rng = np.random.default_rng(2)
    t = fix_times(0.0, 100_000.0, interval_s=10.0, rng=rng)
    z = np.zeros(t.size)
    obs = observe(t, z + 55.75, z + 37.62, z + 10, z + 90, rng=rng, config=config)
    arrival_order = obs.t[np.argsort(obs.send_t)]
    overtaken = np.mean(arrival_order[1:] < np.maximum.accumulate(arrival_order)[:-1])
    assert overtaken == pytest.approx(0.05, abs=0.015)


def test_queues_form_when_arrivals_exceed_dock_capacity() -> None:
    config = YardConfig(gate_to_dock_s=(0.0, 0.0), setup_s=0.0, unloading_sd=0.0, exit_s=(0.0, 0.0))
    rng = np.random.default_rng(0)

    def waits(every_min: float) -> list[float]:
        yard = Yard(dock_count=2, unloading_rate_pph=30.0, config=config)
        # 15 pallets at 30 per hour: 30 minutes a truck, so two docks serve one per 15 min.
        return [
            yard.admit(arrived_t=k * every_min * 60.0, pallets=15, rng=rng).wait_s / 60.0
            for k in range(12)
        ]

    relaxed = waits(20.0)
    bunched = waits(10.0)
    assert max(relaxed) == 0.0
    # Arrivals every 10 min against service every 15 min: the k-th waits about 5 min more.
    assert bunched[-1] == pytest.approx(5.0 * 10, abs=5.1)
    assert all(b >= a for a, b in zip(bunched, bunched[1:], strict=False))


def _world(vehicles: int = 6) -> World:
    sites = (
        SiteSpec(1, "DC", "distribution_centre", 55.86, 37.44, dock_count=2),
        SiteSpec(
            2,
            "DS",
            "darkstore",
            55.757,
            37.615,
            radius_m=150,
            dock_count=1,
            open_hours=((6.0, 23.0),),
        ),
    )
    suppliers = tuple(
        supplier_spec(key=k, code=f"S{k}", seed=1, centre=CENTRE, depot_radius_m=30_000)
        for k in (1, 2)
    )
    fleet = tuple(VehicleSpec(100 + k, 1 + k % 2, f"dev-{k}") for k in range(vehicles))
    return World(sites, suppliers, fleet, "Europe/Moscow", MSK)


def _run(seed: int) -> list[tuple[str, float, int]]:
    sim = FleetSim(_world(), seed=seed, start_t=local(0), stop_planning_t=local(20))
    out = sim.advance(local(24))
    return [(h.kind, h.at_t, len(h.fixes) if h.fixes is not None else 0) for h in out]


def test_same_seed_same_trips_other_seed_other_trips() -> None:
    first, again, other = _run(7), _run(7), _run(8)
    assert len(first) > 20
    assert first == again
    assert first != other


def test_fleet_trips_end_at_the_site_and_bunched_arrivals_queue() -> None:
    config = SimConfig(fleet=FleetConfig(plan_hours=14.0, loading_s=(600.0, 900.0)))
    sim = FleetSim(_world(10), seed=3, start_t=local(0), stop_planning_t=local(20), config=config)
    records = [h.delivery for h in sim.advance(local(30)) if h.kind == "left" and h.delivery]
    assert len(records) >= 15
    for r in records:
        assert r.visit is not None and r.arrived_t is not None
        assert r.arrived_t <= r.visit.dock_start_t <= r.visit.dock_end_t <= r.visit.left_t
        assert r.trip is not None and r.trip.nodes[-1] == sim.site_node[r.site_key]
    waits = [r.visit.wait_s for r in records if r.visit is not None]
    assert max(waits) > 0  # one-dock darkstore and two-dock DC with ten trucks

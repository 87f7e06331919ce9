"""A generated road network around a centre: city grid, arterials, ring and radial highways.

Nodes live in a local metric plane (x east, y north, metres from the centre) and carry their
latitude and longitude; edges are straight two-way segments with a road class and its free
speed. Trips follow shortest-time paths (scipy's Dijkstra over the edge weights given).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

EARTH_RADIUS_M = 6_371_008.8


class RoadClass(enum.IntEnum):
    street = 0
    arterial = 1
    regional = 2
    ring = 3
    highway = 4
    access = 5


# Free-flow speeds for a loaded truck, km/h; trucks are limited to 90 km/h on highways.
FREE_SPEED_KMH: dict[RoadClass, float] = {
    RoadClass.street: 30.0,
    RoadClass.arterial: 50.0,
    RoadClass.regional: 60.0,
    RoadClass.ring: 80.0,
    RoadClass.highway: 90.0,
    RoadClass.access: 20.0,
}


@dataclass(frozen=True)
class NetworkConfig:
    radius_m: float = 30_000.0
    city_radius_m: float = 6_000.0
    grid_spacing_m: float = 600.0
    arterial_every: int = 3
    ring_radius_m: float = 15_000.0
    radial_count: int = 8
    highway_node_spacing_m: float = 1_500.0
    suburb_spacing_m: float = 3_000.0
    street_signal_share: float = 0.15
    free_speed_kmh: dict[RoadClass, float] = field(default_factory=lambda: dict(FREE_SPEED_KMH))


@dataclass(frozen=True)
class Projection:
    """Equirectangular plane around the centre; exact enough over tens of kilometres."""

    lat0: float
    lon0: float

    @property
    def _kx(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    @property
    def _ky(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M

    def to_xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(lon) - self.lon0) * self._kx, (np.asarray(lat) - self.lat0) * self._ky

    def to_latlon(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.lat0 + np.asarray(y) / self._ky, self.lon0 + np.asarray(x) / self._kx


@dataclass
class RoadNetwork:
    projection: Projection
    x: np.ndarray
    y: np.ndarray
    signal: np.ndarray  # bool per node: a traffic light
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_class: np.ndarray
    edge_free_mps: np.ndarray
    edge_centre_m: np.ndarray  # distance of the edge's midpoint from the centre
    place_nodes: list[int]  # the node of each attached place, in the order given
    _arc: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._arc = {}
        for e, (u, v) in enumerate(zip(self.edge_u.tolist(), self.edge_v.tolist(), strict=True)):
            self._arc[(u, v)] = e
            self._arc[(v, u)] = e
        lat, lon = self.projection.to_latlon(self.x, self.y)
        self.lat = np.asarray(lat)
        self.lon = np.asarray(lon)

    @property
    def node_count(self) -> int:
        return int(self.x.size)

    @property
    def edge_count(self) -> int:
        return int(self.edge_u.size)

    def edge_between(self, u: int, v: int) -> int:
        return self._arc[(u, v)]

    def graph(self, edge_weight: np.ndarray) -> csr_matrix:
        n = self.node_count
        rows = np.concatenate([self.edge_u, self.edge_v])
        cols = np.concatenate([self.edge_v, self.edge_u])
        data = np.concatenate([edge_weight, edge_weight])
        return csr_matrix((data, (rows, cols)), shape=(n, n))

    def nearest_node(self, lat: float, lon: float) -> int:
        x, y = self.projection.to_xy(np.array([lat]), np.array([lon]))
        return int(np.argmin((self.x - x[0]) ** 2 + (self.y - y[0]) ** 2))


class Router:
    """Shortest-time paths, one Dijkstra tree per (origin, weight profile) kept for reuse."""

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self._graphs: dict[object, csr_matrix] = {}
        self._trees: dict[tuple[object, int], tuple[np.ndarray, np.ndarray]] = {}

    def tree(
        self, origin: int, *, profile: object, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (profile, origin)
        found = self._trees.get(key)
        if found is None:
            graph = self._graphs.get(profile)
            if graph is None:
                graph = self._graphs[profile] = self.network.graph(weights)
            dist, pred = dijkstra(graph, directed=False, indices=origin, return_predecessors=True)
            found = self._trees[key] = (dist, pred)
        return found

    def route(
        self, origin: int, destination: int, *, profile: object, weights: np.ndarray
    ) -> tuple[list[int], list[int], float]:
        """Nodes and edges from origin to destination, and the path's total weight."""
        dist, pred = self.tree(origin, profile=profile, weights=weights)
        if not math.isfinite(dist[destination]):
            raise ValueError(f"node {destination} is unreachable from {origin}")
        nodes = [destination]
        while nodes[-1] != origin:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        edges = [self.network.edge_between(a, b) for a, b in zip(nodes, nodes[1:], strict=False)]
        return nodes, edges, float(dist[destination])


class _Builder:
    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.signal: list[bool] = []
        self.edges: dict[tuple[int, int], RoadClass] = {}

    def node(self, x: float, y: float, *, signal: bool = False) -> int:
        self.x.append(x)
        self.y.append(y)
        self.signal.append(signal)
        return len(self.x) - 1

    def edge(self, a: int, b: int, road: RoadClass) -> None:
        if a == b:
            return
        key = (min(a, b), max(a, b))
        # Where two roads share a link, it takes the faster class.
        if key not in self.edges or road > self.edges[key]:
            self.edges[key] = road

    def nearest(self, x: float, y: float, candidates: Sequence[int]) -> int:
        xs = np.array([self.x[i] for i in candidates])
        ys = np.array([self.y[i] for i in candidates])
        return candidates[int(np.argmin((xs - x) ** 2 + (ys - y) ** 2))]


def generate(
    *,
    centre_lat: float,
    centre_lon: float,
    seed: int,
    places: Sequence[tuple[float, float]] = (),
    config: NetworkConfig | None = None,
) -> RoadNetwork:
    """Build the network around a centre and attach each place (lat, lon) by an access road."""
    config = config or NetworkConfig()
    rng = np.random.default_rng([seed, 1])
    b = _Builder()
    _city_grid(b, config, rng)
    city_nodes = list(range(len(b.x)))
    highway_nodes = _ring_and_radials(b, config, rng, city_nodes)
    _suburbs(b, config, rng, city_nodes, highway_nodes)
    projection = Projection(centre_lat, centre_lon)
    keep = _largest_component(b)
    place_nodes = []
    for lat, lon in places:
        px, py = projection.to_xy(np.array([lat]), np.array([lon]))
        node = b.node(float(px[0]), float(py[0]))
        keep.append(node)
        # Two links so that a place is never a dead end for a node that is itself one.
        ranked = sorted(keep[:-1], key=lambda i: (b.x[i] - px[0]) ** 2 + (b.y[i] - py[0]) ** 2)
        for other in ranked[:2]:
            b.edge(node, other, RoadClass.access)
        place_nodes.append(node)
    return _freeze(b, keep, place_nodes, projection, config)


def _city_grid(b: _Builder, config: NetworkConfig, rng: np.random.Generator) -> None:
    n = int(config.city_radius_m // config.grid_spacing_m)
    index: dict[tuple[int, int], int] = {}
    every = config.arterial_every
    jitter = config.grid_spacing_m * 0.1
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            x = i * config.grid_spacing_m + rng.uniform(-jitter, jitter)
            y = j * config.grid_spacing_m + rng.uniform(-jitter, jitter)
            if math.hypot(x, y) > config.city_radius_m:
                continue
            on_arterial = i % every == 0 or j % every == 0
            signal = on_arterial or bool(rng.random() < config.street_signal_share)
            index[(i, j)] = b.node(x, y, signal=signal)
    for (i, j), node in index.items():
        right, up = index.get((i + 1, j)), index.get((i, j + 1))
        if right is not None:
            b.edge(node, right, RoadClass.arterial if j % every == 0 else RoadClass.street)
        if up is not None:
            b.edge(node, up, RoadClass.arterial if i % every == 0 else RoadClass.street)


def _ring_and_radials(
    b: _Builder, config: NetworkConfig, rng: np.random.Generator, city_nodes: list[int]
) -> list[int]:
    spacing = config.highway_node_spacing_m
    ring_count = max(8, round(2 * math.pi * config.ring_radius_m / spacing))
    ring_angles = np.arange(ring_count) * 2 * math.pi / ring_count
    ring = [
        b.node(config.ring_radius_m * math.cos(a), config.ring_radius_m * math.sin(a))
        for a in ring_angles
    ]
    for k in range(ring_count):
        b.edge(ring[k], ring[(k + 1) % ring_count], RoadClass.ring)
    highway_nodes = list(ring)
    for k in range(config.radial_count):
        angle = 2 * math.pi * k / config.radial_count + rng.uniform(-0.15, 0.15)
        ring_node = ring[int(np.argmin(np.abs(np.angle(np.exp(1j * (ring_angles - angle))))))]
        previous = b.nearest(
            config.city_radius_m * math.cos(angle),
            config.city_radius_m * math.sin(angle),
            city_nodes,
        )
        road = RoadClass.arterial  # the radial's stretch inside the city limits
        radius = config.city_radius_m + spacing
        passed_ring = False
        while radius <= config.radius_m:
            if not passed_ring and radius >= config.ring_radius_m - spacing / 2:
                node = ring_node
                passed_ring = True
            else:
                wobble = rng.uniform(-0.02, 0.02)
                node = b.node(radius * math.cos(angle + wobble), radius * math.sin(angle + wobble))
                highway_nodes.append(node)
            b.edge(previous, node, road)
            road = RoadClass.highway
            previous = node
            radius += spacing
    return highway_nodes


def _suburbs(
    b: _Builder,
    config: NetworkConfig,
    rng: np.random.Generator,
    city_nodes: list[int],
    highway_nodes: list[int],
) -> None:
    spacing = config.suburb_spacing_m
    n = int(config.radius_m // spacing)
    index: dict[tuple[int, int], int] = {}
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            x = i * spacing + rng.uniform(-0.1, 0.1) * spacing
            y = j * spacing + rng.uniform(-0.1, 0.1) * spacing
            r = math.hypot(x, y)
            if r <= config.city_radius_m + spacing * 0.3 or r > config.radius_m:
                continue
            index[(i, j)] = b.node(x, y, signal=bool(rng.random() < 0.5))
    for (i, j), node in index.items():
        for neighbour in (index.get((i + 1, j)), index.get((i, j + 1))):
            if neighbour is not None:
                b.edge(node, neighbour, RoadClass.regional)
        # Junctions onto the highways and into the city where they are close.
        for pool, reach in ((highway_nodes, spacing * 0.6), (city_nodes, spacing)):
            near = b.nearest(b.x[node], b.y[node], pool)
            if math.hypot(b.x[near] - b.x[node], b.y[near] - b.y[node]) <= reach:
                b.edge(node, near, RoadClass.regional)


def _largest_component(b: _Builder) -> list[int]:
    n = len(b.x)
    pairs = np.array(list(b.edges), dtype=np.int64)
    graph = csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    biggest = np.bincount(labels).argmax()
    return [i for i in range(n) if labels[i] == biggest]


def _freeze(
    b: _Builder,
    keep: list[int],
    place_nodes: list[int],
    projection: Projection,
    config: NetworkConfig,
) -> RoadNetwork:
    renumber = {old: new for new, old in enumerate(keep)}
    x = np.array([b.x[i] for i in keep])
    y = np.array([b.y[i] for i in keep])
    items = [
        (renumber[u], renumber[v], road)
        for (u, v), road in b.edges.items()
        if u in renumber and v in renumber
    ]
    eu = np.array([u for u, _, _ in items], dtype=np.int64)
    ev = np.array([v for _, v, _ in items], dtype=np.int64)
    cls = np.array([int(r) for _, _, r in items], dtype=np.int64)
    length = np.maximum(np.hypot(x[eu] - x[ev], y[eu] - y[ev]), 1.0)
    speeds = np.array([config.free_speed_kmh[RoadClass(c)] / 3.6 for c in range(len(RoadClass))])
    return RoadNetwork(
        projection=projection,
        x=x,
        y=y,
        signal=np.array([b.signal[i] for i in keep], dtype=bool),
        edge_u=eu,
        edge_v=ev,
        edge_length=length,
        edge_class=cls,
        edge_free_mps=speeds[cls],
        edge_centre_m=np.hypot((x[eu] + x[ev]) / 2, (y[eu] + y[ev]) / 2),
        place_nodes=[renumber[p] for p in place_nodes],
    )


def distance_to_edges(network: RoadNetwork, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per point, the distance in metres to the nearest edge (for checks, not the hot path)."""
    ax, ay = network.x[network.edge_u], network.y[network.edge_u]
    dx, dy = network.x[network.edge_v] - ax, network.y[network.edge_v] - ay
    seg2 = dx * dx + dy * dy
    out = np.empty(len(x))
    for k, (px, py) in enumerate(zip(np.asarray(x), np.asarray(y), strict=True)):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
        out[k] = float(np.min(np.hypot(ax + t * dx - px, ay + t * dy - py)))
    return out

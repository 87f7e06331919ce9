"""Live mode: the simulated fleet posts to a running server over HTTP, as suppliers' systems do.

Each supplier's backend posts its trucks' fixes in batches with its own API key when the
devices' sends come due, books deliveries before the trucks load, and the site's staff
record dock start and end. Devices cannot report the future, so an accelerated run starts
`lead` in the past and runs `speed` times faster until it catches up with the clock, then
goes on in real time.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from app.simulator.fleet import FleetSim, Happening, SimConfig, SiteSpec, VehicleSpec, World
from app.simulator.history import build_world, open_hours

log = logging.getLogger(__name__)

BATCH_LIMIT = 10_000


@dataclass(frozen=True)
class LiveOptions:
    base_url: str
    seed: int = 1
    speed: float = 1.0
    # How far back an accelerated run starts; a real-time run always starts now.
    lead_s: float = 3600.0
    # The fleet starts this long before the first post, so trucks are already on the road
    # (their earlier fixes go out at once, as a backlog).
    warmup_s: float = 4 * 3600.0
    username: str = "admin@demo.inbound"
    password: str = "inbound-demo"
    tick_s: float = 1.0
    duration_s: float | None = None
    vehicles: int | None = None
    # Only these sites and these suppliers' trucks (codes); everything visible when empty.
    site_codes: tuple[str, ...] = ()
    supplier_codes: tuple[str, ...] = ()

    def fleet_start(self, now: float) -> float:
        """When the simulated fleet starts for a run beginning at `now` (epoch seconds)."""
        return now - (self.lead_s if self.speed > 1 else 0.0) - self.warmup_s


@dataclass
class LiveStats:
    batches: int = 0
    posted: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    bookings: int = 0
    dock_events: int = 0
    failures: int = 0
    sim_t: float = 0.0

    def line(self) -> str:
        moment = datetime.fromtimestamp(self.sim_t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        rejected = sum(self.rejected.values())
        reasons = ", ".join(f"{k} {v}" for k, v in self.rejected.most_common(3))
        return (
            f"sim {moment} UTC · positions {self.accepted} accepted, {self.duplicates} "
            f"duplicate, {rejected} refused{f' ({reasons})' if reasons else ''} · "
            f"bookings {self.bookings} · dock events {self.dock_events}"
        )


class SimClock:
    """Simulated time: `speed` × wall time from `start`, never ahead of the real clock."""

    def __init__(self, *, speed: float, lead_s: float, wall: Callable[[], float]) -> None:
        self.wall = wall
        self.wall0 = wall()
        self.speed = speed
        self.start = self.wall0 - (lead_s if speed > 1 else 0.0)

    def now(self) -> float:
        real = self.wall()
        return min(real, self.start + self.speed * (real - self.wall0))


def site_spec_from_api(data: Mapping[str, Any]) -> SiteSpec:
    return SiteSpec(
        key=int(data["id"]),
        code=str(data["code"]),
        kind=str(data["kind"]),
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        radius_m=float(data["geofence_radius_m"]),
        dock_count=int(data["dock_count"]),
        unloading_rate_pph=float(data["unloading_rate_pph"]),
        open_hours=open_hours(data.get("shifts") or []),
    )


class LiveRunner:
    def __init__(
        self,
        options: LiveOptions,
        *,
        keys: Mapping[int, str] | None = None,
        config: SimConfig | None = None,
        client: httpx.Client | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.config = config or SimConfig()
        self.client = client or httpx.Client(base_url=options.base_url, timeout=30.0)
        self.keys = dict(keys or {})
        self.wall = wall
        self.stats = LiveStats()
        self.stop_event = threading.Event()
        self._outbox: list[tuple[float, int, str, Any]] = []
        self._seq = 0
        self._delivery_ids: dict[str, int] = {}
        self._docks: dict[int, list[int]] = {}
        self._staff: dict[str, str] = {}
        self.world: World | None = None
        self.sim: FleetSim | None = None

    # --- set-up over the API ----------------------------------------------------------

    def connect(self) -> World:
        """Log in as staff, read sites, docks, suppliers and vehicles, get supplier keys."""
        o = self.options
        answer = self.client.post(
            "/api/v1/auth/token", data={"username": o.username, "password": o.password}
        )
        answer.raise_for_status()
        self._staff = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        sites = self._all("/api/v1/sites")
        if o.site_codes:
            sites = [s for s in sites if s["code"] in o.site_codes]
        if not sites:
            raise RuntimeError("the server has no sites to deliver to")
        for site in sites:
            docks = self._get(f"/api/v1/sites/{site['id']}/docks")
            self._docks[int(site["id"])] = [int(d["id"]) for d in docks if d["is_active"]]
        suppliers = {int(s["id"]): str(s["code"]) for s in self._all("/api/v1/suppliers")}
        vehicles = [
            v
            for v in self._all("/api/v1/vehicles")
            if v["is_active"]
            and (not o.supplier_codes or suppliers.get(int(v["supplier_id"])) in o.supplier_codes)
        ]
        vehicles.sort(key=lambda v: int(v["id"]))
        if o.vehicles is not None:
            vehicles = vehicles[: o.vehicles]
        if not vehicles:
            raise RuntimeError("the server has no active vehicles to simulate")
        supplier_ids = sorted({int(v["supplier_id"]) for v in vehicles})
        for supplier_id in supplier_ids:
            if supplier_id not in self.keys:
                created = self.client.post(
                    "/api/v1/api-keys",
                    json={"name": "simulator", "supplier_id": supplier_id},
                    headers=self._staff,
                )
                created.raise_for_status()
                self.keys[supplier_id] = created.json()["key"]
        self.world = build_world(
            [site_spec_from_api(s) for s in sites],
            [(sid, suppliers[sid]) for sid in supplier_ids],
            [VehicleSpec(int(v["id"]), int(v["supplier_id"]), v["device_id"]) for v in vehicles],
            timezone=str(sites[0]["timezone"]),
            seed=o.seed,
            config=self.config,
        )
        return self.world

    def _get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params, headers=self._staff)
        answer.raise_for_status()
        return answer.json()

    def _all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self._get(path, limit=200, offset=len(items))
            items.extend(page["items"])
            if len(items) >= page["total"] or not page["items"]:
                return items

    # --- the run ------------------------------------------------------------------------

    def run(self, *, on_tick: Callable[[LiveStats], None] | None = None) -> LiveStats:
        """Post until stopped (stop_event) or the duration has passed; returns the totals."""
        world = self.world or self.connect()
        clock = SimClock(speed=self.options.speed, lead_s=self.options.lead_s, wall=self.wall)
        self.sim = FleetSim(
            world,
            seed=self.options.seed,
            start_t=self.options.fleet_start(clock.wall0),
            config=self.config,
        )
        began = self.wall()
        while not self.stop_event.is_set():
            now = clock.now()
            self.stats.sim_t = now
            for happening in self.sim.advance(now):
                self._enqueue(happening)
            self._flush(now)
            if on_tick is not None:
                on_tick(self.stats)
            duration = self.options.duration_s
            if duration is not None and self.wall() - began >= duration:
                break
            self.stop_event.wait(self.options.tick_s)
        return self.stats

    def close(self) -> None:
        self.client.close()

    def _push(self, t: float, kind: str, item: Any) -> None:
        self._seq += 1
        heapq.heappush(self._outbox, (t, self._seq, kind, item))

    def _enqueue(self, h: Happening) -> None:
        if h.kind == "fixes" and h.fixes is not None:
            f = h.fixes
            for i in range(len(f)):
                point: dict[str, Any] = {
                    "device_id": h.vehicle.device_id,
                    "ts": int(f.t[i]),
                    "lat": round(float(f.lat[i]), 7),
                    "lon": round(float(f.lon[i]), 7),
                    "speed_mps": round(float(f.speed[i]), 2),
                    "accuracy_m": float(f.accuracy[i]),
                }
                if not math.isnan(f.heading[i]):
                    point["heading"] = round(float(f.heading[i]), 1)
                self._push(float(f.send_t[i]), "point", (h.vehicle.supplier_key, point))
        elif h.kind in ("booked", "docked", "completed", "no_show"):
            self._push(h.at_t, h.kind, h)

    def _flush(self, now: float) -> None:
        points: dict[int, list[dict[str, Any]]] = {}
        actions: list[tuple[str, Happening]] = []
        while self._outbox and self._outbox[0][0] <= now:
            _, _, kind, item = heapq.heappop(self._outbox)
            if kind == "point":
                supplier_id, point = item
                points.setdefault(supplier_id, []).append(point)
            else:
                actions.append((kind, item))
        # Bookings first: a truck's fixes may refer to a delivery booked in the same tick.
        for kind, h in actions:
            if kind == "booked":
                self._book(h)
        for supplier_id, batch in points.items():
            for start in range(0, len(batch), BATCH_LIMIT):
                self._post_points(supplier_id, batch[start : start + BATCH_LIMIT])
        for kind, h in actions:
            if kind != "booked":
                self._dock_event(kind, h)

    def _post_points(self, supplier_id: int, batch: list[dict[str, Any]]) -> None:
        try:
            answer = self.client.post(
                "/api/v1/positions",
                json={"positions": batch},
                headers={"X-API-Key": self.keys[supplier_id]},
            )
        except httpx.HTTPError as exc:
            # A supplier's backend keeps what it could not send and retries next time.
            log.warning("posting positions failed (%s); retrying", exc)
            self.stats.failures += 1
            for point in batch:
                self._push(self.stats.sim_t + 5.0, "point", (supplier_id, point))
            return
        self.stats.batches += 1
        self.stats.posted += len(batch)
        if answer.status_code != 200:
            self.stats.failures += 1
            log.warning("positions refused: %s %s", answer.status_code, answer.text[:200])
            return
        body = answer.json()
        self.stats.accepted += body["accepted"]
        self.stats.duplicates += body["duplicates"]
        for error in body["errors"]:
            self.stats.rejected[error["reason"]] += 1

    def _book(self, h: Happening) -> None:
        record = h.delivery
        assert record is not None
        payload = {
            "site_id": record.site_key,
            "vehicle_id": record.vehicle_key,
            "external_ref": record.ref,
            "slot_start_at": _iso(record.slot_start_t),
            "slot_end_at": _iso(record.slot_end_t),
            "pallets": record.pallets,
            "notes": "simulated",
        }
        answer = self._send(
            "/api/v1/deliveries", payload, {"X-API-Key": self.keys[record.supplier_key]}
        )
        if answer is not None and answer.status_code == 201:
            self._delivery_ids[record.ref] = int(answer.json()["id"])
            self.stats.bookings += 1

    def _dock_event(self, kind: str, h: Happening) -> None:
        record = h.delivery
        assert record is not None
        delivery_id = self._delivery_ids.get(record.ref)
        if delivery_id is None:
            return
        if kind == "no_show":
            self._event(delivery_id, {"kind": "no_show", "at": _iso(h.at_t)})
            return
        visit = record.visit
        assert visit is not None
        if kind == "docked":
            dock_id = self._docks[record.site_key][visit.dock]
            self._event(
                delivery_id, {"kind": "dock_assigned", "dock_id": dock_id, "at": _iso(h.at_t)}
            )
            unloading = {"kind": "unloading", "at": _iso(h.at_t)}
            if not self._event(delivery_id, unloading):
                # The server's geofence pass has not seen the arrival yet: staff record it.
                arrived = record.arrived_t or record.reached_t or h.at_t
                self._event(delivery_id, {"kind": "arrived", "at": _iso(arrived)})
                self._event(delivery_id, unloading)
        elif kind == "completed":
            self._event(delivery_id, {"kind": "completed", "at": _iso(h.at_t)})

    def _event(self, delivery_id: int, payload: dict[str, Any]) -> bool:
        answer = self._send(f"/api/v1/deliveries/{delivery_id}/events", payload, self._staff)
        ok = answer is not None and answer.status_code == 201
        if ok:
            self.stats.dock_events += 1
        return ok

    def _send(
        self, path: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response | None:
        try:
            answer = self.client.post(path, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("POST %s failed: %s", path, exc)
            self.stats.failures += 1
            return None
        if answer.status_code >= 400 and answer.status_code != 409:
            self.stats.failures += 1
            log.warning("POST %s: %s %s", path, answer.status_code, answer.text[:200])
        return answer


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat()

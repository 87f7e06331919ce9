"""Optional road distance and duration from an OSRM-compatible routing server.

When INBOUND_ROUTING_URL is set, the ETA features `route_m` and `route_s` (road metres and
the router's free-flow seconds to the site) are filled for training and serving, and the
model learns how far reality departs from them. Without it, or while the server fails,
they stay missing and nothing else changes: every call has a short timeout, answers are
cached by position (about 100 m), and after repeated failures the router is left alone for
a minute instead of slowing every refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import httpx
import numpy as np

from app.settings import Settings, get_settings
from eta.features import COL

log = logging.getLogger("inbound.routing")
TIMEOUT_S = 2.0
CACHE_SIZE = 100_000
FAILURES_BEFORE_PAUSE = 5
PAUSE_S = 60.0


class RoutingClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self.cache: OrderedDict[tuple[float, float, float, float], tuple[float, float] | None] = (
            OrderedDict()
        )
        self.failures = 0
        self.paused_until = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def route(
        self, lat: float, lon: float, dest_lat: float, dest_lon: float
    ) -> tuple[float, float] | None:
        """(road metres, seconds) from the point to the destination, or None."""
        key = (round(lat, 3), round(lon, 3), round(dest_lat, 4), round(dest_lon, 4))
        with self._lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            if time.monotonic() < self.paused_until:
                return None
        found = self._ask(*key)
        with self._lock:
            self.cache[key] = found
            if len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        return found

    def _ask(
        self, lat: float, lon: float, dest_lat: float, dest_lon: float
    ) -> tuple[float, float] | None:
        self.calls += 1
        try:
            reply = self.client.get(
                f"/route/v1/driving/{lon},{lat};{dest_lon},{dest_lat}",
                params={"overview": "false"},
            )
            reply.raise_for_status()
            body = reply.json()
            if body.get("code") != "Ok" or not body.get("routes"):
                return None
            best = body["routes"][0]
            found = (float(best["distance"]), float(best["duration"]))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            with self._lock:
                self.failures += 1
                if self.failures >= FAILURES_BEFORE_PAUSE:
                    self.paused_until = time.monotonic() + PAUSE_S
                    self.failures = 0
                    log.warning("routing server failing (%s); not asked for %.0f s", exc, PAUSE_S)
            return None
        with self._lock:
            self.failures = 0
        return found

    def fill(
        self,
        X: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        dest_lat: np.ndarray,
        dest_lon: np.ndarray,
    ) -> int:
        """Write route_m / route_s into the rows it can answer; returns how many."""
        filled = 0
        for k in range(len(X)):
            found = self.route(float(lat[k]), float(lon[k]), float(dest_lat[k]), float(dest_lon[k]))
            if found is not None:
                X[k, COL["route_m"]], X[k, COL["route_s"]] = found
                filled += 1
        return filled


_clients: dict[str, RoutingClient] = {}


def client(settings: Settings | None = None) -> RoutingClient | None:
    """The process's routing client, or None when no routing server is configured."""
    url = (settings or get_settings()).routing_url
    if not url:
        return None
    if url not in _clients:
        _clients[url] = RoutingClient(url)
    return _clients[url]

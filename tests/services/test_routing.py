"""The optional routing server: road distance and duration as features, never a failure."""

from __future__ import annotations

import httpx
import numpy as np

from app.services.routing import FAILURES_BEFORE_PAUSE, RoutingClient
from eta.features import COL, FEATURES


def osrm(calls: list[str], *, fail: bool = False) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if fail:
            return httpx.Response(503)
        assert request.url.path.startswith("/route/v1/driving/")
        assert request.url.params["overview"] == "false"
        return httpx.Response(
            200, json={"code": "Ok", "routes": [{"distance": 12_345.0, "duration": 900.0}]}
        )

    return httpx.MockTransport(handle)


def test_routes_fill_the_features_and_are_cached() -> None:
    calls: list[str] = []
    router = RoutingClient("http://router.local/", transport=osrm(calls))
    X = np.full((3, len(FEATURES)), np.nan)
    lat = np.array([52.5000, 52.50001, 52.6000])  # the first two are the same place (cache)
    lon = np.array([13.4000, 13.40001, 13.5000])
    filled = router.fill(X, lat, lon, np.full(3, 52.4), np.full(3, 13.3))
    assert filled == 3 and len(calls) == 2
    assert calls[0] == "/route/v1/driving/13.4,52.5;13.3,52.4"
    assert np.all(X[:, COL["route_m"]] == 12_345.0) and np.all(X[:, COL["route_s"]] == 900.0)


def test_a_failing_router_leaves_features_missing_and_is_left_alone() -> None:
    calls: list[str] = []
    router = RoutingClient("http://router.local", transport=osrm(calls, fail=True))
    X = np.full((20, len(FEATURES)), np.nan)
    lat = 52.0 + np.arange(20) * 0.01  # all different places: no cache hits
    filled = router.fill(X, lat, np.full(20, 13.0), np.full(20, 52.4), np.full(20, 13.3))
    assert filled == 0 and np.isnan(X[:, COL["route_m"]]).all()
    # After a few failures the router is paused instead of being asked for every truck.
    assert len(calls) == FAILURES_BEFORE_PAUSE

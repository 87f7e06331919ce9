"""Small in-process caches that keep database round trips off the ingest hot path.

Each process (uvicorn worker) has its own. Changes made through this process invalidate
them at once; changes made elsewhere (another worker, another host) apply within the TTL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_MISSING = object()


class TTLCache:
    def __init__(self, *, ttl_s: float, max_items: int = 200_000) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            return _MISSING
        return entry[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) >= self.max_items:
            self._data.clear()  # crude, but bounded; a cold cache only costs queries
        self._data[key] = (time.monotonic() + self.ttl_s, value)

    def pop(self, key: Any) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    @staticmethod
    def missing(value: Any) -> bool:
        return value is _MISSING


@dataclass(frozen=True)
class CachedVehicle:
    id: int
    device_id: str


@dataclass
class IngestCache:
    """API keys by hash, vehicles by (supplier, device id), and each vehicle's last good fix."""

    keys: TTLCache = field(default_factory=lambda: TTLCache(ttl_s=30))
    devices: TTLCache = field(default_factory=lambda: TTLCache(ttl_s=60))
    anchors: dict[int, tuple[datetime, float, float]] = field(default_factory=dict)

    def forget_vehicle(self, *, supplier_id: int, device_id: str, vehicle_id: int | None) -> None:
        self.devices.pop((supplier_id, device_id))
        if vehicle_id is not None:
            self.anchors.pop(vehicle_id, None)

    def note_fix(self, vehicle_id: int, at: datetime, lat: float, lon: float) -> None:
        current = self.anchors.get(vehicle_id)
        if current is None or at >= current[0]:
            self.anchors[vehicle_id] = (at, lat, lon)

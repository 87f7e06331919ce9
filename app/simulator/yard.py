"""A site's yard and docks: trucks queue first come, first served for the next free dock.

Unloading takes time in proportion to pallets at the site's rate per dock, so when arrivals
bunch faster than the docks can absorb them, a queue forms in the yard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class YardConfig:
    # From the gate to a dock when one is free: papers at the gate, manoeuvring.
    gate_to_dock_s: tuple[float, float] = (180.0, 480.0)
    # Per truck at the dock whatever the load: opening, strapping, documents.
    setup_s: float = 300.0
    # Spread of the unloading time (standard deviation of a log-normal factor).
    unloading_sd: float = 0.15
    # From the end of unloading to driving off.
    exit_s: tuple[float, float] = (180.0, 480.0)


@dataclass(frozen=True)
class Visit:
    dock: int
    arrived_t: float
    ready_t: float  # could have been at a dock now, had one been free
    dock_start_t: float
    dock_end_t: float
    left_t: float

    @property
    def wait_s(self) -> float:
        return self.dock_start_t - self.ready_t


class Yard:
    def __init__(self, *, dock_count: int, unloading_rate_pph: float, config: YardConfig) -> None:
        self.free_at = [0.0] * dock_count
        self.rate_pph = unloading_rate_pph
        self.config = config

    def unloading_s(self, pallets: int, rng: np.random.Generator) -> float:
        spread = float(np.exp(self.config.unloading_sd * rng.standard_normal()))
        return self.config.setup_s + pallets / self.rate_pph * 3600.0 * spread

    def admit(self, *, arrived_t: float, pallets: int, rng: np.random.Generator) -> Visit:
        """Give the truck the dock that frees first; call in order of arrival."""
        ready = arrived_t + float(rng.uniform(*self.config.gate_to_dock_s))
        dock = min(range(len(self.free_at)), key=lambda k: (self.free_at[k], k))
        start = max(ready, self.free_at[dock])
        end = start + self.unloading_s(pallets, rng)
        self.free_at[dock] = end
        left = end + float(rng.uniform(*self.config.exit_s))
        return Visit(dock, arrived_t, ready, start, end, left)

"""Dock and crew model: Erlang C, an hour-by-hour yard queue, and crews per unloading shift."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.special import gammaln

HOUR = timedelta(hours=1)


# --------------------------------------------------------------------------- Erlang B / C


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """Steady-state M/M/c figures. Rates are per hour, times in hours."""

    arrival_rate: float
    service_rate: float
    servers: int
    offered_load: float  # A = lambda / mu, in Erlangs
    utilisation: float  # rho = A / c; capped at 1 when overloaded
    p_wait: float  # Erlang C: probability an arriving truck has to queue
    mean_wait: float  # Wq, hours; inf when overloaded
    mean_queue: float  # Lq, trucks waiting (not at a dock); inf when overloaded
    overloaded: bool  # rho >= 1: the queue has no steady state

    @property
    def mean_wait_minutes(self) -> float:
        return self.mean_wait * 60.0

    def service_level(self, *, within_hours: float) -> float:
        """P(wait <= t) = 1 - C * exp(-(c*mu - lambda) * t)."""
        if self.overloaded:
            return 0.0
        if self.servers == 0 or self.arrival_rate == 0:
            return 1.0
        decay = self.servers * self.service_rate - self.arrival_rate
        return 1.0 - self.p_wait * math.exp(-decay * within_hours)


def erlang_b(*, offered_load: float, servers: int) -> float:
    """Blocking probability B(c, A) by the recursion B(k) = A B(k-1) / (k + A B(k-1)).

    The recursion never forms A**c / c!, so it stays exact in floating point for
    hundreds of servers where the textbook sum overflows.
    """
    if offered_load < 0 or servers < 0:
        raise ValueError("offered_load and servers must be non-negative")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def _erlang_c_from_b(b: float, *, offered_load: float, servers: int) -> float:
    # C = c B / (c - A (1 - B)), valid for A < c.
    return servers * b / (servers - offered_load * (1.0 - b))


def erlang_c(*, arrival_rate: float, service_rate: float, servers: int) -> QueueMetrics:
    """M/M/c steady state: probability of waiting, Wq, Lq, utilisation; overload flagged."""
    if arrival_rate < 0 or service_rate <= 0 or servers < 0:
        raise ValueError("need arrival_rate >= 0, service_rate > 0, servers >= 0")
    load = arrival_rate / service_rate
    if arrival_rate == 0:
        return QueueMetrics(arrival_rate, service_rate, servers, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    if servers == 0 or load >= servers:
        return QueueMetrics(
            arrival_rate, service_rate, servers, load, 1.0, 1.0, math.inf, math.inf, True
        )
    b = erlang_b(offered_load=load, servers=servers)
    c = _erlang_c_from_b(b, offered_load=load, servers=servers)
    wq = c / (servers * service_rate - arrival_rate)
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        offered_load=load,
        utilisation=load / servers,
        p_wait=c,
        mean_wait=wq,
        mean_queue=arrival_rate * wq,
        overloaded=False,
    )


def min_servers(
    *, arrival_rate: float, service_rate: float, target_wait_hours: float, max_servers: int
) -> int | None:
    """Fewest servers with Erlang C Wq <= target, or None if even max_servers falls short."""
    if arrival_rate <= 0:
        return 0
    load = arrival_rate / service_rate
    b = 1.0
    for c in range(1, max_servers + 1):
        b = load * b / (c + load * b)
        if load >= c:
            continue
        wq = _erlang_c_from_b(b, offered_load=load, servers=c) / (c * service_rate - arrival_rate)
        if wq <= target_wait_hours:
            return c
    return None


# --------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True, slots=True)
class MmcSample:
    """Discrete-event estimate of an M/M/c queue after warm-up. Times in hours."""

    customers: int
    mean_wait: float
    p_wait: float
    utilisation: float


def simulate_mmc(
    *,
    arrival_rate: float,
    service_rate: float,
    servers: int,
    hours: float,
    seed: int = 0,
    warmup_hours: float = 0.0,
) -> MmcSample:
    """FCFS M/M/c by discrete events; the reference the closed forms are checked against.

    With FCFS each truck takes the dock that frees first, so a heap of dock free-times
    is the whole state (Kiefer-Wolfowitz recursion).
    """
    if servers < 1 or arrival_rate <= 0 or service_rate <= 0:
        raise ValueError("need servers >= 1 and positive rates")
    rng = np.random.default_rng(seed)
    total = hours + warmup_hours
    n_guess = int(arrival_rate * total + 10 * math.sqrt(arrival_rate * total) + 10)
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, size=n_guess))
    while arrivals[-1] < total:
        more = np.cumsum(rng.exponential(1.0 / arrival_rate, size=n_guess)) + arrivals[-1]
        arrivals = np.concatenate([arrivals, more])
    arrivals = arrivals[arrivals < total]
    services = rng.exponential(1.0 / service_rate, size=arrivals.size)

    free = [0.0] * servers
    waits = np.empty(arrivals.size)
    busy = 0.0
    for i, (t, s) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        start = max(t, heapq.heappop(free))
        heapq.heappush(free, start + s)
        waits[i] = start - t
        if start >= warmup_hours:
            # Service time counted inside the window only; the tail past `total` is cut.
            busy += min(start + s, total) - start
    kept = arrivals >= warmup_hours
    n = int(kept.sum())
    if n == 0:
        return MmcSample(0, 0.0, 0.0, 0.0)
    w = waits[kept]
    return MmcSample(
        customers=n,
        mean_wait=float(w.mean()),
        p_wait=float((w > 0).mean()),
        utilisation=busy / (servers * hours),
    )


# --------------------------------------------------------------------------- yard queue


class Arrivals(Protocol):
    """One hour of expected arrivals; `eta.forecast.HourForecast` fits."""

    @property
    def hour_start(self) -> datetime: ...

    @property
    def trucks(self) -> float: ...

    @property
    def pallets(self) -> float: ...


@dataclass(frozen=True, slots=True)
class HourlyArrivals:
    hour_start: datetime  # UTC
    trucks: float  # expected trucks arriving in the hour
    pallets: float  # expected pallets arriving in the hour


@dataclass(frozen=True, slots=True)
class HourQueue:
    """Predicted yard state for one hour. Trucks 'waiting' are in the yard, not at a dock."""

    hour_start: datetime
    arrivals: float  # expected trucks arriving
    servers: int  # min(docks, crews)
    crews: int
    busy_docks: float  # time-average expected docks unloading
    dock_utilisation: float  # busy_docks / docks
    crew_utilisation: float  # busy_docks / servers (0 when no servers)
    trucks_served: float  # expected trucks finishing unloading in the hour
    mean_waiting: float  # time-average expected trucks waiting in the hour
    waiting_at_end: float  # expected trucks waiting at hour end: the backlog carried over
    in_yard_at_end: float  # expected trucks waiting or unloading at hour end
    mean_wait_minutes: float  # expected wait before a dock for a truck arriving this hour
    p_wait: float  # probability a truck arriving this hour has to wait


def _service_rates(
    arrivals: Sequence[Arrivals], *, rate_per_crew: float, default_pallets_per_truck: float
) -> np.ndarray:
    """Trucks per hour one crew at one dock unloads: rate / mean pallets per truck that hour."""
    out = np.empty(len(arrivals))
    for i, a in enumerate(arrivals):
        ppt = a.pallets / a.trucks if a.trucks > 1e-9 else default_pallets_per_truck
        out[i] = rate_per_crew / max(ppt, 1e-9)
    return out


def simulate_yard(
    arrivals: Sequence[Arrivals],
    *,
    docks: int,
    crews_per_hour: Sequence[int],
    rate_per_crew: float,
    default_pallets_per_truck: float = 20.0,
    initial_in_yard: int = 0,
) -> list[HourQueue]:
    """Forward transient queue, hour by hour, carrying the backlog from one hour to the next.

    Model: within an hour trucks arrive as a Poisson stream at the forecast rate and unload
    in exponential time at rate `rate_per_crew / pallets per truck` on each of
    min(docks, crews) servers: an M(t)/M(t)/c(t) queue. The distribution of trucks in the
    yard is carried exactly through each hour by uniformisation of the birth-death chain,
    so a busy hour leaves its backlog to the next, an overloaded hour builds a finite queue
    instead of the infinite steady-state one, and with constant rates over a long horizon
    the figures converge to Erlang C. The state space is truncated far beyond any
    plausible queue (arrivals beyond it are dropped, which is negligible by construction).
    """
    n_hours = len(arrivals)
    if len(crews_per_hour) != n_hours:
        raise ValueError("crews_per_hour must have one entry per hour of arrivals")
    if docks < 0 or rate_per_crew <= 0:
        raise ValueError("need docks >= 0 and rate_per_crew > 0")
    lam = np.array([max(a.trucks, 0.0) for a in arrivals], dtype=float)
    mu = _service_rates(
        arrivals, rate_per_crew=rate_per_crew, default_pallets_per_truck=default_pallets_per_truck
    )
    crews = np.array([max(int(c), 0) for c in crews_per_hour])
    servers = np.minimum(crews, docks)

    total = float(lam.sum()) + initial_in_yard
    size = int(docks + initial_in_yard + total + 8 * math.sqrt(total + 1) + 30)
    n = np.arange(size + 1)
    p = np.zeros(size + 1)
    p[min(initial_in_yard, size)] = 1.0

    starts: list[np.ndarray] = []
    results: list[dict[str, float]] = []
    for h in range(n_hours):
        starts.append(p)
        p_end, p_int = _transient_hour(
            p, lam=float(lam[h]), mu=float(mu[h]), c=int(servers[h]), n=n
        )
        c = int(servers[h])
        queue = np.maximum(n - c, 0)
        busy = float(p_int @ np.minimum(n, c))
        results.append(
            {
                "busy": busy,
                "served": busy * float(mu[h]),
                "mean_waiting": float(p_int @ queue),
                "waiting_end": float(p_end @ queue),
                "in_yard_end": float(p_end @ n),
                # PASTA: a truck arriving at t sees the time-t distribution.
                "p_wait": float(p_int[c:].sum()) if c > 0 else 1.0,
                "wait_h": (float(p_int @ np.maximum(n - c + 1, 0)) / (c * float(mu[h])))
                if c > 0
                else math.nan,
            }
        )
        p = p_end

    # A truck arriving in an unstaffed hour waits until the next staffed hour starts, then
    # behind the queue found there; with no staffed hour ahead the wait is unbounded.
    out: list[HourQueue] = []
    for h, (a, r) in enumerate(zip(arrivals, results, strict=True)):
        c = int(servers[h])
        wait_h = r["wait_h"]
        if c == 0:
            nxt = next((k for k in range(h + 1, n_hours) if servers[k] > 0), None)
            if nxt is None:
                wait_h = math.inf
            else:
                ck = int(servers[nxt])
                ahead = float(starts[nxt] @ np.maximum(n - ck + 1, 0)) / (ck * float(mu[nxt]))
                wait_h = (nxt - h - 0.5) + ahead
        out.append(
            HourQueue(
                hour_start=a.hour_start,
                arrivals=float(lam[h]),
                servers=c,
                crews=int(crews[h]),
                busy_docks=r["busy"],
                dock_utilisation=r["busy"] / docks if docks else 0.0,
                crew_utilisation=r["busy"] / c if c else 0.0,
                trucks_served=r["served"],
                mean_waiting=r["mean_waiting"],
                waiting_at_end=r["waiting_end"],
                in_yard_at_end=r["in_yard_end"],
                mean_wait_minutes=wait_h * 60.0,
                p_wait=r["p_wait"] if lam[h] > 0 or c == 0 else 0.0,
            )
        )
    return out


def _transient_hour(
    p0: np.ndarray, *, lam: float, mu: float, c: int, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distribution after one hour and its time integral over the hour, by uniformisation.

    p(1) = sum_k Pois(k; L) v_k and int_0^1 p(t) dt = sum_k P(Pois(L) > k) v_k / L, with
    v_k = p0 P^k and P = I + Q / L the uniformised chain (L = lam + c mu).
    """
    size = n.size - 1
    birth = np.where(n < size, lam, 0.0)
    death = mu * np.minimum(n, c)
    rate = lam + mu * c
    if rate <= 0:
        return p0.copy(), p0.copy()
    stay = 1.0 - (birth + death) / rate
    up = birth / rate
    down = death / rate
    k_max = int(rate + 12 * math.sqrt(rate) + 20)
    # Poisson weights in log space: rate can be large enough for exp(-rate) to underflow.
    k = np.arange(k_max + 1)
    logw = -rate + k * math.log(rate) - gammaln(k + 1)
    w = np.exp(logw)
    tail = np.clip(1.0 - np.cumsum(w), 0.0, None)  # P(Pois > k)
    v = p0.copy()
    p_end = w[0] * v
    p_int = tail[0] * v
    for j in range(1, k_max + 1):
        nxt = stay * v
        nxt[1:] += (up * v)[:-1]
        nxt[:-1] += (down * v)[1:]
        v = nxt
        p_end += w[j] * v
        p_int += tail[j] * v
    p_end /= p_end.sum()
    p_int /= rate
    return p_end, p_int


# --------------------------------------------------------------------------- shifts


@dataclass(frozen=True, slots=True)
class Shift:
    """An unloading shift by local wall-clock hours; end <= start means it runs past midnight."""

    name: str
    start_hour: int  # local hour 0-23 the shift begins
    end_hour: int  # local hour 0-24 the shift ends (exclusive)
    crew_hour_cost: float = 1.0


@dataclass(frozen=True, slots=True)
class ShiftOccurrence:
    """One dated instance of a shift within the horizon, resolved to forecast hour indices."""

    shift: Shift
    local_date: date  # the local date the shift starts on
    hours: tuple[int, ...]  # indices into the arrivals sequence, in order

    @property
    def key(self) -> tuple[str, date]:
        return (self.shift.name, self.local_date)


@dataclass(frozen=True, slots=True)
class ShiftStaffing:
    name: str
    local_date: date
    start: datetime  # UTC start of the first covered forecast hour
    end: datetime  # UTC end of the last covered forecast hour
    crews: int
    crew_hours: float
    cost: float
    worst_wait_minutes: float  # highest hourly Erlang C wait during the shift with these crews
    meets_target: bool  # False if the target is out of reach even at the cap


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    shifts: list[ShiftStaffing]
    queue: list[HourQueue]  # predicted by `simulate_yard` with the recommended crews
    total_cost: float
    unmet_hours: list[datetime]  # hours whose target no staffing within the caps can meet


def shift_occurrences(
    hour_starts: Sequence[datetime], *, shifts: Sequence[Shift], tz: ZoneInfo
) -> list[ShiftOccurrence]:
    """Assign each forecast hour to the shift occurrences covering it, by local wall-clock hour.

    Working from each UTC hour to its local hour (never the other way) is what makes DST
    safe: on the spring-forward day the missing local hour simply has no UTC hour, and on
    the fall-back day the repeated local hour appears twice and both copies belong to the
    shift that covers that wall-clock hour.
    """
    for s in shifts:
        if not (0 <= s.start_hour <= 23 and 0 <= s.end_hour <= 24):
            raise ValueError(f"shift {s.name!r}: hours must be within 0-24")
    found: dict[tuple[str, date], list[int]] = {}
    by_name = {s.name: s for s in shifts}
    if len(by_name) != len(shifts):
        raise ValueError("shift names must be unique")
    for i, t in enumerate(hour_starts):
        local = t.astimezone(tz)
        hour, day = local.hour, local.date()
        for s in shifts:
            if s.start_hour < s.end_hour:
                if s.start_hour <= hour < s.end_hour:
                    found.setdefault((s.name, day), []).append(i)
            elif hour >= s.start_hour:
                found.setdefault((s.name, day), []).append(i)
            elif hour < s.end_hour:
                found.setdefault((s.name, day - timedelta(days=1)), []).append(i)
    occ = [
        ShiftOccurrence(shift=by_name[name], local_date=d, hours=tuple(idx))
        for (name, d), idx in found.items()
    ]
    occ.sort(key=lambda o: (o.hours[0], o.shift.name))
    return occ


def _hourly_need(
    arrivals: Sequence[Arrivals],
    *,
    mu: np.ndarray,
    target_wait_hours: float,
    cap: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fewest servers per hour meeting the target, and whether the cap allowed it."""
    need = np.zeros(len(arrivals), dtype=int)
    met = np.ones(len(arrivals), dtype=bool)
    for h, a in enumerate(arrivals):
        c = min_servers(
            arrival_rate=max(a.trucks, 0.0),
            service_rate=float(mu[h]),
            target_wait_hours=target_wait_hours,
            max_servers=cap,
        )
        if c is None:
            need[h], met[h] = cap, False
        else:
            need[h] = c
    return need, met


def recommend_crews(
    arrivals_per_hour: Sequence[Arrivals],
    *,
    shifts: Sequence[Shift],
    docks: int,
    rate_per_crew: float,
    target_wait_minutes: float,
    max_crews: int,
    tz: ZoneInfo,
    min_crews: int = 0,
    default_pallets_per_truck: float = 20.0,
) -> StaffingPlan:
    """Cheapest crews per shift occurrence keeping the Erlang C wait under target every hour.

    Each hour needs the fewest servers whose steady-state Erlang C wait (arrival rate and
    pallets per truck from that hour's forecast) is within target; a crew beyond the number
    of docks adds nothing, so needs are capped at min(docks, max_crews). Shift occurrences
    covering an hour add their crews; the cheapest cover is an integer programme, solved
    exactly (shifts are runs of consecutive hours, so it is an interval covering problem and
    small). With non-overlapping shifts it reduces to the busiest hour of each shift.
    """
    if not arrivals_per_hour:
        return StaffingPlan([], [], 0.0, [])
    cap = min(docks, max_crews)
    hour_starts = [a.hour_start for a in arrivals_per_hour]
    mu = _service_rates(
        arrivals_per_hour,
        rate_per_crew=rate_per_crew,
        default_pallets_per_truck=default_pallets_per_truck,
    )
    need, met = _hourly_need(
        arrivals_per_hour, mu=mu, target_wait_hours=target_wait_minutes / 60.0, cap=cap
    )
    occ = shift_occurrences(hour_starts, shifts=shifts, tz=tz)
    n_hours = len(arrivals_per_hour)
    covered = np.zeros(n_hours, dtype=bool)
    for o in occ:
        covered[list(o.hours)] = True
    # Hours no shift covers cannot be staffed: they are reported, not constrained.
    met &= covered | (need == 0)
    lo = min(min_crews, max_crews)
    crews_by_occ = _cheapest_cover(occ, need=np.where(covered, need, 0), lo=lo, hi=max_crews)

    per_hour = np.zeros(n_hours, dtype=int)
    for o, k in zip(occ, crews_by_occ, strict=True):
        per_hour[list(o.hours)] += k
    queue = simulate_yard(
        arrivals_per_hour,
        docks=docks,
        crews_per_hour=per_hour.tolist(),
        rate_per_crew=rate_per_crew,
        default_pallets_per_truck=default_pallets_per_truck,
    )
    plans: list[ShiftStaffing] = []
    for o, k in zip(occ, crews_by_occ, strict=True):
        waits = [
            erlang_c(
                arrival_rate=max(arrivals_per_hour[h].trucks, 0.0),
                service_rate=float(mu[h]),
                servers=int(min(per_hour[h], docks)),
            ).mean_wait_minutes
            for h in o.hours
        ]
        crew_hours = float(k * len(o.hours))
        plans.append(
            ShiftStaffing(
                name=o.shift.name,
                local_date=o.local_date,
                start=hour_starts[o.hours[0]].astimezone(UTC),
                end=hour_starts[o.hours[-1]].astimezone(UTC) + HOUR,
                crews=int(k),
                crew_hours=crew_hours,
                cost=crew_hours * o.shift.crew_hour_cost,
                worst_wait_minutes=max(waits),
                meets_target=bool(all(met[h] for h in o.hours)),
            )
        )
    return StaffingPlan(
        shifts=plans,
        queue=queue,
        total_cost=float(sum(s.cost for s in plans)),
        unmet_hours=[hour_starts[h] for h in range(n_hours) if not met[h]],
    )


def _cheapest_cover(
    occ: Sequence[ShiftOccurrence], *, need: np.ndarray, lo: int, hi: int
) -> list[int]:
    """min sum cost_o * hours_o * x_o  s.t.  sum_{o covers h} x_o >= need_h,  lo <= x_o <= hi."""
    if not occ:
        return []
    covering: list[list[int]] = [[] for _ in range(need.size)]
    for j, o in enumerate(occ):
        for h in o.hours:
            covering[h].append(j)
    if all(len(c) <= 1 for c in covering):
        # No overlaps: each occurrence just covers its busiest hour.
        return [max(lo, max(int(need[h]) for h in o.hours)) for o in occ]
    rows = [h for h in range(need.size) if need[h] > 0]
    cost = np.array([o.shift.crew_hour_cost * len(o.hours) for o in occ], dtype=float)
    if not rows:
        return [lo] * len(occ)
    a = np.zeros((len(rows), len(occ)))
    for r, h in enumerate(rows):
        a[r, covering[h]] = 1.0
    res = milp(
        c=cost,
        constraints=LinearConstraint(a, lb=need[rows].astype(float), ub=np.inf),
        integrality=np.ones(len(occ)),
        bounds=Bounds(lb=lo, ub=hi),
    )
    if res.x is None:
        raise RuntimeError(f"crew cover has no solution: {res.message}")
    return [int(round(x)) for x in res.x]


def what_if(
    arrivals: Sequence[Arrivals],
    crews_per_shift: Mapping[str | tuple[str, date], int],
    *,
    shifts: Sequence[Shift],
    docks: int,
    rate_per_crew: float,
    tz: ZoneInfo,
    default_pallets_per_truck: float = 20.0,
    initial_in_yard: int = 0,
) -> list[HourQueue]:
    """Predicted yard queue per hour for a planner's crews.

    `crews_per_shift` maps a shift name to crews for every occurrence, or (name, local start
    date) to crews for one occurrence; the dated key wins. Shifts left out get no crews.
    """
    occ = shift_occurrences([a.hour_start for a in arrivals], shifts=shifts, tz=tz)
    per_hour = np.zeros(len(arrivals), dtype=int)
    for o in occ:
        k = crews_per_shift.get(o.key, crews_per_shift.get(o.shift.name, 0))
        per_hour[list(o.hours)] += int(k)
    return simulate_yard(
        arrivals,
        docks=docks,
        crews_per_hour=per_hour.tolist(),
        rate_per_crew=rate_per_crew,
        default_pallets_per_truck=default_pallets_per_truck,
        initial_in_yard=initial_in_yard,
    )

"""Arrivals forecast per site and hour, with an 80% band, plus the naive baseline and backtest."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import poisson

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
HOURS_PER_WEEK = 168
# Standard normal quantile of 0.9: P10 and P90 sit this many sigmas from the median.
Z90 = 1.2815515655446004
# Beyond this many uncertain trucks in one hour the exact convolution is replaced by the
# normal approximation; by then the variance is large and the two agree to a truck.
EXACT_MAX_ITEMS = 400


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class TruckOnRoad:
    """A departed truck with its current ETA quantiles (absolute UTC times)."""

    delivery_id: str
    pallets: float
    eta_p10: datetime
    eta_p50: datetime
    eta_p90: datetime


@dataclass(frozen=True, slots=True)
class BookedDelivery:
    """A booked delivery whose truck has not departed yet."""

    delivery_id: str
    supplier_id: str
    slot_start: datetime
    slot_end: datetime
    pallets: float


@dataclass(frozen=True, slots=True)
class SupplierStats:
    """Plan-versus-fact for one supplier: lateness at the gate against slot start, no-shows.

    `n` counts booked deliveries with a known outcome; the lateness figures come from the
    ones that arrived, about n * (1 - no_show_rate) of them.
    """

    supplier_id: str
    mean_lateness_min: float
    std_lateness_min: float
    no_show_rate: float
    n: int


@dataclass(frozen=True, slots=True)
class LatenessPrior:
    """What a supplier with no history is assumed to do, and how many deliveries it weighs."""

    mean_lateness_min: float = 0.0
    std_lateness_min: float = 30.0
    no_show_rate: float = 0.05
    weight: float = 10.0  # pseudo-observations: with n = weight, history and prior count equally


@dataclass(frozen=True, slots=True)
class UnbookedFlow:
    """Trucks that turn up without a booking, as a mean count per local hour of week.

    Index 0 is Monday 00:00-01:00 in the site's time zone, index 167 Sunday 23:00-24:00.
    """

    trucks_by_hour_of_week: tuple[float, ...]
    pallets_mean: float
    pallets_std: float = 0.0
    # Trucks booked at short notice: mean booked arrivals per local hour of week, and the
    # booking leads (hours from booking to arrival) seen in history. A forecast hour ℓ hours
    # ahead expects those of its hour of week that are usually booked less than ℓ ahead —
    # bookings that do not exist yet when the forecast is made.
    booked_by_hour_of_week: tuple[float, ...] = ()
    booking_lead_hours: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.trucks_by_hour_of_week) != HOURS_PER_WEEK:
            raise ValueError("trucks_by_hour_of_week needs 168 entries")
        if self.booked_by_hour_of_week and len(self.booked_by_hour_of_week) != HOURS_PER_WEEK:
            raise ValueError("booked_by_hour_of_week needs 168 entries")

    def not_yet_booked_share(self, lead_hours: float) -> float:
        """Share of booked arrivals whose booking came less than `lead_hours` before."""
        if not self.booking_lead_hours:
            return 0.0
        leads = self.booking_lead_hours
        return float(np.searchsorted(leads, lead_hours, side="left")) / len(leads)


@dataclass(frozen=True, slots=True)
class HourForecast:
    """Expected arrivals in one hour and the 80% band (P10-P90) around them."""

    hour_start: datetime  # UTC
    trucks: float
    pallets: float
    trucks_p10: float
    trucks_p90: float
    pallets_p10: float
    pallets_p90: float


# --------------------------------------------------------------------------- distributions


def _minutes(t: datetime, origin: datetime) -> float:
    return (t - origin).total_seconds() / 60.0


def _split_normal_cdf(
    x: np.ndarray, *, p10: np.ndarray | float, p50: np.ndarray | float, p90: np.ndarray | float
) -> np.ndarray:
    """CDF through three quantiles: a normal below the median and another above it.

    Each half is scaled so F(P10) = 0.1, F(P50) = 0.5, F(P90) = 0.9 exactly, which keeps an
    asymmetric ETA window asymmetric and gives Gaussian tails beyond it. Quantiles given as
    column vectors (shape (n, 1)) give one CDF row per truck.
    """
    lo = np.maximum(np.subtract(p50, p10), 1e-6) / Z90
    hi = np.maximum(np.subtract(p90, p50), 1e-6) / Z90
    z = np.where(x < p50, (x - p50) / lo, (x - p50) / hi)
    return ndtr(z)


def shrink_stats(stats: SupplierStats | None, prior: LatenessPrior) -> tuple[float, float, float]:
    """Lateness mean and std (minutes) and no-show rate, pulled towards the prior when n is small.

    Credibility weighting with `prior.weight` pseudo-observations; variances are pooled
    rather than standard deviations so a supplier with two identical deliveries does not
    get a zero-width window.
    """
    if stats is None or stats.n <= 0:
        return prior.mean_lateness_min, prior.std_lateness_min, prior.no_show_rate
    w = prior.weight
    n_late = stats.n * (1.0 - stats.no_show_rate)
    mean = (n_late * stats.mean_lateness_min + w * prior.mean_lateness_min) / (n_late + w)
    var = (n_late * stats.std_lateness_min**2 + w * prior.std_lateness_min**2) / (n_late + w)
    no_show = (stats.n * stats.no_show_rate + w * prior.no_show_rate) / (stats.n + w)
    return mean, math.sqrt(var), no_show


def _bin_probabilities(
    cdf_edges: np.ndarray, cdf_now: np.ndarray | float, *, show: np.ndarray | float
) -> np.ndarray:
    """Arrival probability per bin given the truck has not arrived by now.

    Rows are trucks: `cdf_edges` has shape (trucks, bins + 1), `cdf_now` and `show` one
    value per truck (or a scalar). A booked truck still absent at issue time is more likely
    a no-show than it was at booking: P(show | absent) = (1 - r) S / ((1 - r) S + r), with
    S = P(T > now | show). Mass before `now` is cut and the rest renormalised. A truck whose
    whole window is already past is taken as imminent: its mass goes to the first bin.
    """
    cdf_edges = np.atleast_2d(cdf_edges)
    n = cdf_edges.shape[0]
    survive = np.broadcast_to(1.0 - np.asarray(cdf_now, dtype=float), (n,))
    show = np.broadcast_to(np.asarray(show, dtype=float), (n,))
    gone = survive < 1e-9
    safe = np.where(gone, 1.0, survive)
    posterior_show = show * safe / (show * safe + (1.0 - show))
    cond = np.clip((cdf_edges - (1.0 - safe)[:, None]) / safe[:, None], 0.0, 1.0)
    out = posterior_show[:, None] * np.diff(cond, axis=1)
    if gone.any() and out.shape[1]:
        out[gone] = 0.0
        out[gone, 0] = show[gone]
    return out


def hour_of_week(t: datetime, tz: tzinfo) -> int:
    local = t.astimezone(tz)
    return local.weekday() * 24 + local.hour


# --------------------------------------------------------------------------- forecast


@dataclass(frozen=True, slots=True)
class _Items:
    """Per-truck arrival probabilities over the bins (rows) and their pallets."""

    probs: np.ndarray  # shape (trucks, hours)
    pallets: np.ndarray  # shape (trucks,)


def _hour_edges(issued_at: datetime, hours: int) -> list[datetime]:
    t0 = issued_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [t0 + k * HOUR for k in range(hours + 1)]


def _items(
    *,
    issued_at: datetime,
    edges: Sequence[datetime],
    trucks_on_road: Sequence[TruckOnRoad],
    booked: Sequence[BookedDelivery],
    supplier_stats: Mapping[str, SupplierStats],
    prior: LatenessPrior,
) -> _Items:
    x = np.array([_minutes(e, issued_at) for e in edges])
    n_bins = len(edges) - 1
    blocks: list[np.ndarray] = []
    if trucks_on_road:
        q = np.array(
            [
                [_minutes(v, issued_at) for v in (t.eta_p10, t.eta_p50, t.eta_p90)]
                for t in trucks_on_road
            ]
        )
        bad = ~((q[:, 0] <= q[:, 1]) & (q[:, 1] <= q[:, 2]))
        if bad.any():
            first = trucks_on_road[int(np.argmax(bad))]
            raise ValueError(f"delivery {first.delivery_id}: ETA quantiles out of order")
        kw = {"p10": q[:, :1], "p50": q[:, 1:2], "p90": q[:, 2:]}
        cdf = _split_normal_cdf(x[None, :], **kw)
        now = _split_normal_cdf(np.zeros((1, 1)), **kw)[:, 0]
        blocks.append(_bin_probabilities(cdf, now, show=1.0))
    if booked:
        shrunk = np.array([shrink_stats(supplier_stats.get(b.supplier_id), prior) for b in booked])
        mean, std, no_show = shrunk[:, 0], shrunk[:, 1], shrunk[:, 2]
        centre = np.array([_minutes(b.slot_start, issued_at) for b in booked]) + mean
        sd = np.maximum(std, 1.0)
        cdf = ndtr((x[None, :] - centre[:, None]) / sd[:, None])
        now = ndtr((0.0 - centre) / sd)
        blocks.append(_bin_probabilities(cdf, now, show=1.0 - no_show))
    probs = np.vstack(blocks) if blocks else np.zeros((0, n_bins))
    pallets = [t.pallets for t in trucks_on_road] + [b.pallets for b in booked]
    return _Items(probs=probs, pallets=np.asarray(pallets, dtype=float))


def _unbooked_rates(
    *, issued_at: datetime, edges: Sequence[datetime], flow: UnbookedFlow | None, tz: tzinfo
) -> np.ndarray:
    rates = np.zeros(len(edges) - 1)
    if flow is None:
        return rates
    for k in range(rates.size):
        # Only the part of the first hour still ahead of the issue time can bring trucks.
        ahead = (edges[k + 1] - max(edges[k], issued_at)) / HOUR
        how = hour_of_week(edges[k], tz)
        rate = flow.trucks_by_hour_of_week[how]
        if flow.booked_by_hour_of_week:
            lead = (edges[k] + HOUR / 2 - issued_at) / HOUR
            rate += flow.booked_by_hour_of_week[how] * flow.not_yet_booked_share(lead)
        rates[k] = rate * max(ahead, 0.0)
    return rates


def _count_quantiles(p: np.ndarray, lam: float, qs: Sequence[float]) -> list[float]:
    """Quantiles of a Poisson-binomial (Bernoullis p) plus an independent Poisson(lam).

    Exact by convolution when it is cheap; otherwise the normal approximation with
    continuity correction, P(N <= k) ~ Phi((k + 0.5 - mean) / sd). Quantiles are the
    smallest count whose CDF reaches q, so for small counts the P10-P90 band holds at
    least 80% of the mass, usually more: counts cannot split a probability atom.
    """
    p = p[p > 1e-12]
    mean = float(p.sum()) + lam
    var = float((p * (1.0 - p)).sum()) + lam
    if var <= 0:
        return [round(mean)] * len(qs)
    if p.size > EXACT_MAX_ITEMS:
        sd = math.sqrt(var)
        z = [float(ndtri(q)) for q in qs]
        return [max(0.0, float(math.ceil(mean + zi * sd - 0.5))) for zi in z]
    pmf = np.ones(1)
    for pi in p:
        nxt = np.zeros(pmf.size + 1)
        nxt[:-1] += pmf * (1.0 - pi)
        nxt[1:] += pmf * pi
        pmf = nxt
    if lam > 0:
        top = int(lam + 12 * math.sqrt(lam) + 12)
        pmf = np.convolve(pmf, poisson.pmf(np.arange(top + 1), lam))
    cdf = np.cumsum(pmf)
    # A hair of slack so a CDF that reaches q only up to rounding still counts.
    return [float(np.searchsorted(cdf, q - 1e-12)) for q in qs]


def _pallet_quantiles(
    items: _Items,
    rates: np.ndarray,
    flow: UnbookedFlow | None,
    *,
    qs: Sequence[float],
    samples: int,
    seed: int,
) -> np.ndarray:
    """Monte Carlo quantiles of pallets per hour, shape (len(qs), hours); fixed seed.

    Each truck lands in at most one hour (or none), drawn from its row of probabilities, so
    the draw is joint across hours and exact for the model; unbooked trucks are Poisson with
    gamma-distributed pallets (the sum of k gammas is one gamma, so no per-truck loop).
    With the default 2000 draws the standard error of a P10/P90 is about 2% of the band
    width; the expected pallets are computed exactly, not from the draws.
    """
    n_bins = rates.size
    rng = np.random.default_rng(seed)
    totals = np.zeros((samples, n_bins))
    if items.probs.shape[0]:
        cum = np.cumsum(items.probs, axis=1)
        u = rng.random((samples, items.probs.shape[0]))
        flat = np.zeros(samples * (n_bins + 1))
        base = np.arange(samples) * (n_bins + 1)
        for i in range(items.probs.shape[0]):
            # Index n_bins means "not within the horizon" (later, or a no-show).
            k = np.searchsorted(cum[i], u[:, i], side="right")
            np.add.at(flat, base + k, items.pallets[i])
        totals += flat.reshape(samples, n_bins + 1)[:, :n_bins]
    if flow is not None and rates.sum() > 0:
        counts = rng.poisson(rates, size=(samples, n_bins))
        if flow.pallets_std > 0 and flow.pallets_mean > 0:
            shape = (flow.pallets_mean / flow.pallets_std) ** 2
            scale = flow.pallets_std**2 / flow.pallets_mean
            g = rng.gamma(np.maximum(counts * shape, 1e-12), scale)
            totals += np.where(counts > 0, g, 0.0)
        else:
            totals += counts * flow.pallets_mean
    return np.quantile(totals, qs, axis=0, method="inverted_cdf")


def forecast_arrivals(
    *,
    issued_at: datetime,
    trucks_on_road: Sequence[TruckOnRoad] = (),
    booked: Sequence[BookedDelivery] = (),
    supplier_stats: Mapping[str, SupplierStats] | None = None,
    unbooked: UnbookedFlow | None = None,
    tz: tzinfo = UTC,
    hours: int = 72,
    prior: LatenessPrior | None = None,
    pallet_samples: int = 2000,
    seed: int = 0,
) -> list[HourForecast]:
    """Expected trucks and pallets per hour for the next `hours`, with P10/P90 bands.

    Hours start at `issued_at` floored to the hour (UTC); everything is conditioned on what
    is known at `issued_at`: trucks listed have not arrived yet. Trucks on the road spread
    over the hours by a split-normal through their ETA quantiles; booked trucks by a normal
    around slot start plus the supplier's lateness (shrunk to `prior`), weighted by the
    chance they show; unbooked trucks are Poisson at the hour-of-week mean (local `tz`).
    The truck band is exact (or normal for very busy hours); the pallet band is Monte
    Carlo with a fixed seed, so the same inputs always give the same forecast.
    """
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    prior = prior or LatenessPrior()
    edges = _hour_edges(issued_at, hours)
    items = _items(
        issued_at=issued_at,
        edges=edges,
        trucks_on_road=trucks_on_road,
        booked=booked,
        supplier_stats=supplier_stats or {},
        prior=prior,
    )
    rates = _unbooked_rates(issued_at=issued_at, edges=edges, flow=unbooked, tz=tz)
    unbooked_pallets = unbooked.pallets_mean if unbooked is not None else 0.0
    trucks = items.probs.sum(axis=0) + rates
    pallets = items.pallets @ items.probs + rates * unbooked_pallets
    qs = (0.1, 0.9)
    pq = _pallet_quantiles(items, rates, unbooked, qs=qs, samples=pallet_samples, seed=seed)
    out: list[HourForecast] = []
    for k in range(hours):
        t10, t90 = _count_quantiles(items.probs[:, k], float(rates[k]), qs)
        out.append(
            HourForecast(
                hour_start=edges[k],
                trucks=float(trucks[k]),
                pallets=float(pallets[k]),
                trucks_p10=t10,
                trucks_p90=t90,
                pallets_p10=float(pq[0, k]),
                pallets_p90=float(pq[1, k]),
            )
        )
    return out


def naive_forecast(
    history_arrival_times: Iterable[datetime],
    *,
    start: datetime,
    hours: int,
    history_pallets: Iterable[float] | None = None,
) -> list[HourForecast]:
    """Same hour last week: the baseline a forecast has to beat.

    Its band is a Poisson around last week's count (the plainest honest spread for a count
    with no other information); pallets scale with it by last week's pallets per truck.
    """
    times = list(history_arrival_times)
    pal = list(history_pallets) if history_pallets is not None else [0.0] * len(times)
    if len(pal) != len(times):
        raise ValueError("history_pallets must match history_arrival_times")
    edges = _hour_edges(start, hours)
    t0 = edges[0]
    counts = np.zeros(hours)
    pallets = np.zeros(hours)
    for t, pl in zip(times, pal, strict=True):
        k = math.floor((t + WEEK - t0) / HOUR)
        if 0 <= k < hours:
            counts[k] += 1
            pallets[k] += pl
    out: list[HourForecast] = []
    for k in range(hours):
        c = counts[k]
        lo, hi = (float(poisson.ppf(0.1, c)), float(poisson.ppf(0.9, c))) if c > 0 else (0.0, 0.0)
        per = pallets[k] / c if c > 0 else 0.0
        out.append(
            HourForecast(
                hour_start=edges[k],
                trucks=float(c),
                pallets=float(pallets[k]),
                trucks_p10=lo,
                trucks_p90=hi,
                pallets_p10=lo * per,
                pallets_p90=hi * per,
            )
        )
    return out


# --------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class EtaSnapshot:
    """ETA quantiles as served at `issued_at` (absolute UTC times)."""

    issued_at: datetime
    p10: datetime
    p50: datetime
    p90: datetime


@dataclass(frozen=True, slots=True)
class HistoricDelivery:
    """One past delivery with its outcome, for replaying forecasts.

    `slot_start` None means the truck came unbooked. `arrived_at` None means a no-show.
    `booked_at` / `departed_at` None mean "known from the start" / "departure unknown".
    """

    delivery_id: str
    supplier_id: str
    pallets: float
    slot_start: datetime | None
    slot_end: datetime | None
    arrived_at: datetime | None
    booked_at: datetime | None = None
    departed_at: datetime | None = None
    eta_snapshots: tuple[EtaSnapshot, ...] = field(default=())


def _outcome_known_at(d: HistoricDelivery, no_show_grace: timedelta) -> datetime | None:
    if d.arrived_at is not None:
        return d.arrived_at
    if d.slot_end is not None:
        return d.slot_end + no_show_grace
    return None


def supplier_stats_from_history(
    deliveries: Iterable[HistoricDelivery],
    *,
    as_of: datetime,
    no_show_grace: timedelta = timedelta(hours=6),
) -> dict[str, SupplierStats]:
    """Lateness and no-show stats per supplier from booked deliveries settled before `as_of`.

    A delivery counts only once its outcome was known: at arrival, or for a no-show once
    its slot end plus `no_show_grace` had passed. Nothing later leaks in.
    """
    late: dict[str, list[float]] = {}
    shows: dict[str, list[bool]] = {}
    for d in deliveries:
        if d.slot_start is None:
            continue
        known = _outcome_known_at(d, no_show_grace)
        if known is None or known >= as_of:
            continue
        shows.setdefault(d.supplier_id, []).append(d.arrived_at is not None)
        if d.arrived_at is not None:
            late.setdefault(d.supplier_id, []).append(_minutes(d.arrived_at, d.slot_start))
    out: dict[str, SupplierStats] = {}
    for sid, s in shows.items():
        lat = np.array(late.get(sid, []))
        out[sid] = SupplierStats(
            supplier_id=sid,
            mean_lateness_min=float(lat.mean()) if lat.size else 0.0,
            std_lateness_min=float(lat.std(ddof=1)) if lat.size > 1 else 0.0,
            no_show_rate=1.0 - float(np.mean(s)),
            n=len(s),
        )
    return out


def prior_from_stats(
    stats: Mapping[str, SupplierStats],
    *,
    weight: float = 10.0,
    default: LatenessPrior | None = None,
) -> LatenessPrior:
    """Pool all suppliers into the prior a newcomer is shrunk to; `default` if no history."""
    default = default or LatenessPrior(weight=weight)
    n = sum(s.n for s in stats.values())
    if n == 0:
        return default
    arrived = [(s.n * (1.0 - s.no_show_rate), s) for s in stats.values()]
    n_late = sum(a for a, _ in arrived)
    if n_late > 0:
        mean = sum(a * s.mean_lateness_min for a, s in arrived) / n_late
        # Total variance: within-supplier spread plus the spread of supplier means.
        var = (
            sum(a * (s.std_lateness_min**2 + (s.mean_lateness_min - mean) ** 2) for a, s in arrived)
            / n_late
        )
        std = math.sqrt(var) if var > 0 else default.std_lateness_min
    else:
        mean, std = default.mean_lateness_min, default.std_lateness_min
    no_show = sum(s.n * s.no_show_rate for s in stats.values()) / n
    return LatenessPrior(
        mean_lateness_min=mean, std_lateness_min=std, no_show_rate=no_show, weight=weight
    )


def unbooked_flow_from_history(
    arrival_times: Sequence[datetime],
    *,
    as_of: datetime,
    observed_since: datetime,
    tz: tzinfo = UTC,
    pallets: Sequence[float] | None = None,
    weeks: int = 4,
) -> UnbookedFlow | None:
    """Mean unbooked arrivals per local hour of week over the last `weeks` observed weeks.

    Each hour of week is divided by how many times it occurred in the window, so a
    window shorter than a week still gives honest means where it has data (and zero,
    not a guess, where it has none). None when the window is empty.
    """
    start = max(as_of - weeks * WEEK, observed_since)
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if start >= as_of:
        return None
    seen = np.zeros(HOURS_PER_WEEK)
    t = start
    while t + HOUR <= as_of:
        seen[hour_of_week(t, tz)] += 1
        t += HOUR
    end = t  # only whole hours count, so a part-hour of arrivals is not over-weighted
    if seen.sum() == 0:
        return None
    counts = np.zeros(HOURS_PER_WEEK)
    pal: list[float] = []
    for i, a in enumerate(arrival_times):
        if start <= a < end:
            counts[hour_of_week(a, tz)] += 1
            if pallets is not None:
                pal.append(pallets[i])
    means = np.divide(counts, seen, out=np.zeros(HOURS_PER_WEEK), where=seen > 0)
    pal_arr = np.array(pal) if pal else np.zeros(1)
    return UnbookedFlow(
        trucks_by_hour_of_week=tuple(float(v) for v in means),
        pallets_mean=float(pal_arr.mean()),
        pallets_std=float(pal_arr.std()) if pal_arr.size > 1 else 0.0,
    )


@dataclass(frozen=True, slots=True)
class ForecastInputs:
    """What the service would have known at `issued_at`, rebuilt from history."""

    issued_at: datetime
    trucks_on_road: list[TruckOnRoad]
    booked: list[BookedDelivery]
    supplier_stats: dict[str, SupplierStats]
    prior: LatenessPrior
    unbooked: UnbookedFlow | None


def inputs_at(
    deliveries: Sequence[HistoricDelivery],
    *,
    issued_at: datetime,
    tz: tzinfo = UTC,
    no_show_grace: timedelta = timedelta(hours=6),
    prior_weight: float = 10.0,
    unbooked_weeks: int = 4,
    lookahead: timedelta = timedelta(hours=96),
) -> ForecastInputs:
    """Rebuild the forecast inputs as of `issued_at`, using nothing settled after it.

    Open bookings are those booked by then, not yet arrived and not yet written off as
    no-shows. A departed one with an ETA served by then is on the road with its latest
    ETA; otherwise its slot and the supplier's lateness stand in. Bookings whose slot starts
    beyond `lookahead` cannot reach the horizon and are skipped.
    """
    stats = supplier_stats_from_history(deliveries, as_of=issued_at, no_show_grace=no_show_grace)
    prior = prior_from_stats(stats, weight=prior_weight)
    road: list[TruckOnRoad] = []
    booked: list[BookedDelivery] = []
    for d in deliveries:
        if d.slot_start is None or d.slot_end is None:
            continue
        if d.booked_at is not None and d.booked_at > issued_at:
            continue
        if d.arrived_at is not None and d.arrived_at <= issued_at:
            continue
        if d.arrived_at is None and d.slot_end + no_show_grace <= issued_at:
            continue
        if d.slot_start > issued_at + lookahead:
            continue
        snaps = [s for s in d.eta_snapshots if s.issued_at <= issued_at]
        departed = d.departed_at is not None and d.departed_at <= issued_at
        if departed and snaps:
            s = max(snaps, key=lambda e: e.issued_at)
            road.append(TruckOnRoad(d.delivery_id, d.pallets, s.p10, s.p50, s.p90))
        else:
            booked.append(
                BookedDelivery(d.delivery_id, d.supplier_id, d.slot_start, d.slot_end, d.pallets)
            )
    walk_ins = [
        (d.arrived_at, d.pallets)
        for d in deliveries
        if d.slot_start is None and d.arrived_at is not None and d.arrived_at < issued_at
    ]
    known = [t for d in deliveries for t in (d.arrived_at, d.slot_start) if t is not None]
    unbooked = None
    if walk_ins or known:
        observed_since = min(known) if known else issued_at
        unbooked = unbooked_flow_from_history(
            [a for a, _ in walk_ins],
            pallets=[p for _, p in walk_ins],
            as_of=issued_at,
            observed_since=min(observed_since, issued_at),
            tz=tz,
            weeks=unbooked_weeks,
        )
    unbooked = _with_short_notice_bookings(
        unbooked, deliveries, issued_at=issued_at, tz=tz, weeks=unbooked_weeks
    )
    return ForecastInputs(issued_at, road, booked, stats, prior, unbooked)


def _with_short_notice_bookings(
    flow: UnbookedFlow | None,
    deliveries: Sequence[HistoricDelivery],
    *,
    issued_at: datetime,
    tz: tzinfo,
    weeks: int,
) -> UnbookedFlow | None:
    """Add to the flow the booked arrivals of the past weeks and how far ahead they were
    booked, so that hours beyond today's bookings still expect their usual trucks."""
    settled = [
        d
        for d in deliveries
        if d.slot_start is not None
        and d.booked_at is not None
        and d.arrived_at is not None
        and d.booked_at <= d.arrived_at < issued_at
    ]
    if not settled:
        return flow
    known = [d.arrived_at for d in settled if d.arrived_at is not None]
    history = unbooked_flow_from_history(
        known,
        pallets=[d.pallets for d in settled],
        as_of=issued_at,
        observed_since=min(known),
        tz=tz,
        weeks=weeks,
    )
    if history is None:
        return flow
    leads = sorted(
        (d.arrived_at - d.booked_at) / HOUR
        for d in settled
        if d.arrived_at is not None and d.booked_at is not None
    )
    base = flow or UnbookedFlow(
        trucks_by_hour_of_week=(0.0,) * HOURS_PER_WEEK,
        pallets_mean=history.pallets_mean,
        pallets_std=history.pallets_std,
    )
    walk_ins = sum(base.trucks_by_hour_of_week) if flow else 0.0
    booked = sum(history.trucks_by_hour_of_week)
    share = walk_ins / (walk_ins + booked) if walk_ins + booked > 0 else 0.0
    return UnbookedFlow(
        trucks_by_hour_of_week=base.trucks_by_hour_of_week,
        pallets_mean=share * base.pallets_mean + (1 - share) * history.pallets_mean,
        pallets_std=max(base.pallets_std if flow else 0.0, history.pallets_std),
        booked_by_hour_of_week=history.trucks_by_hour_of_week,
        booking_lead_hours=tuple(leads),
    )


def backtest(
    deliveries: Sequence[HistoricDelivery],
    *,
    issue_times: Sequence[datetime],
    lead_hours: Sequence[int] = (2, 12, 24),
    tz: tzinfo = UTC,
    no_show_grace: timedelta = timedelta(hours=6),
    prior_weight: float = 10.0,
    unbooked_weeks: int = 4,
    pallet_samples: int = 500,
    seed: int = 0,
) -> dict[str, object]:
    """Replay the forecast and the naive baseline at each issue time and score them.

    Lead L scores the hour starting L hours after the issue time (floored to the hour).
    For each lead and method: MAE of trucks and pallets per hour, mean error (bias), and
    the share of hours whose actual count lay inside the P10-P90 band. Truth is every
    arrival in the hour, booked or not, including bookings made after the issue time: the
    forecast is scored on what actually came.
    """
    if not lead_hours or min(lead_hours) < 0:
        raise ValueError("lead_hours must be non-negative")
    horizon = max(lead_hours) + 1
    arrived = sorted(
        ((d.arrived_at, d.pallets) for d in deliveries if d.arrived_at is not None),
        key=lambda a: a[0],
    )
    arr_times = np.array([a.timestamp() for a, _ in arrived])
    arr_pallets = np.array([p for _, p in arrived])
    errors: dict[str, dict[int, dict[str, list[float]]]] = {
        m: {lead: {"trucks": [], "pallets": [], "inside": []} for lead in lead_hours}
        for m in ("model", "naive")
    }
    for t in issue_times:
        inp = inputs_at(
            deliveries,
            issued_at=t,
            tz=tz,
            no_show_grace=no_show_grace,
            prior_weight=prior_weight,
            unbooked_weeks=unbooked_weeks,
        )
        fc = forecast_arrivals(
            issued_at=t,
            trucks_on_road=inp.trucks_on_road,
            booked=inp.booked,
            supplier_stats=inp.supplier_stats,
            unbooked=inp.unbooked,
            prior=inp.prior,
            tz=tz,
            hours=horizon,
            pallet_samples=pallet_samples,
            seed=seed,
        )
        past = arr_times < t.timestamp()
        nv = naive_forecast(
            [a for (a, _), keep in zip(arrived, past, strict=True) if keep],
            history_pallets=arr_pallets[past].tolist(),
            start=t,
            hours=horizon,
        )
        for lead in lead_hours:
            lo = fc[lead].hour_start.timestamp()
            in_bin = (arr_times >= lo) & (arr_times < lo + 3600.0)
            n_true = float(in_bin.sum())
            p_true = float(arr_pallets[in_bin].sum())
            for name, f in (("model", fc[lead]), ("naive", nv[lead])):
                e = errors[name][lead]
                e["trucks"].append(f.trucks - n_true)
                e["pallets"].append(f.pallets - p_true)
                e["inside"].append(float(f.trucks_p10 <= n_true <= f.trucks_p90))
    report: dict[str, object] = {"issue_times": len(issue_times), "lead_hours": list(lead_hours)}
    for name, by_lead in errors.items():
        report[name] = {
            lead: {
                "hours": len(e["trucks"]),
                "mae_trucks": _mean_abs(e["trucks"]),
                "bias_trucks": _mean(e["trucks"]),
                "mae_pallets": _mean_abs(e["pallets"]),
                "coverage_80": _mean(e["inside"]),
            }
            for lead, e in by_lead.items()
        }
    return report


def _mean(v: Sequence[float]) -> float:
    return float(np.mean(v)) if len(v) else math.nan


def _mean_abs(v: Sequence[float]) -> float:
    return float(np.mean(np.abs(v))) if len(v) else math.nan

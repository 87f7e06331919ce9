"""Training ETA models from completed deliveries, keeping their versions, choosing the active one.

A delivery's trip is its vehicle's fixes from departure to arrival; its destination is the
site, its clock the site's time zone. Trips are split by time (the newest fifth is the
holdout); a new model becomes active only if it beats the active one on that holdout.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.services import routing
from app.settings import get_settings
from eta import evaluation
from eta.backtest import contexts_for, paces, replay
from eta.features import COL
from eta.model import EtaModel
from eta.tracks import Trip
from eta.traffic import TrafficIndex
from models import Delivery, DeliveryStatus, ModelVersion, Position, Site

HOLDOUT_SHARE = 0.2
MIN_TRIPS = 20
MAX_SAMPLES_PER_TRIP = 120
# Serving sees a truck's last 40 minutes, not its whole trip: the features that need the whole
# trip are hidden from the models trained here so that training and serving agree.
SERVING_HIDDEN = ("covered_m", "share_done")
Progress = Callable[[int, int], None]


def _epoch(value: datetime) -> float:
    return value.timestamp()


def completed_trips(session: Session, *, since: datetime, until: datetime) -> list[Trip]:
    """Every delivery that departed and arrived in the window, as a trip to its site."""
    sites = {s.id: s for s in session.exec(select(Site)).all()}
    stmt = (
        select(Delivery)
        .where(
            col(Delivery.departed_at).is_not(None),
            col(Delivery.arrived_at).is_not(None),
            col(Delivery.vehicle_id).is_not(None),
            col(Delivery.arrived_at) >= since,
            col(Delivery.arrived_at) < until,
            col(Delivery.status).in_(
                [DeliveryStatus.arrived, DeliveryStatus.unloading, DeliveryStatus.completed]
            ),
        )
        .order_by(col(Delivery.departed_at))
    )
    trips = []
    for d in session.exec(stmt).all():
        site = sites.get(d.site_id)
        assert d.departed_at is not None and d.arrived_at is not None
        if site is None or d.arrived_at <= d.departed_at:
            continue
        rows = session.exec(
            select(Position.device_at, Position.lat, Position.lon, Position.speed_mps)
            .where(
                Position.vehicle_id == d.vehicle_id,
                Position.device_at >= d.departed_at,
                Position.device_at <= d.arrived_at,
            )
            .order_by(col(Position.device_at))
        ).all()
        if len(rows) < 3:
            continue
        trips.append(
            Trip(
                trip_id=str(d.id),
                vehicle_id=str(d.vehicle_id),
                supplier_id=str(d.supplier_id),
                t=np.array([_epoch(r[0]) for r in rows]),
                lat=np.array([r[1] for r in rows]),
                lon=np.array([r[2] for r in rows]),
                speed=np.array([math.nan if r[3] is None else r[3] for r in rows]),
                dest_lat=site.lat,
                dest_lon=site.lon,
                arrival_t=_epoch(d.arrived_at),
                tz=site.timezone,
            )
        )
    return trips


@dataclass
class TrainResult:
    version: ModelVersion
    activated: bool
    reason: str


def _hide(X: np.ndarray) -> np.ndarray:
    X = X.copy()
    for name in SERVING_HIDDEN:
        X[:, COL[name]] = np.nan
    return X


def active_version(session: Session) -> ModelVersion | None:
    return session.exec(select(ModelVersion).where(col(ModelVersion.is_active).is_(True))).first()


def train(
    session: Session,
    *,
    now: datetime,
    days: int = 28,
    force: bool = False,
    model_dir: Path | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    trips = completed_trips(session, since=now - timedelta(days=days), until=now)
    if len(trips) < MIN_TRIPS:
        raise NotFound(
            f"only {len(trips)} completed trips with GPS in the last {days} days; "
            f"training needs at least {MIN_TRIPS}",
            code="not_enough_trips",
        )
    # End the read transaction before the long part: on SQLite a reader that later writes
    # must not have started reading before other writers committed.
    session.commit()
    trips.sort(key=lambda trip: trip.start_t)
    n_train = int(len(trips) * (1 - HOLDOUT_SHARE))
    holdout_from = trips[n_train].start_t
    by_vehicle, by_supplier = paces(trips[:n_train], before=holdout_from)
    contexts = contexts_for(trips, by_vehicle, by_supplier)
    every = [max(1, math.ceil(len(trip) / MAX_SAMPLES_PER_TRIP)) for trip in trips]
    index = TrafficIndex()
    samples = replay(trips, contexts, index=index, sample_every=every, progress=progress)
    X = _hide(samples.X)
    router = routing.client()
    if router is not None:
        router.fill(X, samples.lat, samples.lon, samples.dest_lat, samples.dest_lon)
    is_train = samples.trip < n_train
    version = f"hgb-{now.astimezone(UTC):%Y%m%d-%H%M%S}"
    model = EtaModel(version=version).fit(
        X[is_train], samples.y[is_train], groups=samples.trip[is_train]
    )
    model.info.update({"traffic": index, "pace_vehicle": by_vehicle, "pace_supplier": by_supplier})
    Xh, yh = X[~is_train], samples.y[~is_train]
    p10, p50, p90 = model.predict(Xh)
    metrics: dict[str, Any] = {
        "model": evaluation.evaluate(yh, p50, p10, p90),
        "physics": evaluation.evaluate(yh, model.physics.predict(Xh)),
        "holdout_trips": len(trips) - n_train,
    }
    current = active_version(session)
    incumbent = load_model(current) if current is not None else None
    if incumbent is not None and incumbent.trained:
        i10, i50, i90 = incumbent.predict(Xh)
        metrics["active"] = {"version": incumbent.version, **evaluation.evaluate(yh, i50, i10, i90)}
        better = evaluation.beats(metrics["model"], metrics["active"])
    else:
        better = evaluation.beats(metrics["model"], metrics["physics"])
    directory = model_dir or get_settings().model_dir
    path = Path(directory) / f"{version}.joblib"
    model.save(path)
    row = ModelVersion(
        version=version,
        path=str(path),
        trained_at=now,
        train_from_at=datetime.fromtimestamp(trips[0].start_t, UTC),
        train_to_at=datetime.fromtimestamp(holdout_from, UTC),
        n_trips=n_train,
        n_samples=int(is_train.sum()),
        metrics=metrics,
    )
    session.add(row)
    activated = force or better
    if activated:
        _make_active(session, row, now=now)
    session.commit()
    session.refresh(row)
    if activated:
        reason = "forced" if force and not better else "beats the active model on the holdout"
    else:
        reason = "kept the active model: it is as good or better on the holdout"
    return TrainResult(row, activated, reason)


def _make_active(session: Session, row: ModelVersion, *, now: datetime) -> None:
    for other in session.exec(select(ModelVersion).where(col(ModelVersion.is_active).is_(True))):
        other.is_active = False
        session.add(other)
    row.is_active = True
    row.activated_at = now
    session.add(row)


def activate(session: Session, *, version: str, now: datetime) -> ModelVersion:
    """Make a stored version the active one (a rollback is activating an older one)."""
    row = session.exec(select(ModelVersion).where(ModelVersion.version == version)).first()
    if row is None:
        raise NotFound(f"model version {version!r} not found", code="model_not_found")
    load_model(row)  # refuse a version whose file is gone or unreadable
    _make_active(session, row, now=now)
    session.commit()
    session.refresh(row)
    return row


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.exec(select(ModelVersion).order_by(col(ModelVersion.trained_at).desc())))


def train_and_maybe_activate(
    session: Session, *, now: datetime, days: int = 28
) -> ModelVersion | None:
    """Daily job and demo: train on the last `days`; None when there is too little data."""
    try:
        return train(session, now=now, days=days).version
    except NotFound:
        return None


# --- the model in use ----------------------------------------------------------------------

_loaded: dict[str, EtaModel] = {}
_lock = threading.Lock()


def load_model(row: ModelVersion) -> EtaModel:
    with _lock:
        found = _loaded.get(row.version)
        if found is None:
            try:
                found = EtaModel.load(Path(row.path))
            except (OSError, ValueError) as exc:
                raise NotFound(
                    f"model file of {row.version} cannot be read: {exc}", code="model_unreadable"
                ) from exc
            # The first prediction of a loaded model pays a one-off set-up cost (seconds on a
            # busy machine): pay it here, not in the middle of a refresh.
            found.predict(np.zeros((1, len(found.features))))
            _loaded.clear()  # keep one model in memory
            _loaded[row.version] = found
        return found


def serving_model(session: Session) -> EtaModel | None:
    """The active model (loaded once, reloaded when the active version changes), or None."""
    row = active_version(session)
    if row is None:
        return None
    try:
        return load_model(row)
    except NotFound:
        return None


def serving_index(model: EtaModel) -> TrafficIndex:
    """The traffic history the model was trained with, with an empty present for live fixes."""
    found = model.info.get("traffic")
    return found.live_view() if isinstance(found, TrafficIndex) else TrafficIndex()

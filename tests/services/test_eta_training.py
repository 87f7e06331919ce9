"""Training from completed deliveries, versions and activation, and serving from the model."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.services import eta_serving, eta_training
from models import Delivery, DeliveryStatus, EtaPrediction, ModelVersion, Position
from tests.factories import make_delivery, make_site, make_supplier, make_vehicle

SITE = (52.0, 13.0)


def drive(
    session: Session, vehicle_id: int, *, start: datetime, km: float, rush: bool, seed: int
) -> datetime:
    """Store a truck's fixes every 30 s on a straight road to the site; returns the arrival."""
    rng = np.random.default_rng(seed)
    speed = 7.0 if rush else 16.0
    t, remaining = start, km * 1000
    while remaining > 0:
        session.add(
            Position(
                vehicle_id=vehicle_id,
                device_at=t,
                received_at=t,
                lat=SITE[0] + remaining / 111_000,
                lon=SITE[1] + rng.normal(0, 1e-5),
                speed_mps=speed * rng.uniform(0.9, 1.1),
            )
        )
        remaining -= speed * 30
        t += timedelta(seconds=30)
    return t


@pytest.fixture()
def history(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setattr(eta_training, "_loaded", {})
    site = make_site(session, code="ETA-T", lat=SITE[0], lon=SITE[1])
    supplier = make_supplier(session)
    vehicles = [make_vehicle(session, supplier=supplier) for _ in range(4)]
    now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    for k in range(28):
        start = now - timedelta(days=6) + timedelta(hours=4 * k + 1)
        rush = start.hour in (7, 8, 16, 17)
        vehicle = vehicles[k % len(vehicles)]
        arrived = drive(session, vehicle.id, start=start, km=8 + (k % 5) * 3, rush=rush, seed=k)
        delivery = make_delivery(
            session, supplier=supplier, site=site, vehicle=vehicle, slot_start_at=arrived
        )
        delivery.status = DeliveryStatus.completed
        delivery.departed_at, delivery.arrived_at = start, arrived
        session.add(delivery)
    session.commit()
    return site, supplier, vehicles, now, tmp_path


def test_train_stores_a_version_and_activates_it_only_when_better(
    session: Session, history
) -> None:
    _, _, _, now, tmp_path = history
    first = eta_training.train(session, now=now, model_dir=tmp_path)
    assert first.activated and first.version.is_active
    assert Path(first.version.path).is_file()
    metrics = first.version.metrics
    assert metrics["model"]["all"]["mae_min"] < metrics["physics"]["all"]["mae_min"]
    assert set(metrics["model"]["by_horizon"]) == {"0-15", "15-30", "30-60", "60-120", "120+"}
    assert first.version.n_trips == 22 and first.version.train_to_at is not None
    # The same data again: no better than the active model, so it is kept but not activated.
    second = eta_training.train(session, now=now + timedelta(minutes=1), model_dir=tmp_path)
    assert not second.activated and "active" in second.version.metrics
    assert eta_training.active_version(session).version == first.version.version
    # Roll forward to the second and back to the first.
    eta_training.activate(session, version=second.version.version, now=now)
    assert eta_training.active_version(session).version == second.version.version
    eta_training.activate(session, version=first.version.version, now=now)
    actives = session.exec(select(ModelVersion).where(col(ModelVersion.is_active).is_(True))).all()
    assert [v.version for v in actives] == [first.version.version]
    with pytest.raises(NotFound):
        eta_training.activate(session, version="no-such-version", now=now)


def test_too_little_history_is_said_plainly(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="training needs at least"):
        eta_training.train(session, now=datetime.now(UTC), model_dir=tmp_path)
    assert eta_training.train_and_maybe_activate(session, now=datetime.now(UTC)) is None


def test_refresh_serves_the_active_model_and_physics_without_fixes(
    session: Session, history
) -> None:
    site, supplier, vehicles, now, tmp_path = history
    trained = eta_training.train(session, now=now, model_dir=tmp_path).version
    live_at = now + timedelta(hours=1)
    # One truck 12 km out, reporting for the last 10 minutes; one truck never heard from.
    truck, silent = (
        make_vehicle(session, supplier=supplier),
        make_vehicle(session, supplier=supplier),
    )
    drive(session, truck.id, start=live_at - timedelta(minutes=10), km=12, rush=False, seed=99)
    session.exec(
        Position.__table__.delete().where(  # type: ignore[attr-defined]
            Position.vehicle_id == truck.id, Position.device_at > live_at
        )
    )
    moving = make_delivery(
        session,
        supplier=supplier,
        site=site,
        vehicle=truck,
        slot_start_at=live_at + timedelta(minutes=30),
    )
    moving.status, moving.departed_at = DeliveryStatus.en_route, live_at - timedelta(minutes=10)
    quiet = make_delivery(
        session,
        supplier=supplier,
        site=site,
        vehicle=silent,
        slot_start_at=live_at + timedelta(minutes=30),
    )
    session.add(moving)
    session.commit()

    assert eta_serving.refresh_all(session, now=live_at) == 2
    logged = {
        p.delivery_id: p
        for p in session.exec(
            select(EtaPrediction).where(col(EtaPrediction.delivery_id).in_([moving.id, quiet.id]))
        )
    }
    assert logged[moving.id].model_version == trained.version
    assert logged[quiet.id].model_version == eta_serving.PHYSICS_VERSION
    p = logged[moving.id]
    assert p.eta_p10_at <= p.eta_p50_at <= p.eta_p90_at
    # About 12 km minus 10 minutes at 16 m/s ≈ 2.4 km left: a few minutes, not hours.
    minutes_left = (p.eta_p50_at - live_at).total_seconds() / 60
    assert 0 <= minutes_left < 20, minutes_left
    assert math.isclose(p.remaining_m or 0, 2400, rel_tol=0.5)
    # Asked again within a minute: nothing is recomputed or logged twice.
    assert eta_serving.refresh_all(session, now=live_at + timedelta(seconds=20)) == 0
    assert session.get(Delivery, moving.id).status == DeliveryStatus.en_route


def test_a_routing_server_feeds_training_and_serving(
    session: Session, history, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from app.services import routing
    from eta.features import COL

    site, supplier, _, now, tmp_path = history
    asked: list[str] = []

    def osrm(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        lon, lat = (float(v) for v in request.url.path.split("/")[-1].split(";")[0].split(","))
        metres = abs(lat - SITE[0]) * 111_000 * 1.2
        return httpx.Response(
            200, json={"code": "Ok", "routes": [{"distance": metres, "duration": metres / 15}]}
        )

    router = routing.RoutingClient("http://router.local", transport=httpx.MockTransport(osrm))
    monkeypatch.setattr(routing, "client", lambda settings=None: router)
    trained = eta_training.train(session, now=now, model_dir=tmp_path).version
    model = eta_training.load_model(trained)
    assert COL["route_m"] in model.columns and COL["route_s"] in model.columns
    router.cache.clear()  # the live truck drives the same road the training trips did
    before = len(asked)
    truck = make_vehicle(session, supplier=supplier)
    live_at = now + timedelta(hours=1)
    drive(session, truck.id, start=live_at - timedelta(minutes=5), km=3, rush=False, seed=5)
    delivery = make_delivery(
        session, supplier=supplier, site=site, vehicle=truck, slot_start_at=live_at
    )
    delivery.status, delivery.departed_at = DeliveryStatus.en_route, live_at - timedelta(minutes=5)
    session.add(delivery)
    session.commit()
    assert eta_serving.refresh_all(session, now=live_at) == 1
    assert len(asked) > before  # the served ETA asked the router too

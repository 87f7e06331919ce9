"""The live stream: events reach subscribers of the site, across API processes, scoped."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from models import (
    ApiKey,
    Delivery,
    DeliveryEvent,
    Dock,
    Site,
    Supplier,
    Vehicle,
)
from tests.factories import (
    make_api_key,
    make_delivery,
    make_site,
    make_supplier,
    make_vehicle,
)
from tests.servers import start_server

NO_SCHEDULER = {"INBOUND_SCHEDULER_ENABLED": "false"}


@dataclass
class Setup:
    site_id: int
    delivery_id: int
    other_delivery_id: int
    key: str
    other_key: str


@pytest.fixture()
def setup(engine: Engine) -> Iterator[Setup]:
    with Session(engine) as session:
        site = make_site(session, code=f"LIVE{os.getpid()}")
        mine, theirs = make_supplier(session), make_supplier(session)
        d1 = make_delivery(
            session, supplier=mine, site=site, vehicle=make_vehicle(session, supplier=mine)
        )
        d2 = make_delivery(
            session, supplier=theirs, site=site, vehicle=make_vehicle(session, supplier=theirs)
        )
        data = Setup(
            site.id,
            d1.id,
            d2.id,
            make_api_key(session, supplier=mine),
            make_api_key(session, supplier=theirs),
        )
        suppliers = [mine.id, theirs.id]
    yield data
    with Session(engine) as session:
        for model, column, values in (
            (DeliveryEvent, DeliveryEvent.delivery_id, [data.delivery_id, data.other_delivery_id]),
            (Delivery, Delivery.site_id, [data.site_id]),
            (ApiKey, ApiKey.supplier_id, suppliers),
            (Vehicle, Vehicle.supplier_id, suppliers),
            (Supplier, Supplier.id, suppliers),
            (Dock, Dock.site_id, [data.site_id]),
            (Site, Site.id, [data.site_id]),
        ):
            session.exec(delete(model).where(col(column).in_(values)))
        session.commit()


def _listen(url: str, key: str, events: queue.Queue[str], ready: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, headers={"X-API-Key": key}, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("data: "):
                    events.put(line[6:])
    except httpx.HTTPError:
        pass  # the server is killed at the end of the test


@pytest.mark.slow
def test_events_fan_out_to_other_processes_and_stay_scoped(
    database_url: str, engine: Engine, setup: Setup
) -> None:
    listener_proc, listener_base = start_server(database_url, env=NO_SCHEDULER)
    # On SQLite fan-out is within one process; on PostgreSQL the event crosses processes.
    poster_proc, poster_base = (
        (listener_proc, listener_base)
        if database_url.startswith("sqlite")
        else start_server(database_url, env=NO_SCHEDULER)
    )
    try:
        stream_url = f"{listener_base}/api/v1/sites/{setup.site_id}/stream"
        mine: queue.Queue[str] = queue.Queue()
        ready = threading.Event()
        threading.Thread(
            target=_listen, args=(stream_url, setup.key, mine, ready), daemon=True
        ).start()
        assert ready.wait(20)
        at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        for delivery, key in (
            (setup.other_delivery_id, setup.other_key),
            (setup.delivery_id, setup.key),
        ):
            response = httpx.post(
                f"{poster_base}/api/v1/deliveries/{delivery}/events",
                json={"kind": "arrived", "at": at},
                headers={"X-API-Key": key},
            )
            assert response.status_code == 201, response.text
        received = mine.get(timeout=20)
        assert f'"delivery_id":{setup.delivery_id}' in received and '"status":"arrived"' in received
        time.sleep(1)
        # The other supplier's event never reached this supplier's stream.
        assert mine.empty()
    finally:
        # Open event streams would hold a graceful shutdown for its whole grace period.
        for proc in {listener_proc, poster_proc}:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)

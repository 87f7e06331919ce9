"""`inbound demo`: seed a database, fill it with simulated history, train the first ETA model,
serve with the scheduler and drive live simulated trucks at it until Ctrl-C."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

from app.db import build_engine
from app.migrations import upgrade
from app.services import api_keys as api_keys_service
from app.services import eta_training
from app.services import sites as sites_service
from app.services import suppliers as suppliers_service
from app.services import users as users_service
from models import Delivery, Role, Site, SiteKind, Supplier, User, Vehicle, utcnow
from models.site import Shift, SiteCreate
from models.supplier import SupplierCreate
from models.user import UserCreate

console = Console()

DEMO_PASSWORD = "inbound-demo"
# The first model learns from the last week of simulated trips: enough to beat physics, quick.
DEMO_TRAIN_DAYS = 7
TIMEZONE = "Europe/Moscow"
ROUND_THE_CLOCK = [
    Shift(name="day", start="06:00", end="14:00"),
    Shift(name="evening", start="14:00", end="22:00"),
    Shift(name="night", start="22:00", end="06:00"),
]


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    kind: SiteKind
    lat: float
    lon: float
    docks: int
    rate_pph: float
    radius_m: float
    shifts: list[Shift]


# Inside the simulator's 60 km road network around central Moscow.
DEMO_SITES = [
    DemoSite(
        "DC-MSK",
        "Moscow North-West distribution centre",
        SiteKind.distribution_centre,
        55.862,
        37.436,
        6,
        30.0,
        350.0,
        ROUND_THE_CLOCK,
    ),
    DemoSite(
        "WH-SOU",
        "South warehouse",
        SiteKind.warehouse,
        55.628,
        37.705,
        3,
        25.0,
        300.0,
        ROUND_THE_CLOCK[:2],
    ),
    DemoSite(
        "DS-CEN",
        "Central darkstore",
        SiteKind.darkstore,
        55.757,
        37.615,
        1,
        20.0,
        150.0,
        [
            Shift(name="morning", start="06:00", end="14:00"),
            Shift(name="late", start="14:00", end="23:00"),
        ],
    ),
]
DEMO_SUPPLIERS = [
    ("FRESH", "Fresh Farms"),
    ("DAIRY", "North Dairy"),
    ("BAKE", "City Bakery"),
    ("DRINK", "Volga Drinks"),
    ("HOME", "HomeGoods Logistics"),
]
VEHICLES_PER_SUPPLIER = 8
DEMO_USERS = [
    ("admin@demo.inbound", Role.admin),
    ("logistician@demo.inbound", Role.logistician),
    ("planner@demo.inbound", Role.planner),
    ("supplier@demo.inbound", Role.supplier_viewer),
]


def seed(session: Session) -> dict[int, str]:
    """Create the demo objects once; returns the supplier API keys made this time, by id."""
    keys: dict[int, str] = {}
    if session.exec(select(Site)).first() is None:
        for s in DEMO_SITES:
            sites_service.create(
                session,
                data=SiteCreate(
                    code=s.code,
                    name=s.name,
                    kind=s.kind,
                    lat=s.lat,
                    lon=s.lon,
                    timezone=TIMEZONE,
                    dock_count=s.docks,
                    unloading_rate_pph=s.rate_pph,
                    crew_rate_pph=s.rate_pph,
                    geofence_radius_m=s.radius_m,
                    shifts=s.shifts,
                ),
            )
    if session.exec(select(Supplier)).first() is None:
        for code, name in DEMO_SUPPLIERS:
            supplier = suppliers_service.create(session, data=SupplierCreate(code=code, name=name))
            assert supplier.id is not None
            for n in range(1, VEHICLES_PER_SUPPLIER + 1):
                session.add(
                    Vehicle(
                        supplier_id=supplier.id,
                        plate=f"{code}-{n:03d}",
                        device_id=f"{code.lower()}-{n}",
                    )
                )
            session.commit()
            created = api_keys_service.create_for_supplier(
                session, supplier_id=supplier.id, name="demo"
            )
            keys[supplier.id] = created.key
    if session.exec(select(User)).first() is None:
        site_ids = [s.id for s in session.exec(select(Site)).all() if s.id is not None]
        first_supplier = session.exec(select(Supplier).order_by(col(Supplier.id))).first()
        assert first_supplier is not None
        for email, role in DEMO_USERS:
            users_service.create(
                session,
                data=UserCreate(
                    email=email,
                    role=role,
                    password=DEMO_PASSWORD,
                    full_name=role.value.replace("_", " ").title(),
                    site_ids=site_ids if role in (Role.logistician, Role.planner) else [],
                    supplier_id=first_supplier.id if role == Role.supplier_viewer else None,
                ),
            )
    return keys


def _train(session: Session) -> None:
    """Train the first ETA model on the last week of simulated trips (a minute or so)."""
    with console.status("training the first ETA model on the last week of trips"):
        try:
            result = eta_training.train_and_maybe_activate(
                session, now=utcnow(), days=DEMO_TRAIN_DAYS
            )
        except Exception as exc:  # the demo goes on with physics ETAs
            console.print(
                f"[yellow]ETA model: training failed ({exc}); physics ETAs serve[/yellow]"
            )
            return
    if result is None:
        console.print("ETA model: too few completed trips yet; physics ETAs serve")
        return
    mae = (result.metrics or {}).get("model", {}).get("all", {}).get("mae_min")
    state = "active" if result.is_active else "kept, not promoted"
    holdout = f", holdout MAE {mae} min" if mae is not None else ""
    console.print(f"ETA model {result.version}: {state}, {result.n_trips} trips{holdout}")


class _ServerThread:
    """uvicorn with the app (and its scheduler) in a thread of this process."""

    def __init__(self, *, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-server", daemon=True)
        self.base = f"http://{host}:{port}"

    def start(self, timeout_s: float = 60.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.thread.is_alive():
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not come up on {self.base}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def _database_url(url: str, *, fresh: bool) -> None:
    """With --fresh, remove the SQLite file (and its WAL) before migrating."""
    parsed = make_url(url)
    if not fresh:
        return
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise SystemExit("--fresh only removes a SQLite file; drop a PostgreSQL database yourself")
    for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
        Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)


def run_demo(
    *,
    host: str,
    port: int,
    speed: float,
    seed_value: int,
    fresh: bool,
    weeks: float,
    duration_s: float | None,
    train: bool = True,
) -> None:
    from app.cli_sim import generate_history
    from app.settings import get_settings
    from app.simulator.live import LiveOptions, LiveRunner

    settings = get_settings()
    url = settings.database_url
    _database_url(url, fresh=fresh)
    console.print(f"[bold]Inbound demo[/bold] on {url}")
    upgrade(url=url)
    options = LiveOptions(
        base_url=f"http://{host}:{port}",
        seed=seed_value,
        speed=speed,
        username=DEMO_USERS[0][0],
        password=DEMO_PASSWORD,
        duration_s=duration_s,
    )
    engine = build_engine(url, pool_size=2)
    with Session(engine) as session:
        keys = seed(session)
        sites = session.exec(select(func.count()).select_from(Site)).one()
        vehicles = session.exec(select(func.count()).select_from(Vehicle)).one()
        has_history = session.exec(select(Delivery.id).limit(1)).first() is not None
        console.print(f"seeded: {sites} sites, {vehicles} vehicles, {len(DEMO_USERS)} users")
        if not has_history and weeks > 0:
            # History ends where the live fleet begins, so no truck is in two places at once.
            live_start = options.fleet_start(time.time())
            generate_history(
                session,
                weeks=weeks,
                vehicles=vehicles,
                seed=seed_value,
                end=datetime.fromtimestamp(live_start - 300, tz=UTC).replace(microsecond=0),
            )
        if train:
            _train(session)
    engine.dispose()

    server = _ServerThread(host=host, port=port)
    server.start()
    runner = LiveRunner(options, keys=keys)
    try:
        runner.connect()
        _banner(server.base, speed)
        with console.status("live fleet starting") as status:
            runner.run(on_tick=lambda s: status.update(s.line()))
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        runner.stop_event.set()
        runner.close()
        server.stop()
    console.print(runner.stats.line())
    console.print("[green]demo stopped[/green]")


def _banner(base: str, speed: float) -> None:
    console.print(f"Dashboard: [bold cyan]{base}/[/bold cyan]   API docs: {base}/docs")
    table = Table(title=f"Demo logins (password [bold]{DEMO_PASSWORD}[/bold])")
    table.add_column("login")
    table.add_column("role")
    for email, role in DEMO_USERS:
        table.add_row(email, role.value)
    console.print(table)
    console.print(f"Live trucks post at {speed:g}× real time. Ctrl-C stops everything.")

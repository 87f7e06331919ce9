"""The `inbound` command: serve, migrate, create-admin, demo."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from app.cli_eta import eta_cli
from app.cli_sim import sim_cli
from app.settings import get_settings

cli = typer.Typer(help="Inbound: supplier truck ETAs and supply visibility.", no_args_is_help=True)
console = Console()


@cli.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from app.migrations import upgrade

    settings = get_settings()
    upgrade(url=settings.database_url)
    console.print("[green]database is at the newest migration[/green]")


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_server(
    *, host: str, port: int, workers: int, osmand_port: int | None, log_level: str
) -> None:
    """uvicorn on the API port and, when set, the OsmAnd port (Traccar Client posts to its root)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
        # Live streams never end by themselves; don't let them hold a restart forever.
        timeout_graceful_shutdown=10,
    )
    sockets = [_listen(host, port)]
    if osmand_port and osmand_port != port:
        sockets.append(_listen(host, osmand_port))
        console.print(
            f"OsmAnd / Traccar Client endpoint: http://{host}:{osmand_port}/?key=<API key>"
        )
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        server.run(sockets=sockets)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    osmand_port: Annotated[
        int | None, typer.Option(help="extra port for OsmAnd devices (0 = off)")
    ] = None,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="also run the background jobs")
    ] = True,
) -> None:
    """Run the API (and dashboard) with uvicorn, and the scheduler unless --no-scheduler."""
    if not scheduler:
        # Workers are fresh processes: the environment is how they learn it.
        os.environ["INBOUND_SCHEDULER_ENABLED"] = "false"
        get_settings.cache_clear()
    settings = get_settings()
    if migrate_first:
        from app.migrations import upgrade

        upgrade(url=settings.database_url)
    run_server(
        host=host,
        port=port,
        workers=workers,
        osmand_port=settings.osmand_port if osmand_port is None else osmand_port,
        log_level=settings.log_level,
    )


@cli.command("scheduler")
def run_scheduler() -> None:
    """Run only the background jobs (pair with `serve --no-scheduler` to scale out)."""
    import logging
    import signal
    import threading

    from app.db import get_engine
    from app.scheduler import SchedulerRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    runner = SchedulerRunner(get_engine(), settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    console.print(f"scheduler started (pid {os.getpid()}); it runs jobs while it holds the lock")
    stop.wait()
    runner.stop()


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="the admin's email")],
    full_name: Annotated[str, typer.Option(help="display name")] = "Administrator",
    password: Annotated[
        str | None, typer.Option(help="read from INBOUND_ADMIN_PASSWORD or prompted if omitted")
    ] = None,
) -> None:
    """Create the first admin user (or any further one)."""
    from app.db import get_engine
    from app.errors import DomainError
    from app.services import users as users_service
    from models import Role
    from models.user import UserCreate

    password = password or os.environ.get("INBOUND_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("Password (10+ characters): ")
    try:
        data = UserCreate(email=email, full_name=full_name, role=Role.admin, password=password)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    with Session(get_engine()) as session:
        try:
            user = users_service.create(session, data=data)
        except DomainError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"[green]admin {user.email} created (id {user.id})[/green]")


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="interface to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    speed: Annotated[
        float, typer.Option(min=1, help="live trucks run this many times faster")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 1,
    weeks: Annotated[float, typer.Option(min=0, help="weeks of simulated history")] = 3.0,
    fresh: Annotated[bool, typer.Option(help="start from an empty SQLite file")] = False,
    train: Annotated[bool, typer.Option(help="train the first ETA model on the history")] = True,
    duration: Annotated[
        float | None, typer.Option(min=1, help="stop after N seconds (default: until Ctrl-C)")
    ] = None,
) -> None:
    """Seed a demo database with simulated history, train the ETA model, serve the dashboard
    and drive live simulated trucks at it until Ctrl-C."""
    from app.demo import run_demo

    run_demo(
        host=host,
        port=port,
        speed=speed,
        seed_value=seed,
        fresh=fresh,
        weeks=weeks,
        duration_s=duration,
        train=train,
    )


@cli.command("import")
def import_tracks(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help=".gpx or .csv")],
    vehicle_id: Annotated[int, typer.Option(help="the vehicle the tracks belong to")],
) -> None:
    """Import past GPS tracks into a vehicle's history, with a progress bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from app.db import get_engine
    from app.errors import DomainError
    from app.services import positions as positions_service
    from app.services import track_import
    from app.services.ingest_writer import SessionWriter
    from models import Vehicle, utcnow

    settings = get_settings()
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    reasons: dict[str, int] = {}
    with Session(get_engine()) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None:
            console.print(f"[red]vehicle {vehicle_id} not found[/red]")
            raise typer.Exit(1)
        writer = SessionWriter(session)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as progress:
            for path in files:
                try:
                    points = list(
                        track_import.parse_track(
                            path.read_bytes(), filename=path.name, device_id=vehicle.device_id
                        )
                    )
                except DomainError as exc:
                    console.print(f"[red]{path.name}: {exc.message}[/red]")
                    raise typer.Exit(2) from exc
                task = progress.add_task(path.name, total=len(points))
                for chunk in track_import.chunks(iter(points), 5000):
                    batch = positions_service.prepare(
                        session,
                        supplier_id=vehicle.supplier_id,
                        points=chunk,
                        now=utcnow(),
                        settings=settings,
                        source="import",
                        check_age=False,
                    )
                    flags = writer.write_sync(batch.rows)
                    totals["accepted"] += sum(flags)
                    totals["duplicates"] += len(flags) - sum(flags) + batch.duplicates_in_batch
                    totals["rejected"] += len(batch.rejected)
                    for rejection in batch.rejected:
                        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
                    progress.advance(task, len(chunk))
    console.print(
        f"accepted {totals['accepted']}, duplicates {totals['duplicates']}, "
        f"rejected {totals['rejected']}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
    )


forecast_cli = typer.Typer(help="Arrivals forecast tools.", no_args_is_help=True)
cli.add_typer(forecast_cli, name="forecast")
cli.add_typer(sim_cli, name="simulate")
cli.add_typer(eta_cli, name="eta")


@forecast_cli.command("backtest")
def forecast_backtest(
    site: Annotated[str, typer.Option(help="site code")],
    days: Annotated[int, typer.Option(min=1, help="days of history to replay (most recent)")] = 14,
    every_hours: Annotated[int, typer.Option(min=1, help="hours between forecast issues")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Replay the stored history: hourly-arrivals error of the forecast vs same hour last week,
    at 2 h, 12 h and 24 h ahead."""
    import json
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from rich.table import Table
    from sqlmodel import select

    from app.db import get_engine
    from app.services.forecast import settled_history
    from eta import forecast as fc
    from models import Site, utcnow

    with Session(get_engine()) as session:
        found = session.exec(select(Site).where(Site.code == site)).first()
        if found is None:
            console.print(f"[red]no site with code {site!r}[/red]")
            raise typer.Exit(1)
        history = settled_history(session, site=found, since=None, until=utcnow())
        tz = ZoneInfo(found.timezone)
    if not history:
        console.print("[yellow]no settled deliveries at this site yet[/yellow]")
        raise typer.Exit(1)
    moments = [m for d in history for m in (d.arrived_at, d.slot_start) if m is not None]
    end = min(utcnow(), max(moments))
    end = end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=25)
    start = end - timedelta(days=days)
    issue_times = []
    moment = start
    while moment <= end:
        issue_times.append(moment)
        moment += timedelta(hours=every_hours)
    report = fc.backtest(history, issue_times=issue_times, tz=tz)
    if as_json:
        console.print_json(json.dumps(report, default=str))
        return
    table = Table(title=f"Forecast backtest, site {site}, {len(issue_times)} issues")
    for column in ("lead", "method", "hours", "MAE trucks", "MAE pallets", "inside 80% band"):
        table.add_column(column)
    for method in ("model", "naive"):
        scores = report[method]
        assert isinstance(scores, dict)
        for lead, figures in scores.items():
            table.add_row(
                f"{lead} h",
                method,
                str(figures["hours"]),
                f"{figures['mae_trucks']:.2f}",
                f"{figures['mae_pallets']:.1f}",
                f"{figures['coverage_80']:.0%}",
            )
    console.print(table)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)

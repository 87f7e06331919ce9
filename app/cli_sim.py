"""`inbound simulate`: generate history into the database, or drive a running server live."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlmodel import Session

sim_cli = typer.Typer(help="Fleet simulator: history into the database, or live over HTTP.")
console = Console()


def history_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[positions]:>10,} positions"),
        TextColumn("{task.fields[deliveries]:>6,} deliveries"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def generate_history(
    session: Session,
    *,
    weeks: float,
    vehicles: int,
    seed: int,
    end: datetime,
    fix_interval: tuple[float, float] | None = None,
) -> None:
    """Simulate `weeks` up to `end` with a progress bar, then print what was written."""
    from dataclasses import replace

    from app.simulator.fleet import SimConfig
    from app.simulator.history import load_world, run_history

    config = SimConfig()
    if fix_interval is not None:
        config = replace(config, gps=replace(config.gps, interval_s=fix_interval))
    world = load_world(session, vehicles=vehicles, seed=seed, config=config, at=end)
    start = end - timedelta(weeks=weeks)
    total_s = (end - start).total_seconds()
    console.print(
        f"simulating {weeks:g} weeks of {len(world.vehicles)} trucks of "
        f"{len(world.suppliers)} suppliers to {len(world.sites)} sites (seed {seed})"
    )
    with history_progress() as progress:
        task = progress.add_task("history", total=total_s, positions=0, deliveries=0)
        stats = run_history(
            session,
            world=world,
            seed=seed,
            start=start,
            end=end,
            config=config,
            on_progress=lambda done, s: progress.update(
                task, completed=done, positions=s.positions, deliveries=s.deliveries
            ),
        )
    console.print(
        f"[green]history written[/green]: {stats.positions:,} positions, "
        f"{stats.deliveries:,} deliveries ({stats.completed:,} completed, {stats.no_shows:,} "
        f"no-shows), {stats.events:,} events; mean yard wait {stats.mean_wait_min:.1f} min, "
        f"{stats.on_time_share:.0%} at the gate by the slot's end"
    )


@sim_cli.command("history")
def history(
    weeks: Annotated[float, typer.Option(min=0.1, help="weeks of history, ending now")] = 4,
    vehicles: Annotated[
        int, typer.Option(min=1, help="trucks to simulate (simulated suppliers fill any gap)")
    ] = 60,
    seed: Annotated[int, typer.Option(help="same seed, same history")] = 1,
    min_interval: Annotated[float, typer.Option(min=1, help="shortest GPS fix interval, s")] = 5,
    max_interval: Annotated[float, typer.Option(min=1, help="longest GPS fix interval, s")] = 30,
) -> None:
    """Write weeks of completed simulated trips (positions, deliveries, events) to the database."""
    from app.db import get_engine
    from app.migrations import upgrade
    from app.settings import get_settings
    from app.simulator.history import HistoryConflict
    from models import utcnow

    upgrade(url=get_settings().database_url)
    with Session(get_engine()) as session:
        try:
            generate_history(
                session,
                weeks=weeks,
                vehicles=vehicles,
                seed=seed,
                end=utcnow().replace(microsecond=0),
                fix_interval=(min_interval, max(min_interval, max_interval)),
            )
        except (HistoryConflict, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc


@sim_cli.command("live")
def live(
    url: Annotated[str, typer.Option(help="the server to post to")] = "http://127.0.0.1:8000",
    speed: Annotated[float, typer.Option(min=1, help="times faster than real time")] = 1.0,
    seed: Annotated[int, typer.Option(help="same seed, same fleet behaviour")] = 1,
    lead_minutes: Annotated[
        float, typer.Option(min=0, help="an accelerated run starts this far in the past")
    ] = 60,
    username: Annotated[str, typer.Option(help="staff login (reads the fleet, dock events)")] = (
        "admin@demo.inbound"
    ),
    password: Annotated[str, typer.Option(help="its password")] = "inbound-demo",
    vehicles: Annotated[int | None, typer.Option(min=1, help="simulate only the first N")] = None,
    site: Annotated[list[str] | None, typer.Option(help="only this site code (repeatable)")] = None,
    supplier: Annotated[
        list[str] | None, typer.Option(help="only this supplier's trucks (repeatable)")
    ] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="stop after N seconds")] = None,
) -> None:
    """Post simulated trucks' positions, bookings and dock events to a running server."""
    import httpx

    from app.simulator.live import LiveOptions, LiveRunner

    runner = LiveRunner(
        LiveOptions(
            base_url=url.rstrip("/"),
            seed=seed,
            speed=speed,
            lead_s=lead_minutes * 60,
            username=username,
            password=password,
            vehicles=vehicles,
            duration_s=duration,
            site_codes=tuple(site or ()),
            supplier_codes=tuple(supplier or ()),
        )
    )
    try:
        world = runner.connect()
    except (httpx.HTTPError, RuntimeError) as exc:
        console.print(f"[red]cannot set up against {url}: {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"simulating {len(world.vehicles)} trucks of {len(world.suppliers)} suppliers to "
        f"{len(world.sites)} sites at {speed:g}× against {url}; Ctrl-C stops"
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stop_event.set())
    with console.status("starting") as status:
        stats = runner.run(on_tick=lambda s: status.update(s.line()))
    runner.close()
    console.print(stats.line())

"""`inbound eta …`: backtest a tracks file, train from the database, list and roll back models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlmodel import Session

from app.errors import DomainError
from eta import backtest
from eta.evaluation import BUCKETS
from eta.tracks import TrackFileError, read_tracks_csv
from models import utcnow

eta_cli = typer.Typer(help="The ETA model: backtest, train, list versions, roll back.")
console = Console()
err = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} fixes"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _table(title: str, predictors: dict[str, Any]) -> Table:
    table = Table(title=title)
    for header in (
        "predictor",
        "horizon",
        "n",
        "MAE min",
        "median min",
        "p90 min",
        "MAPE %",
        "P10–P90",
    ):
        table.add_column(header, justify="left" if header in ("predictor", "horizon") else "right")
    for name, report in predictors.items():
        rows = [("all", report["all"])] + [(b[0], report["by_horizon"][b[0]]) for b in BUCKETS]
        for horizon, m in rows:
            if not m.get("n"):
                continue
            table.add_row(
                name if horizon == "all" else "",
                horizon,
                f"{m['n']:,}",
                f"{m['mae_min']:.2f}",
                f"{m['median_ae_min']:.2f}",
                f"{m['p90_ae_min']:.2f}",
                "—" if m["mape_pct"] is None else f"{m['mape_pct']:.1f}",
                f"{m['coverage_p10_p90']:.0%}" if "coverage_p10_p90" in m else "—",
            )
        table.add_section()
    return table


@eta_cli.command("backtest")
def backtest_command(
    tracks: Annotated[
        Path,
        typer.Option(
            "--tracks",
            help="CSV: trip_id, ts, lat, lon[, speed_mps, vehicle_id, dest_lat, dest_lon]",
        ),
    ],
    split: Annotated[float, typer.Option(help="share of trips (by start time) to train on")] = 0.7,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Train on the first trips of a file and replay the rest fix by fix, predicting with only
    the past; compare the model with its baselines by horizon."""
    if not tracks.is_file():
        err.print(f"[red]no such file: {tracks}[/red]")
        raise typer.Exit(2)
    if not 0 < split < 1:
        err.print("[red]--split must be between 0 and 1[/red]")
        raise typer.Exit(2)
    try:
        trips = read_tracks_csv(tracks)
    except (TrackFileError, UnicodeDecodeError) as exc:
        err.print(f"[red]{tracks}: {exc}[/red]")
        raise typer.Exit(2) from exc
    with _progress() as bar:
        task = bar.add_task(f"replaying {len(trips):,} trips", total=1)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = backtest.run(trips, split=split, progress=advance)
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"{report['trips']['train']} training trips, {report['trips']['test']} test trips; "
        f"{report['samples']['test']:,} predictions replayed"
    )
    console.print(_table(f"ETA backtest: {tracks.name}", report["predictors"]))


@eta_cli.command("train")
def train_command(
    days: Annotated[
        int, typer.Option(help="train on deliveries completed in the last N days")
    ] = 28,
    force: Annotated[
        bool, typer.Option(help="activate even if it does not beat the active model")
    ] = False,
) -> None:
    """Train a model from completed deliveries; it becomes active only if it beats the active
    one on the newest fifth of the trips."""
    from app.db import get_engine
    from app.services import eta_training

    with Session(get_engine()) as session, _progress() as bar:
        task = bar.add_task("building training samples", total=1)
        try:
            result = eta_training.train(
                session,
                now=utcnow(),
                days=days,
                force=force,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except DomainError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    row = result.version
    state = "[green]active[/green]" if result.activated else "[yellow]not active[/yellow]"
    console.print(
        f"trained {row.version} on {row.n_trips} trips ({row.n_samples:,} samples): "
        f"{state} — {result.reason}"
    )
    metrics = row.metrics or {}
    shown: dict[str, Any] = {k: metrics[k] for k in ("model", "active", "physics") if k in metrics}
    console.print(_table("holdout", shown))


@eta_cli.command("models")
def models_command() -> None:
    """List trained versions with their holdout MAE; the active one is marked."""
    from app.db import get_engine
    from app.services import eta_training

    with Session(get_engine()) as session:
        rows = eta_training.list_versions(session)
    table = Table(title="ETA models")
    for header in ("version", "active", "trained", "trips", "MAE min", "physics MAE", "P10–P90"):
        table.add_column(header)
    for row in rows:
        metrics = row.metrics or {}
        model = metrics.get("model", {}).get("all", {})
        physics = metrics.get("physics", {}).get("all", {})
        table.add_row(
            row.version,
            "●" if row.is_active else "",
            f"{row.trained_at:%Y-%m-%d %H:%M}",
            str(row.n_trips),
            str(model.get("mae_min", "—")),
            str(physics.get("mae_min", "—")),
            f"{model['coverage_p10_p90']:.0%}" if "coverage_p10_p90" in model else "—",
        )
    console.print(table if rows else "no trained model yet: run `inbound eta train`")


@eta_cli.command("activate")
def activate_command(
    version: Annotated[str, typer.Argument(help="a version from `inbound eta models`")],
) -> None:
    """Make a stored version active (roll back or forward)."""
    from app.db import get_engine
    from app.services import eta_training

    with Session(get_engine()) as session:
        try:
            row = eta_training.activate(session, version=version, now=utcnow())
        except DomainError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"{row.version} is now the active ETA model")

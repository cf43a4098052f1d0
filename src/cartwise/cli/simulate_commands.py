"""``cartwise simulate``: write a simulated pay-later marketplace into the warehouse."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import pyarrow as pa
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cartwise.bootstrap import make_warehouse
from cartwise.cli.main import app, console, settings_from
from cartwise.config import Settings
from cartwise.data.simulator.summary import DataSummary

__all__ = ["demo_simulation", "render_summary", "simulate_into_warehouse"]

_STEPS = ("catalogue", "customers", "browsing", "fraud", "repayment", "tables")

CustomersOption = Annotated[
    int, typer.Option("--customers", "-n", min=100, help="Genuine customer accounts.")
]
DaysOption = Annotated[int, typer.Option("--days", "-d", min=7, help="Days of marketplace activity.")]
SeedOption = Annotated[
    int | None, typer.Option("--seed", "-s", help="Random seed (default: the settings' seed, 42).")
]
DriftOption = Annotated[
    int | None,
    typer.Option(
        "--drift-start-day",
        min=1,
        help="Day the drift (new fraud pattern, shifted customer mix) starts; default 80% of --days.",
    ),
]


def simulate_into_warehouse(
    settings: Settings,
    customers: int,
    days: int,
    seed: int | None,
    drift_start_day: int | None,
    *,
    start: dt.datetime | None = None,
) -> DataSummary:
    """Simulate with progress bars, replace the warehouse's tables, and summarise them."""
    from cartwise.data.simulator import SimulationConfig, run
    from cartwise.data.simulator.config import DEFAULT_START
    from cartwise.data.simulator.manifest import SimulationManifest, write_manifest
    from cartwise.data.simulator.summary import summarize

    config = SimulationConfig(
        customers=customers,
        days=days,
        seed=settings.seed if seed is None else seed,
        start=start if start is not None else DEFAULT_START,
        drift_start_day=drift_start_day,
    )
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        sim = progress.add_task(f"simulating {customers:,} customers × {days} days", total=len(_STEPS))

        def step(name: str) -> None:
            progress.update(sim, completed=_STEPS.index(name), description=f"simulating: {name}")

        result = run(config, progress=step)
        progress.update(sim, completed=len(_STEPS), description="simulated")
        elapsed = time.perf_counter() - started
        total_rows = sum(t.num_rows for t in result.tables.values())
        write = progress.add_task("writing tables", total=len(result.tables))
        written: list[str] = []

        def writing(name: str, table: pa.Table) -> None:
            if written:
                progress.advance(write)
            written.append(name)
            progress.update(write, description=f"writing {name} ({table.num_rows:,} rows)")

        with make_warehouse(settings) as warehouse:
            # One transaction for every table: an interrupted write leaves the old data whole.
            warehouse.write_tables(result.tables, mode="replace", on_table=writing)
            progress.update(write, completed=len(result.tables), description="written")
            drift = config.start + dt.timedelta(days=config.drift_day)
            summary = summarize(warehouse, drift_start=drift)
    manifest = write_manifest(SimulationManifest.of(result), settings.data_dir)
    console.print(
        f"simulated {total_rows:,} rows in {elapsed:.1f} s ({total_rows / elapsed:,.0f} rows/s) "
        f"into the {settings.warehouse.type} warehouse"
        + (f" at {settings.warehouse_path}" if settings.warehouse.type == "duckdb" else "")
        + f"; settings and drift day in {manifest}"
    )
    return summary


def render_summary(summary: DataSummary) -> Table:
    """The summary as a rich table."""
    out = Table(title="marketplace data", show_header=True)
    out.add_column("what")
    out.add_column("value", justify="right")
    for name, n in summary.rows.items():
        out.add_row(f"rows: {name}", f"{n:,}")
    if summary.first_checkout_at and summary.last_checkout_at:
        out.add_row("checkouts from", summary.first_checkout_at.strftime("%Y-%m-%d"))
        out.add_row("checkouts to", summary.last_checkout_at.strftime("%Y-%m-%d"))
    out.add_row("fraud rate (reported chargebacks / checkouts)", f"{summary.fraud_rate:.2%}")
    for fraud_type, rate in summary.fraud_rate_by_type.items():
        out.add_row(f"  {fraud_type}", f"{rate:.3%}")
    out.add_row("default rate (60+ dpd, of resolved plans)", f"{summary.default_rate:.2%}")
    out.add_row("resolved credit outcomes", f"{summary.resolved_outcomes:,}")
    if summary.label_delay_days:
        lo, mid, hi = summary.label_delay_days
        out.add_row("chargeback delay min / median / max", f"{lo:.1f} / {mid:.1f} / {hi:.1f} days")
    if summary.drift_day:
        out.add_row("drift day", summary.drift_day.isoformat())
    if summary.fraud_rate_before_drift is not None:
        out.add_row("  fraud rate before drift (reported)", f"{summary.fraud_rate_before_drift:.2%}")
    if summary.fraud_rate_after_drift is not None:
        out.add_row("  fraud rate from drift (reported so far)", f"{summary.fraud_rate_after_drift:.2%}")
    return out


@app.command("simulate")
def simulate(
    ctx: typer.Context,
    customers: CustomersOption = 50_000,
    days: DaysOption = 120,
    seed: SeedOption = None,
    drift_start_day: DriftOption = None,
) -> None:
    """Simulate a pay-later marketplace and write every table to the warehouse (replacing them)."""
    summary = simulate_into_warehouse(settings_from(ctx), customers, days, seed, drift_start_day)
    console.print(render_summary(summary))


def demo_simulation(
    settings: Settings, customers: int, days: int, seed: int | None, start: dt.datetime | None = None
) -> DataSummary:
    """The data stage of the demo: simulate the marketplace and summarise it."""
    return simulate_into_warehouse(settings, customers, days, seed, None, start=start)

"""Data commands: ``cartwise ingest`` and ``cartwise tables`` (``cartwise simulate`` lives in simulate_commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cartwise.bootstrap import make_warehouse
from cartwise.cli.main import app, console, settings_from

__all__: list[str] = []


@app.command("tables")
def tables(ctx: typer.Context) -> None:
    """List the warehouse's tables with their row counts."""
    settings = settings_from(ctx)
    with make_warehouse(settings) as warehouse:
        out = Table(title=f"warehouse ({settings.warehouse.type})")
        out.add_column("table")
        out.add_column("rows", justify="right")
        for name in warehouse.table_names():
            out.add_row(name, f"{warehouse.row_count(name):,}")
    console.print(out)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table of the cartwise data model, e.g. checkouts.")],
    file: Annotated[Path, typer.Argument(help="Parquet or CSV file with the table's columns.")],
    mode: Annotated[str, typer.Option(help="replace the table, or append to it.")] = "replace",
) -> None:
    """Load a Parquet/CSV file into a warehouse table after validating it (all or nothing)."""
    from cartwise.data.ingest import ingest_file

    if mode not in ("replace", "append"):
        raise typer.BadParameter("--mode must be 'replace' or 'append'")
    settings = settings_from(ctx)
    with make_warehouse(settings) as warehouse:
        n = ingest_file(warehouse, table, file, mode=mode)  # type: ignore[arg-type]
    console.print(f"ingested {n:,} rows into {table}")

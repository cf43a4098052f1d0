"""Feature commands: ``cartwise features list`` and ``cartwise features backfill``.

``features_app`` is the ``cartwise features`` group; the online commands
(``materialize``, ``serve-stream``) add themselves to it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cartwise.bootstrap import make_warehouse
from cartwise.cli.main import app, console, settings_from
from cartwise.config import Settings
from cartwise.errors import ConfigError, FeatureError

__all__ = ["backfill_command", "features_app", "list_command"]

features_app = typer.Typer(
    help="Feature definitions, point-in-time training frames and the online store.",
    no_args_is_help=True,
)
app.add_typer(features_app, name="features")

GroupOption = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="Only features of this group (fraud, credit, recs); repeatable."),
]


def _feature_set(groups: list[str] | None):  # type: ignore[no-untyped-def]
    from cartwise.features.catalog import CATALOG

    return CATALOG.select(*groups) if groups else CATALOG


@features_app.command("list")  # type: ignore[untyped-decorator, unused-ignore]
def list_command(groups: GroupOption = None) -> None:
    """List every feature: name, entity, source, aggregation, window and groups."""
    feature_set = _feature_set(groups)
    out = Table(
        title=f"feature set {feature_set.name} · {len(feature_set)} features · version {feature_set.version}"
    )
    for column in ("feature", "entity", "source", "aggregation", "window", "groups"):
        out.add_column(column)
    for f in feature_set.features:
        what = f"{f.function}({f.column or '*'})" + (f" where {f.where}" if f.where else "")
        source = f.source + (" (known_at)" if f.label_delayed else "")
        out.add_row(f.name, "+".join(f.entities), source, what, f.window, ",".join(f.groups))
    for od in feature_set.on_demand:
        inputs = ", ".join(od.inputs)
        kind = "request" if od.request_inputs else "derived"
        out.add_row(
            od.name,
            "-",
            kind,
            f"{getattr(od.function, '__name__', 'fn')}({inputs})",
            "-",
            ",".join(od.groups),
        )
    console.print(out)


def _settings_for(settings: Settings, engine: str) -> Settings:
    if engine in ("duckdb", "postgres") and settings.warehouse.type != engine:
        return settings.model_copy(
            update={"warehouse": settings.warehouse.model_copy(update={"type": engine})}
        )
    return settings


@features_app.command("backfill")  # type: ignore[untyped-decorator, unused-ignore]
def backfill_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write the training frame to.")],
    spine: Annotated[
        str, typer.Option("--spine", help="Warehouse table whose rows are the spine (keys + its event time).")
    ] = "checkouts",
    engine: Annotated[str, typer.Option("--engine", help="duckdb, postgres or spark.")] = "duckdb",
    groups: GroupOption = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N spine rows.")] = None,
) -> None:
    """Compute point-in-time features for every row of a warehouse table and write them to Parquet."""
    import pyarrow.parquet as pq

    from cartwise.domain.schemas import table_spec
    from cartwise.features.offline import training_frame

    if engine not in ("duckdb", "postgres", "spark"):
        raise ConfigError(f"--engine {engine!r} is not one of duckdb, postgres, spark")
    if out.suffix != ".parquet":
        raise ConfigError(f"--out {out} should end in .parquet")
    spec = table_spec(spine)
    if spec.event_time is None:
        raise ConfigError(f"table {spine} has no event time, so it cannot be a spine")
    feature_set = _feature_set(groups)
    settings = _settings_for(settings_from(ctx), engine)
    with make_warehouse(settings, read_only=False) as warehouse:
        table = warehouse.read_table(spine)
        if limit is not None:
            table = table.slice(0, limit)
        # views keyed by columns the spine lacks (e.g. product features on checkouts) are left out
        usable = [v for v in feature_set.views if all(k in table.column_names for k in v.join_keys)]
        skipped = [v.name for v in feature_set.views if v not in usable]
        wanted = [f.name for v in usable for f in v.features]
        for od in feature_set.on_demand:
            closure_ok = all(i in wanted or i in table.column_names or i == "feature_time" for i in od.inputs)
            if closure_ok:
                wanted.append(od.name)
        if not wanted:
            raise FeatureError(f"no feature of {feature_set.name} can be keyed by the columns of {spine}")
        chosen = feature_set.subset(wanted, name=feature_set.name)
        if skipped:
            console.print(f"[yellow]skipped views keyed by columns {spine} lacks:[/] {', '.join(skipped)}")
        keep = [c for c in table.column_names if c not in ("product_ids",)]
        table = table.select(keep)
        spark = None
        if engine == "spark":
            from cartwise.features.spark import SparkEngine

            spark = SparkEngine()
        started = time.perf_counter()
        with console.status(
            f"computing {len(chosen)} features for {table.num_rows:,} {spine} rows on {engine}"
        ):
            frame = training_frame(
                warehouse,
                table,
                chosen,
                timestamp_column=spec.event_time,
                engine="spark" if engine == "spark" else "warehouse",
                spark=spark,
            )
        if spark is not None:
            spark.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(frame, tmp)
    tmp.replace(out)  # all or nothing
    console.print(
        f"wrote {frame.num_rows:,} rows x {len(chosen)} features ({feature_set.name} v{chosen.version}) "
        f"to {out} in {time.perf_counter() - started:.1f} s"
    )

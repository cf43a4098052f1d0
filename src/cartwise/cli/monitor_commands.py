"""Monitoring commands: ``cartwise monitor run`` (gauges for the alerts) and ``cartwise monitor report`` (HTML)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.table import Table

from cartwise.bootstrap import make_warehouse
from cartwise.cli.main import app, console, settings_from
from cartwise.config import Settings
from cartwise.errors import ConfigError

if TYPE_CHECKING:
    from cartwise.monitoring.monitor import MonitorResult

__all__ = ["load_monitoring_inputs", "monitor_app", "monitor_once"]

logger = logging.getLogger(__name__)

monitor_app = typer.Typer(
    name="monitor",
    help="Drift, delayed-label performance, estimated performance, gauges and reports.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")

ReferenceDays = Annotated[
    int,
    typer.Option(
        "--reference-days", min=1, help="Days at the start of the log that form the reference window."
    ),
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate as of this UTC date/time (ISO 8601); default: the last decision."),
]
Jobs = Annotated[int, typer.Option("--n-jobs", min=1, max=2, help="Threads for drift (1 or 2).")]


def _service_log(settings: Settings, reference_days: int) -> pa.Table | None:
    """The decision service's log as a validated table, if it spans more than the reference window."""
    from cartwise.monitoring.decision_log import validate_decision_log
    from cartwise.serving.bootstrap import decision_log_for
    from cartwise.serving.decision_log import SqliteDecisionLog

    log = decision_log_for(settings)
    if isinstance(log, SqliteDecisionLog) and not log.path.exists():
        return None
    log.open_for_reading()
    try:
        table = log.to_arrow()
    finally:
        log.close()
    if not table.num_rows:
        return None
    decided = table.column("decided_at")
    span = pc.max(decided).as_py() - pc.min(decided).as_py()
    if span <= dt.timedelta(days=reference_days):
        console.print(
            f"the decision service's log spans {span.days} days, not more than the {reference_days}-day "
            "reference window: not monitored yet"
        )
        return None
    return validate_decision_log(table)


def load_monitoring_inputs(
    settings: Settings, seed: int | None = None, *, reference_days: int = 42
) -> tuple[pa.Table, pa.Table, pa.Table, str]:
    """Decision log (validated) and label tables from the warehouse; says where the log came from.

    The log is, in order: the decision service's own log (the ``decision_log``
    table in a PostgreSQL warehouse, or the SQLite file under the data dir) once it
    spans more than ``reference_days``; else a ``decision_log`` table in a DuckDB
    warehouse; else the simulated checkouts scored with reference-window models
    (:mod:`cartwise.monitoring.simulated_log`).
    """
    from cartwise.monitoring.decision_log import DECISION_LOG_TABLE, validate_decision_log
    from cartwise.monitoring.simulated_log import decision_log_from_simulation

    if settings.warehouse.type == "duckdb" and not settings.warehouse_path.exists():
        raise ConfigError(
            f"no warehouse at {settings.warehouse_path}; run `cartwise simulate` (or ingest data) first, "
            "or pass the --data-dir that holds it"
        )
    with make_warehouse(settings, read_only=True) as warehouse:
        held = set(warehouse.table_names())
        for name in ("chargebacks", "credit_outcomes"):
            if name not in held:
                raise ConfigError(
                    f"the warehouse holds no {name!r} table; run `cartwise simulate` or ingest the label tables first"
                )
        chargebacks = warehouse.read_table("chargebacks")
        credit_outcomes = warehouse.read_table("credit_outcomes")
        served = _service_log(settings, reference_days)
        if served is not None:
            return served, chargebacks, credit_outcomes, "the decision service's log"
        if DECISION_LOG_TABLE in held and settings.warehouse.type != "postgres":
            return (
                validate_decision_log(warehouse.read_table(DECISION_LOG_TABLE)),
                chargebacks,
                credit_outcomes,
                "decision_log table",
            )
        tables: dict[str, pa.Table] = {
            name: warehouse.read_table(name)
            for name in ("checkouts", "customers", "merchants")
            if name in held
        }
    tables.update({"chargebacks": chargebacks, "credit_outcomes": credit_outcomes})
    console.print("no decision_log table yet: scoring the simulated checkouts with reference-window models")
    log = decision_log_from_simulation(tables, seed=settings.seed if seed is None else seed)
    return log, chargebacks, credit_outcomes, "simulated checkouts"


def monitor_once(settings: Settings, reference_days: int, as_of: str | None, n_jobs: int) -> MonitorResult:
    """Load the inputs and run one monitoring pass."""
    import pandas as pd

    from cartwise.monitoring.monitor import run_monitoring

    if as_of is not None:
        try:
            pd.Timestamp(as_of)
        except ValueError:
            raise ConfigError(
                f"--as-of {as_of!r} is not a date; use ISO 8601, e.g. 2026-04-20 or 2026-04-20T12:00"
            ) from None

    log, chargebacks, credit_outcomes, source = load_monitoring_inputs(
        settings, reference_days=reference_days
    )
    with console.status(f"monitoring {log.num_rows:,} decisions ({source})"):
        return run_monitoring(
            log, chargebacks, credit_outcomes, reference_days=reference_days, as_of=as_of, n_jobs=n_jobs
        )


def _summary(result: MonitorResult) -> Table:
    out = Table(title="monitoring", show_header=True)
    out.add_column("what")
    out.add_column("value", justify="right")
    out.add_row("reference window", f"{result.reference_start:%Y-%m-%d} – {result.reference_end:%Y-%m-%d}")
    out.add_row("as of", f"{result.as_of:%Y-%m-%d %H:%M}")
    flagged = result.flagged_weeks()
    out.add_row("weeks flagged for drift", ", ".join(f"{w:%Y-%m-%d}" for w in flagged) or "none")
    if result.last_full_week is not None:
        top = result.drift.top_features("week", result.last_full_week, top=3)
        out.add_row(
            f"top drift, week of {result.last_full_week:%Y-%m-%d}",
            ", ".join(f"{r.feature} {r.psi:.2f}" for r in top.itertuples()),
        )
    for g in result.gauges():
        if g.name in ("cartwise_estimated_auc", "cartwise_realised_auc", "cartwise_score_psi"):
            out.add_row(f"{g.name} {g.labels.get('model', '')}", f"{g.value:.3f}")
    return out


@monitor_app.command("run")
def run(
    ctx: typer.Context,
    reference_days: ReferenceDays = 42,
    as_of: AsOf = None,
    n_jobs: Jobs = 1,
    gauges: Annotated[
        Path | None,
        typer.Option(
            "--gauges", help="Where to write the gauges (default <data_dir>/monitoring/gauges.json)."
        ),
    ] = None,
) -> None:
    """Compute drift, realised and estimated performance, and write the gauges the alerts read."""
    from cartwise.monitoring.gauges import gauges_path, write_gauges

    settings = settings_from(ctx)
    result = monitor_once(settings, reference_days, as_of, n_jobs)
    path = write_gauges(gauges or gauges_path(settings.data_dir), result.gauges(dt.datetime.now(dt.UTC)))
    console.print(_summary(result))
    console.print(f"wrote {len(result.gauges())} gauges to {path}")


@monitor_app.command("report")
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "monitoring-report.html"
    ),
    reference_days: ReferenceDays = 42,
    as_of: AsOf = None,
    n_jobs: Jobs = 1,
    drift_start: Annotated[
        str | None,
        typer.Option("--drift-start", help="Known drift start date to mark in the report (simulations)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report: drift over time, label maturity, realised vs estimated, calibration."""
    from cartwise.monitoring.report import write_report

    settings = settings_from(ctx)
    result = monitor_once(settings, reference_days, as_of, n_jobs)
    path = write_report(result, out, drift_start=drift_start)
    console.print(_summary(result))
    console.print(f"wrote the report to {path}")

"""Model lifecycle commands: ``train``, ``promote``, ``rollback``, ``models list|history``, ``pipeline run``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cartwise.cli.main import app, console, settings_from
from cartwise.errors import ConfigError

__all__ = ["models_app", "pipeline_app"]

models_app = typer.Typer(
    help="Registered models: versions, aliases, promotion history.", no_args_is_help=True
)
pipeline_app = typer.Typer(help="The retraining pipeline for every model.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(pipeline_app, name="pipeline")

_ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")]
_StartOpt = Annotated[
    str | None,
    typer.Option("--start", help="Only data at or after this UTC time (ISO 8601, e.g. 2026-01-01)."),
]
_EndOpt = Annotated[str | None, typer.Option("--end", help="Only data before this UTC time (ISO 8601).")]


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{option} {text!r} is not an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T12:00"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _first_clause(text: str | None, limit: int = 60) -> str:
    """A table-sized start of a long refusal; the whole text is printed below the table."""
    if not text:
        return ""
    head = text.split(";")[0]
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _print_outcome(outcome: object) -> None:
    from cartwise.pipelines.lifecycle import TrainOutcome

    assert isinstance(outcome, TrainOutcome)
    metrics = Table(title=f"{outcome.model} v{outcome.version} — holdout metrics (run {outcome.run_id[:12]})")
    metrics.add_column("metric")
    metrics.add_column("challenger", justify="right")
    champion_label = f"champion v{outcome.champion_version}" if outcome.champion_version else "champion"
    metrics.add_column(champion_label, justify="right")
    for name, value in sorted(outcome.metrics.items()):
        metrics.add_row(name, _fmt(value), _fmt(outcome.champion_metrics.get(name)))
    console.print(metrics)
    gates = Table(title="promotion gates")
    for column in ("gate", "result", "value", "threshold", "margin", "detail"):
        gates.add_column(column, justify="right" if column in ("value", "threshold", "margin") else "left")
    for gate in outcome.gates:
        result = "[green]pass[/]" if gate.passed else "[bold red]FAIL[/]"
        gates.add_row(
            gate.name, result, _fmt(gate.value), _fmt(gate.threshold), _fmt(gate.margin), gate.message
        )
    console.print(gates)
    if outcome.promoted:
        console.print(f"[green]{outcome.model} v{outcome.version} is now the champion[/]")
    elif outcome.refusal:
        console.print(
            f"[yellow]{outcome.model} v{outcome.version} registered as challenger, not promotable:[/] {outcome.refusal}"
        )
    else:
        console.print(
            f"{outcome.model} v{outcome.version} registered as challenger; "
            f"promote it with `cartwise promote {outcome.model}`"
        )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command("train")
def train(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="fraud, credit or recs.")],
    auto_promote: Annotated[
        bool, typer.Option("--auto-promote", help="Promote to champion when every gate passes.")
    ] = False,
    start: _StartOpt = None,
    end: _EndOpt = None,
    actor: _ActorOpt = None,
) -> None:
    """Build the training frame, train, evaluate against the champion on the same holdout, gate, register as challenger."""
    from cartwise.bootstrap import make_warehouse
    from cartwise.pipelines.base import TrainContext
    from cartwise.pipelines.lifecycle import STEPS, train_model
    from cartwise.pipelines.trainers import get_trainer
    from cartwise.registry.registry import ModelRegistry

    settings = settings_from(ctx)
    trainer = get_trainer(model, settings)
    registry = ModelRegistry.from_settings(settings)
    with (
        _progress() as progress,
        make_warehouse(settings, read_only=settings.warehouse.type == "duckdb") as warehouse,
    ):
        task = progress.add_task(f"{model}: start", total=len(STEPS))

        def on_step(step: str) -> None:
            if STEPS.index(step):
                progress.advance(task)
            progress.update(task, description=f"{model}: {step}")

        context = TrainContext(
            settings=settings,
            warehouse=warehouse,
            seed=settings.seed,
            start=_when(start, "--start"),
            end=_when(end, "--end"),
        )
        outcome = train_model(
            trainer, context, registry, auto_promote=auto_promote, actor=actor, on_step=on_step
        )
        progress.update(task, completed=len(STEPS), description=f"{model}: done")
    _print_outcome(outcome)


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="fraud, credit or recs.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Version to promote (default: the challenger).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")] = "",
    actor: _ActorOpt = None,
) -> None:
    """Make the challenger (or --version) the champion if every promotion gate passed; recorded."""
    from cartwise.registry.promotion import promote
    from cartwise.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings_from(ctx))
    event = promote(registry, model, version, actor=actor, reason=reason)
    console.print(
        f"[green]{model}: champion v{event.from_version or '-'} → v{event.to_version}[/] "
        f"(by {event.actor} at {event.at:%Y-%m-%d %H:%M:%S} UTC)"
    )


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="fraud, credit or recs.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")] = "",
    actor: _ActorOpt = None,
) -> None:
    """Restore the previous champion; recorded."""
    from cartwise.registry.promotion import rollback
    from cartwise.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings_from(ctx))
    event = rollback(registry, model, actor=actor, reason=reason)
    console.print(
        f"[yellow]{model}: champion v{event.from_version} → v{event.to_version} (rollback)[/] "
        f"(by {event.actor} at {event.at:%Y-%m-%d %H:%M:%S} UTC)"
    )


@models_app.command("list")
def list_models(ctx: typer.Context) -> None:
    """Every registered model and version with its aliases, primary metric and gate outcome."""
    from cartwise.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings_from(ctx))
    out = Table(title=f"registered models ({registry._where()})")
    for column in ("model", "version", "aliases", "primary metric", "gates", "data end", "registered (UTC)"):
        out.add_column(column)
    for model in registry.models():
        for info in registry.versions(model):
            metric = info.tags.get("cartwise.primary_metric", "")
            value = info.tags.get(f"cartwise.metric.{metric}", "")
            out.add_row(
                model,
                str(info.version),
                ", ".join(info.aliases),
                f"{metric} {float(value):.4f}" if value else "",
                {"true": "passed", "false": "failed"}.get(info.tags.get("cartwise.gates_passed", ""), ""),
                info.tags.get("cartwise.data_end", "")[:19],
                f"{info.created_at:%Y-%m-%d %H:%M:%S}",
            )
    console.print(out)


@models_app.command("history")
def history(ctx: typer.Context, model: Annotated[str, typer.Argument(help="fraud, credit or recs.")]) -> None:
    """Every promotion and rollback of MODEL: who, what, when, why."""
    from cartwise.registry.history import read_history
    from cartwise.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings_from(ctx))
    events = read_history(registry, model)
    out = Table(title=f"{model}: promotion history")
    for column in ("when (UTC)", "action", "from", "to", "who", "why", "gates"):
        out.add_column(column)
    for event in events:
        gates = ", ".join(f"{g.name} {'ok' if g.passed else 'FAIL'}" for g in event.gates)
        out.add_row(
            f"{event.at:%Y-%m-%d %H:%M:%S}",
            event.action,
            f"v{event.from_version}" if event.from_version is not None else "-",
            f"v{event.to_version}",
            event.actor,
            event.reason,
            gates,
        )
    console.print(out)
    if not events:
        console.print(f"no promotions or rollbacks recorded for {model!r}")


@pipeline_app.command("run")
def pipeline_run(
    ctx: typer.Context,
    auto_promote: Annotated[
        bool,
        typer.Option("--auto-promote/--no-auto-promote", help="Promote each model whose gates all pass."),
    ] = True,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Only these models (repeatable; default: all).")
    ] = None,
    start: _StartOpt = None,
    end: _EndOpt = None,
    actor: _ActorOpt = None,
) -> None:
    """features → train → evaluate → gate → register → promote (if allowed), for every model."""
    from cartwise.pipelines.lifecycle import STEPS
    from cartwise.pipelines.run import run_pipeline
    from cartwise.pipelines.trainers import trainer_names

    settings = settings_from(ctx)
    names: Sequence[str] = model or trainer_names()
    with _progress() as progress:
        overall = progress.add_task("pipeline", total=len(names))
        tasks: dict[str, TaskID] = {
            name: progress.add_task(f"{name}: waiting", total=len(STEPS), start=False) for name in names
        }
        current: list[str] = []

        def on_model(name: str) -> None:
            if current:
                progress.update(tasks[current[-1]], completed=len(STEPS))
                progress.stop_task(tasks[current[-1]])
                progress.advance(overall)
            current.append(name)
            progress.start_task(tasks[name])

        def on_step(name: str, step: str) -> None:
            progress.update(tasks[name], completed=STEPS.index(step), description=f"{name}: {step}")

        results = run_pipeline(
            settings,
            models=names,
            auto_promote=auto_promote,
            actor=actor,
            start=_when(start, "--start"),
            end=_when(end, "--end"),
            on_model=on_model,
            on_step=on_step,
        )
        for result in results:
            done = "done" if result.error is None else "FAILED"
            progress.update(tasks[result.model], completed=len(STEPS), description=f"{result.model}: {done}")
            progress.stop_task(tasks[result.model])
        progress.update(overall, completed=len(names))
    summary = Table(title="pipeline run")
    for column in ("model", "version", "primary metric", "champion", "gates", "promoted", "note"):
        summary.add_column(column)
    for result in results:
        outcome = result.outcome
        if outcome is None:
            summary.add_row(result.model, "", "", "", "", "", f"[red]{_first_clause(result.error)}[/]")
            continue
        metric = next(iter(g for g in outcome.gates if g.name == "primary_metric"))
        summary.add_row(
            result.model,
            f"v{outcome.version}",
            _fmt(metric.value),
            f"v{outcome.champion_version}" if outcome.champion_version else "-",
            "passed" if outcome.gates_passed else "failed",
            "yes" if outcome.promoted else "no",
            _first_clause(outcome.refusal),
        )
    console.print(summary)
    for result in results:  # the full reasons, unwrapped, below the table
        reason = result.error or (result.outcome.refusal if result.outcome is not None else None)
        if reason:
            console.print(f"[yellow]{result.model}:[/] {reason}", highlight=False)
    if any(r.error for r in results):
        raise typer.Exit(1)

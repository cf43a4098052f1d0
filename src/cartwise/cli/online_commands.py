"""Online feature commands: ``cartwise features materialize`` and ``cartwise features serve-stream``."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from cartwise.bootstrap import make_online_store, make_stream, make_warehouse
from cartwise.cli.features_commands import features_app
from cartwise.cli.main import console, settings_from
from cartwise.errors import ConfigError
from cartwise.features.definitions import FeatureSet

__all__ = ["materialize_command", "serve_stream_command"]

FeatureSetOption = Annotated[
    str, typer.Option("--feature-set", "-f", help="Which features: all, fraud, credit or recs.")
]


def _feature_set(name: str) -> FeatureSet:
    from cartwise.features import catalog

    sets = {
        "all": catalog.CATALOG,
        "fraud": catalog.FRAUD_FEATURES,
        "credit": catalog.CREDIT_FEATURES,
        "recs": catalog.RECS_FEATURES,
    }
    if name not in sets:
        raise ConfigError(f"--feature-set {name!r} is not one of {', '.join(sets)}")
    return sets[name]


def _parse_time(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"--as-of {text!r} is not an ISO 8601 time, e.g. 2026-04-30T12:00:00+00:00"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@features_app.command("materialize")  # type: ignore[untyped-decorator, unused-ignore]
def materialize_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Load the state as of this time (ISO 8601; default now).")
    ] = None,
    feature_set: FeatureSetOption = "all",
) -> None:
    """Load the online store from the warehouse: every entity's recent rows, as of a time."""
    from cartwise.features.online.materialize import materialize

    settings = settings_from(ctx)
    features = _feature_set(feature_set)
    when = _parse_time(as_of)
    if settings.online_store.type == "memory":
        console.print(
            "[yellow]note:[/] the in-process online store lives only in this process; "
            "set online_store.type: redis to keep what is materialised"
        )
    with make_warehouse(settings, read_only=True) as warehouse:
        store = make_online_store(settings, features)
        try:
            with console.status("materialising online features"):
                result = materialize(warehouse, store, features, when)
        finally:
            store.close()
    console.print(
        f"materialised {result.rows:,} rows into {result.states:,} entity states of "
        f"{len(store.plan.views)} feature views as of {when.isoformat()} in {result.seconds:.1f} s "
        f"({settings.online_store.type} store)"
    )


@features_app.command("serve-stream")  # type: ignore[untyped-decorator, unused-ignore]
def serve_stream_command(
    ctx: typer.Context,
    feature_set: FeatureSetOption = "all",
    replay_warehouse: Annotated[
        bool,
        typer.Option(
            "--replay-warehouse", help="First publish the warehouse's events onto the stream (demos)."
        ),
    ] = False,
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            "--idle-timeout", help="Stop after this many seconds without events (default: run until Ctrl-C)."
        ),
    ] = None,
    max_events: Annotated[
        int | None, typer.Option("--max-events", help="Stop after this many events.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Events per micro-batch.")] = 5000,
) -> None:
    """Apply the event stream to the online store until stopped: exactly once in effect, checkpointed."""
    from cartwise.streaming.processor import StreamProcessor
    from cartwise.streaming.replay import warehouse_events

    settings = settings_from(ctx)
    features = _feature_set(feature_set)
    store = make_online_store(settings, features)
    stream = make_stream(settings)
    processor = StreamProcessor(store, stream, batch_size=batch_size)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        warehouse = make_warehouse(settings, read_only=True)
        with warehouse:
            processor.load_lookups(warehouse)
            if replay_warehouse:
                events = warehouse_events(warehouse)
                stream.publish(events)
                console.print(f"published {len(events):,} events from the warehouse")
        if settings.stream.type == "memory" and not replay_warehouse:
            console.print("[yellow]note:[/] the in-process stream starts empty; pass --replay-warehouse")
        with console.status(f"applying events from the {settings.stream.type} stream (Ctrl-C stops)"):
            metrics = processor.run(max_events=max_events, idle_timeout=idle_timeout, stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        processor.close()
        stream.close()
        store.close()
    table = Table(title="stream processor")
    for column in ("events", "rows applied", "duplicates", "too late", "events/s", "lag"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{metrics.events:,}",
        f"{metrics.applied_rows:,}",
        f"{metrics.duplicate_rows:,}",
        f"{metrics.too_late:,}",
        f"{metrics.events_per_second:,.0f}",
        "n/a" if metrics.lag is None else f"{metrics.lag:,}",
    )
    console.print(table)

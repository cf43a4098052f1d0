"""The ``cartwise`` command: one app, a module per noun."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cartwise.config import Settings, load_settings
from cartwise.errors import CartwiseError

__all__ = ["app", "main", "settings_from"]

app = typer.Typer(
    name="cartwise",
    help="cartwise: fraud, credit and recommendations for pay-later commerce, with their whole lifecycle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where cartwise keeps its data (default ./cartwise-data).",
            envvar="CARTWISE_DATA_DIR",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="YAML settings file (adapters, DSNs, ports).", envvar="CARTWISE_CONFIG"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = load_settings(config, data_dir=data_dir)


def settings_from(ctx: typer.Context) -> Settings:
    """The settings the root callback built."""
    root = ctx.find_root()
    settings = root.obj
    if not isinstance(settings, Settings):  # called without the root callback (tests)
        settings = load_settings()
        root.obj = settings
    return settings


def _register() -> None:
    # One line per command module; each module adds its commands to `app`.
    from cartwise.cli import (
        data_commands,  # noqa: F401
        demo_commands,  # noqa: F401
        features_commands,  # noqa: F401
        model_commands,  # noqa: F401
        monitor_commands,  # noqa: F401
        online_commands,  # noqa: F401
        serve_commands,  # noqa: F401
        simulate_commands,  # noqa: F401
    )


def main() -> None:
    """Entry point: turns cartwise's own errors into a one-line message and exit code 2.

    Usage mistakes (an unknown command or option, a bad value) are printed by the command
    line library itself, with its usage line and exit code 2: ``standalone_mode`` is on.
    """
    _register()
    try:
        app()
    except CartwiseError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)

"""``cartwise demo``: the whole platform end to end on embedded defaults.

simulate a marketplace → train, gate, register and promote fraud, credit and
recommendations → monitor drift and performance → serve decisions over HTTP,
then print curl commands that work against the running service.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from cartwise.cli.main import app, console, settings_from
from cartwise.cli.serve_commands import check_port_free
from cartwise.cli.simulate_commands import (
    CustomersOption,
    DaysOption,
    SeedOption,
    demo_simulation,
    render_summary,
)
from cartwise.config import Settings
from cartwise.errors import CartwiseError

__all__ = ["demo"]

DEMO_DAYS = 180
"""Long enough for credit outcomes of the first months to mature before the end of the data."""


def _monitor(settings: Settings, drift_start: dt.date | None) -> Path:
    from cartwise.cli.monitor_commands import _summary, monitor_once
    from cartwise.monitoring.gauges import gauges_path, write_gauges
    from cartwise.monitoring.report import write_report

    result = monitor_once(settings, reference_days=42, as_of=None, n_jobs=1)
    write_gauges(gauges_path(settings.data_dir), result.gauges(dt.datetime.now(dt.UTC)))
    out = write_report(
        result,
        settings.data_dir / "monitoring" / "report.html",
        drift_start=drift_start.isoformat() if drift_start else None,
    )
    console.print(_summary(result))
    return Path(out)


def _without_champion(settings: Settings) -> list[str]:
    """The served models that have no champion in the registry."""
    from cartwise.registry.registry import CHAMPION, ModelRegistry
    from cartwise.serving.models import MODELS

    registry = ModelRegistry.from_settings(settings)
    return [m for m in MODELS if registry.alias_version(m, CHAMPION) is None]


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """None once /readyz answers 200; otherwise the last reason the service gave."""
    deadline = time.monotonic() + timeout
    reason = "the service did not answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the service exited with code {process.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return None
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace")[:500]
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return reason


def _serve(settings: Settings, port: int) -> None:
    from cartwise.cli.serve_commands import example_curls
    from cartwise.serving.bootstrap import keys_path
    from cartwise.serving.security import create_key

    key = create_key(keys_path(settings), "demo", ["decisions", "recommendations", "admin"])
    host = settings.serving.host
    url = f"http://{host}:{port}"
    command = [
        sys.executable,
        "-m",
        "cartwise.cli",
        "--data-dir",
        str(settings.data_dir),
        "serve",
        "--host",
        host,
        "--port",
        str(port),
    ]
    env = dict(os.environ)
    if os.environ.get("CARTWISE_CONFIG"):
        env["CARTWISE_CONFIG"] = os.environ["CARTWISE_CONFIG"]
    process = subprocess.Popen(command, env=env)
    # A plain `kill` of the demo must stop its service too: SIGTERM unwinds to the finally below.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with console.status(f"starting the decision service on {url}"):
            problem = _wait_ready(url, process, timeout=180)
        if problem is not None:
            console.print(f"[bold red]the service is not ready:[/] {problem}")
            raise typer.Exit(1)
        console.rule("the decision service is running — try it")
        typer.echo(example_curls(url, key))
        console.print(f"\n(API key for client 'demo' shown once above; Ctrl-C stops the service at {url})")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@app.command("demo")
def demo(
    ctx: typer.Context,
    customers: CustomersOption = 50_000,
    days: DaysOption = DEMO_DAYS,
    seed: SeedOption = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the decision service at the end.")
    ] = True,
    port: Annotated[int | None, typer.Option(help="Port for the service (default from settings).")] = None,
) -> None:
    """Run the platform end to end: simulate → train, gate, promote → monitor → serve (embedded defaults).

    The simulated marketplace ends today, so the service's features at request
    time see the recent history they would see in production.
    """
    from cartwise.cli.model_commands import pipeline_run

    settings = settings_from(ctx)
    if serve:  # find out now, not after the pipeline, that the service could not start
        check_port_free(settings.serving.host, port or settings.serving.port)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days)

    console.rule("1/4 · marketplace data")
    summary = demo_simulation(settings, customers, days, seed, start=start)
    console.print(render_summary(summary))

    console.rule("2/4 · features → train → evaluate → gate → register → promote")
    failed = False
    try:
        pipeline_run(ctx, auto_promote=True, model=None, start=None, end=None, actor="cartwise demo")
    except typer.Exit as exc:  # a model that could not be trained is reported above; go on with the rest
        if exc.exit_code not in (0, None):
            failed = True
            console.print("[yellow]some models could not be trained; see the table above[/]")

    console.rule("3/4 · monitoring: drift, realised and estimated performance")
    try:
        report = _monitor(settings, summary.drift_day)
        console.print(f"monitoring report: {report}")
    except CartwiseError as exc:
        console.print(f"[yellow]monitoring skipped:[/] {exc}")

    if not serve:
        console.print(json.dumps({"data_dir": str(settings.data_dir), "served": False, "failed": failed}))
        if failed:
            raise typer.Exit(1)
        return
    missing = _without_champion(settings)
    if missing:
        # the service answers only with a champion for every model: say so now rather than wait it out
        console.print(
            f"[bold red]not starting the decision service:[/] no champion for {', '.join(missing)} "
            "(see the pipeline table above). Simulate more data — the defaults "
            f"(`cartwise demo -n 50000 -d {DEMO_DAYS}`) train all three — or train and promote them "
            "with `cartwise train MODEL` and `cartwise promote MODEL`."
        )
        raise typer.Exit(1)
    console.rule("4/4 · decision service")
    _serve(settings, port or settings.serving.port)

"""``cartwise serve`` (the decision service) and ``cartwise api-key`` (create a client key)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Annotated

import typer

from cartwise.cli.main import app, console, settings_from
from cartwise.errors import ConfigError

__all__ = ["api_key", "check_port_free", "example_curls", "serve"]


def check_port_free(host: str, port: int) -> None:
    """Refuse a host and port another process already listens on, before anything starts.

    Otherwise the new service fails to bind after loading its models, and meanwhile whatever holds
    the port (often an earlier ``cartwise serve``) answers in its place.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): another process (an earlier "
                "`cartwise serve` or `cartwise demo`?) holds it; stop that process or pass --port"
            ) from exc


def example_curls(base_url: str, key: str) -> str:
    """curl commands that exercise the running service."""
    checkout = {
        "checkout_id": 1001,
        "customer_id": 1,
        "merchant_id": 1,
        "amount_minor": 12999,
        "currency": "USD",
        "items": [{"product_id": 1, "quantity": 1, "unit_price_minor": 12999}],
        "device": {"device_id": "dev-1", "ip_country": "US"},
        "payment_instrument": {"type": "card", "fingerprint": "fp-1", "country": "US"},
        "plan_type": "pay_in_4",
    }
    h = f"-H 'X-API-Key: {key}' -H 'Content-Type: application/json'"
    return "\n".join(
        [
            f"curl -s {base_url}/readyz",
            f"curl -s {h} -d '{json.dumps(checkout)}' {base_url}/v1/checkout/decisions",
            f'curl -s {h} -d \'{{"customer_id": 1, "k": 10}}\' {base_url}/v1/recommendations',
            f"curl -s -H 'X-API-Key: {key}' '{base_url}/v1/products/search?q=running+shoes&k=5'",
            f"curl -s {base_url}/metrics | grep cartwise_decisions_total",
        ]
    )


@app.command("api-key")
def api_key(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Who the key is for, e.g. checkout-web.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="decisions, recommendations or admin (repeat for more)."),
    ] = None,
    rate: Annotated[float, typer.Option(help="Requests a second this key may make (token bucket).")] = 1000.0,
    burst: Annotated[int, typer.Option(help="Requests the key may make at once.")] = 2000,
) -> None:
    """Create an API key for a client; the key is printed once and only its hash is stored."""
    from cartwise.serving.bootstrap import keys_path
    from cartwise.serving.security import create_key

    settings = settings_from(ctx)
    path = keys_path(settings)
    raw = create_key(
        path, client, scope or ["decisions", "recommendations"], rate_per_second=rate, burst=burst
    )
    console.print(f"API key for {client} (stored hashed in {path}; it is not shown again):")
    typer.echo(raw)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings, 8080).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes.")] = None,
    poll_seconds: Annotated[float, typer.Option(help="How often to look for a new champion.")] = 10.0,
    open_invocations: Annotated[
        bool, typer.Option(help="Serve SageMaker's /invocations without an API key.")
    ] = False,
    max_batch: Annotated[
        int,
        typer.Option(help="Most checkouts a worker decides together (those that arrived while it was busy)."),
    ] = 32,
    currency: Annotated[
        list[str] | None,
        typer.Option(
            help="A currency the models were trained in (repeatable; default USD). Checkouts in any other get 422."
        ),
    ] = None,
) -> None:
    """Run the decision service (checkout decisions, recommendations, search, /metrics)."""
    import uvicorn

    from cartwise.serving.asgi import SERVICE_SETTINGS_ENV
    from cartwise.serving.bootstrap import keys_path, serving_dir
    from cartwise.serving.security import create_key

    settings = settings_from(ctx)
    host = host or settings.serving.host
    port = port or settings.serving.port
    workers = workers or settings.serving.workers
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if max_batch < 1:
        raise ConfigError(f"--max-batch must be at least 1 (1 decides each checkout alone), got {max_batch}")
    currencies = [c.strip().upper() for c in currency or ["USD"]]
    for code in currencies:
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ConfigError(f"--currency {code!r} is not a three-letter ISO 4217 code such as USD or EUR")
    overrides = {
        "poll_seconds": poll_seconds,
        "open_invocations": open_invocations,
        "max_decision_batch": max_batch,
        "currencies": list(dict.fromkeys(currencies)),
    }
    check_port_free(host, port)
    path = keys_path(settings)
    if not path.is_file():
        raw = create_key(path, "demo", ["decisions", "recommendations", "admin"])
        console.print(f"no API keys yet: created a demo key (stored hashed in {path}); try:")
        typer.echo(example_curls(f"http://{host}:{port}", raw))
    os.environ["CARTWISE_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    os.environ[SERVICE_SETTINGS_ENV] = json.dumps(overrides)
    if workers > 1:  # merge the workers' metrics on /metrics
        prom_dir = serving_dir(settings) / "prometheus"
        shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        # before the workers import numpy: one BLAS / OpenMP thread each (the app enforces it too)
        os.environ.setdefault(name, "1")
    uvicorn.run(
        "cartwise.serving.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )

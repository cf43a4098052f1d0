"""``cartwise pipeline run``, ``train``, ``promote``, ``rollback``, ``models list|history`` on the embedded defaults.

The registry is the default MLflow SQLite file under the data dir; the models are the
small real toy trainers (test_lifecycle_models.py) registered under two names, as a
company would plug in its own model kinds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_lifecycle_models import FEATURES, ToyTrainer, toy_warehouse
from typer.testing import CliRunner

from cartwise.cli.main import _register, app
from cartwise.config import load_settings
from cartwise.errors import GateError
from cartwise.pipelines import trainers
from cartwise.pipelines.run import run_pipeline
from cartwise.registry.registry import ModelRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    tmp = tmp_path_factory.mktemp("pipeline")
    warehouse = toy_warehouse(tmp)
    config = tmp / "cartwise.yaml"
    config.write_text(f"seed: 5\nwarehouse:\n  path: {warehouse}\n")
    saved = dict(trainers._EXTRA)
    trainers.register_trainer("toy_a", lambda settings: ToyTrainer(name="toy_a", uses=("x1",)))
    trainers.register_trainer("toy_b", lambda settings: ToyTrainer(name="toy_b"))
    _register()
    yield tmp, ["--data-dir", str(tmp / "data"), "--config", str(config)]
    trainers._EXTRA.clear()
    trainers._EXTRA.update(saved)


def _invoke(args: list[str]) -> object:
    return CliRunner().invoke(app, args, catch_exceptions=True)


def test_pipeline_run_trains_gates_registers_and_promotes_every_model(
    workspace: tuple[Path, list[str]],
) -> None:
    tmp, root = workspace
    result = _invoke([*root, "pipeline", "run", "--model", "toy_a", "--model", "toy_b"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    settings = load_settings(tmp / "cartwise.yaml", data_dir=tmp / "data")
    assert settings.tracking_uri.startswith("sqlite:///")
    assert (tmp / "data" / "mlflow.db").is_file()  # the embedded default registry
    registry = ModelRegistry.from_settings(settings)
    assert registry.aliases("toy_a") == {"champion": 1}
    assert registry.aliases("toy_b") == {"champion": 1}


def test_pipeline_rerun_with_same_data_and_seed_gives_same_metrics(workspace: tuple[Path, list[str]]) -> None:
    tmp, _ = workspace
    settings = load_settings(tmp / "cartwise.yaml", data_dir=tmp / "data")
    registry = ModelRegistry.from_settings(settings)
    (again,) = run_pipeline(settings, models=["toy_b"], auto_promote=False)
    assert again.outcome is not None
    first = registry.version("toy_b", 1).tags
    assert again.outcome.version == 2
    for metric, value in again.outcome.metrics.items():
        assert first[f"cartwise.metric.{metric}"] == repr(value)
    assert first["cartwise.data_hash"] == again.outcome.data_hash
    assert again.outcome.champion_metrics == again.outcome.metrics  # champion v1 scored on the same holdout


def test_cli_refuses_worse_promotes_better_rolls_back_and_shows_history(
    workspace: tuple[Path, list[str]],
) -> None:
    _, root = workspace
    trainers.register_trainer("toy_a", lambda settings: ToyTrainer(name="toy_a", uses=("x3",)))
    result = _invoke([*root, "train", "toy_a"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "FAIL" in result.output  # type: ignore[attr-defined]
    refused = _invoke([*root, "promote", "toy_a", "--reason", "try it"])
    assert isinstance(refused.exception, GateError)  # type: ignore[attr-defined]
    assert "gate primary_metric failed" in str(refused.exception)  # type: ignore[attr-defined]
    assert "short by" in str(refused.exception)  # type: ignore[attr-defined]

    trainers.register_trainer("toy_a", lambda settings: ToyTrainer(name="toy_a", uses=FEATURES))
    result = _invoke([*root, "train", "toy_a", "--auto-promote", "--actor", "dana"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "toy_a v3 is now the champion" in result.output  # type: ignore[attr-defined]
    result = _invoke([*root, "rollback", "toy_a", "--reason", "pager went off", "--actor", "erin"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "v3 → v1" in result.output  # type: ignore[attr-defined]

    history = _invoke([*root, "models", "history", "toy_a"])
    assert history.exit_code == 0, history.output  # type: ignore[attr-defined]
    lines = [line for line in history.output.splitlines() if "promote" in line or "rollback" in line]  # type: ignore[attr-defined]
    assert len(lines) == 3
    assert "rollback" in lines[2]
    assert "erin" in lines[2]
    assert "dana" in lines[1]

    listing = _invoke([*root, "models", "list"])
    assert listing.exit_code == 0, listing.output  # type: ignore[attr-defined]
    assert "champion" in listing.output  # type: ignore[attr-defined]
    assert "failed" in listing.output  # type: ignore[attr-defined]


def test_unreachable_registry_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """The real `cartwise` executable, pointed at a closed port."""
    config = tmp_path / "c.yaml"
    config.write_text("registry:\n  tracking_uri: http://127.0.0.1:9\n")
    exe = Path(sys.executable).parent / "cartwise"
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "COLUMNS": "200"}
    result = subprocess.run(
        [str(exe), "--data-dir", str(tmp_path), "--config", str(config), "promote", "fraud"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "could not read model 'fraud' from the MLflow registry at http://127.0.0.1:9" in " ".join(
        result.stderr.split()
    )

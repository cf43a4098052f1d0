"""MLflow tracking of a training run: parameters, metrics, plots, lineage tags and the model itself.

Every run of ``cartwise train`` logs, in experiment ``cartwise-<model>``:

- params: the trainer's hyper-parameters and the seed;
- metrics: the challenger's holdout metrics, and the champion's on the same holdout
  as ``champion.<metric>``;
- tags: ``cartwise.data_start`` / ``cartwise.data_end`` (time range of the training
  data), ``cartwise.data_hash`` (sha256 of its Arrow IPC), ``cartwise.feature_version``,
  ``cartwise.git_commit``, ``cartwise.seed``;
- artifacts: ``plots/`` (ROC/PR, calibration, lift), ``evaluation/`` (gates.json,
  input_schema.json, metrics.json) and ``model/`` — an MLflow pyfunc whose artifact is
  the bundle and whose signature is the input schema.

The client API is used throughout (no fluent global run), so nothing leaks between
models trained in one process.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cartwise.registry.bundle import BundleManifest
from cartwise.registry.gates import GateResult, gates_to_json
from cartwise.registry.plots import write_classifier_plots
from cartwise.registry.registry import ModelRegistry

__all__ = ["RunRecord", "TrackedRun", "log_training_run", "metric_key"]

_ENTRY = Path(__file__).with_name("pyfunc_entry.py")


def metric_key(name: str) -> str:
    """An MLflow-safe metric/param key (``ndcg@10`` → ``ndcg_at_10``)."""
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", name.replace("@", "_at_"))


@dataclass(frozen=True)
class RunRecord:
    """Everything a training run logs."""

    model: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    champion_metrics: Mapping[str, float]
    champion_version: int | None
    tags: Mapping[str, str]
    gates: Sequence[GateResult]
    manifest: BundleManifest
    y_true: np.ndarray | None = None
    y_score: np.ndarray | None = None
    champion_score: np.ndarray | None = None


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    artifact_uri: str
    experiment_id: str


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for package in ("mlflow", "numpy", "pandas", "pyarrow", "scikit-learn", "xgboost-cpu"):
        try:
            out.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return out


def log_training_run(registry: ModelRegistry, record: RunRecord, staged_bundle: Path) -> TrackedRun:
    """Log one training run and its pyfunc model; the run ends FINISHED, or FAILED if logging breaks."""
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    experiment_id = registry.experiment_id(f"cartwise-{record.model}")
    client = registry.client
    with registry._guard(f"log a training run of {record.model!r} to"):
        run = client.create_run(
            experiment_id, tags={"mlflow.runName": f"{record.model}-train", **dict(record.tags)}
        )
    run_id = run.info.run_id
    with registry._guard(f"log the training run {run_id} to"):
        try:
            now = int(time.time() * 1000)
            metrics = [Metric(metric_key(k), float(v), now, 0) for k, v in sorted(record.metrics.items())]
            metrics += [
                Metric(metric_key(f"champion.{k}"), float(v), now, 0)
                for k, v in sorted(record.champion_metrics.items())
            ]
            params = [Param(metric_key(k), str(v)[:6000]) for k, v in sorted(record.params.items())]
            client.log_batch(
                run_id, metrics=metrics, params=params, tags=[RunTag("cartwise.model", record.model)]
            )
            with tempfile.TemporaryDirectory(prefix="cartwise-run-") as tmp:
                work = Path(tmp)
                if record.y_true is not None and record.y_score is not None:
                    write_classifier_plots(
                        record.y_true, record.y_score, work / "plots", champion_score=record.champion_score
                    )
                    client.log_artifacts(run_id, str(work / "plots"), "plots")
                evaluation = work / "evaluation"
                evaluation.mkdir()
                (evaluation / "gates.json").write_text(gates_to_json(list(record.gates)))
                (evaluation / "input_schema.json").write_text(record.manifest.input_schema.to_json())
                (evaluation / "metrics.json").write_text(
                    json.dumps(
                        {
                            "challenger": dict(record.metrics),
                            "champion": dict(record.champion_metrics),
                            "champion_version": record.champion_version,
                        },
                        indent=2,
                        sort_keys=True,
                    )
                )
                client.log_artifacts(run_id, str(evaluation), "evaluation")
                if record.manifest.kind == "classifier":
                    outputs = Schema([ColSpec("double", "probability")])
                else:
                    outputs = None
                mlflow.pyfunc.save_model(
                    path=str(work / "model"),
                    python_model=str(_ENTRY),
                    artifacts={"bundle": str(staged_bundle)},
                    signature=ModelSignature(
                        inputs=record.manifest.input_schema.to_mlflow(), outputs=outputs
                    ),
                    pip_requirements=_requirements(),
                    metadata={"cartwise_model": record.model, "cartwise_kind": record.manifest.kind},
                )
                client.log_artifacts(run_id, str(work / "model"), "model")
        except Exception:
            with contextlib.suppress(Exception):  # the registry may be the thing that failed
                client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    return TrackedRun(run_id=run_id, artifact_uri=str(run.info.artifact_uri), experiment_id=experiment_id)

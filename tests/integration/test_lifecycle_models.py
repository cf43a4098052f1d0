"""A small real model kind for lifecycle tests, and the shared backends (SQLite file, MLflow server on Postgres).

``ToyTrainer`` is a real trainer on the lifecycle contract: logistic regression on
three features of a DuckDB table, a bundle of plain JSON, a loader that rebuilds the
estimator from it. The tests in this module check the toy itself; the lifecycle
tests (test_lifecycle_backends.py) drive it through MLflow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cartwise.config import Settings, load_settings
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.pipelines.base import Evaluation, TrainContext, TrainingData, require_rows, require_table_schema
from cartwise.registry.gates import GateResult
from cartwise.registry.registry import ModelRegistry
from cartwise.registry.schema import InputSchema

TABLE = "toy_applications"
FEATURES = ("x1", "x2", "x3")
START = datetime(2026, 1, 1, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
POSTGRES_DSN = os.environ.get("CARTWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def make_toy_table(n: int = 4000, seed: int = 0) -> pa.Table:
    """Applications over 60 days; the label depends on x1 strongly, x2 moderately, x3 weakly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = -1.0 + 2.0 * X[:, 0] - 1.0 * X[:, 1] + 0.3 * X[:, 2]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    minutes = np.sort(rng.integers(0, 60 * 24 * 60, size=n))
    applied_at = [START + timedelta(minutes=int(m)) for m in minutes]
    return pa.table(
        {
            "application_id": pa.array(np.arange(n), pa.int64()),
            "applied_at": pa.array(applied_at, pa.timestamp("us", tz="UTC")),
            "x1": X[:, 0],
            "x2": X[:, 1],
            "x3": X[:, 2],
            "label": y,
        }
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() / len(p) * abs(p[mask].mean() - y[mask].mean())
    return float(total)


class ToyScorer:
    """The loaded bundle: an sklearn LogisticRegression rebuilt from JSON, so it scores bit-for-bit alike."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.features_ = list(payload["features"])
        model = LogisticRegression()
        model.coef_ = np.array([payload["coef"]], dtype=np.float64)
        model.intercept_ = np.array([payload["intercept"]], dtype=np.float64)
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = len(self.features_)
        self.model_ = model

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(X[self.features_].to_numpy(dtype=np.float64)))


def load_bundle(directory: Path) -> ToyScorer:
    return ToyScorer(json.loads((Path(directory) / "model.json").read_text()))


@dataclass
class ToyTrainer:
    """Logistic regression on the toy table; ``uses`` picks the features that carry signal (the schema keeps all three)."""

    name: str = "toy"
    uses: Sequence[str] = FEATURES
    table: str = TABLE
    holdout_fraction: float = 0.3
    extra: Sequence[GateResult] = ()
    kind: str = "classifier"
    primary_metric: str = "roc_auc"
    higher_is_better: bool = True
    calibration_metric: str | None = "ece"
    loader: str = "test_lifecycle_models:load_bundle"

    def params(self) -> Mapping[str, Any]:
        return {"uses": ",".join(self.uses), "holdout_fraction": self.holdout_fraction, "C": 1.0}

    def build_data(self, context: TrainContext) -> TrainingData:
        table = context.warehouse.read_table(self.table)
        require_table_schema(
            table,
            {
                "applied_at": pa.types.is_timestamp,
                **dict.fromkeys(FEATURES, pa.types.is_floating),
                "label": pa.types.is_integer,
            },
            self.table,
        )
        if context.start is not None:
            table = table.filter(
                pc.greater_equal(table["applied_at"], pa.scalar(context.start, table["applied_at"].type))
            )
        if context.end is not None:
            table = table.filter(
                pc.less(table["applied_at"], pa.scalar(context.end, table["applied_at"].type))
            )
        require_rows(table, f"table {self.table}", context.start, context.end)
        frame = table.to_pandas().sort_values(["applied_at", "application_id"], kind="stable")
        cut = frame["applied_at"].quantile(1.0 - self.holdout_fraction)
        return TrainingData(
            train=frame[frame["applied_at"] < cut].reset_index(drop=True),
            holdout=frame[frame["applied_at"] >= cut].reset_index(drop=True),
            time_column="applied_at",
            feature_version="toy-v1",
        )

    def fit(self, data: TrainingData, seed: int) -> LogisticRegression:
        X = data.train[list(FEATURES)].to_numpy(dtype=np.float64).copy()
        for i, feature in enumerate(FEATURES):
            if feature not in self.uses:
                X[:, i] = 0.0  # the feature is an input but carries no signal for this model
        return LogisticRegression(random_state=seed).fit(X, data.train["label"].to_numpy())

    def write_bundle(self, model: LogisticRegression, directory: Path) -> None:
        payload = {
            "features": list(FEATURES),
            "coef": model.coef_[0].tolist(),
            "intercept": float(model.intercept_[0]),
        }
        (directory / "model.json").write_text(json.dumps(payload))

    def evaluate(self, scorer: Any, data: TrainingData) -> Evaluation:
        y = data.holdout["label"].to_numpy()
        p = scorer.predict_proba(data.holdout)[:, 1]
        metrics = {
            "roc_auc": float(roc_auc_score(y, p)),
            "average_precision": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p)),
            "ece": expected_calibration_error(y, p),
        }
        return Evaluation(metrics, y_true=y, y_score=p)

    def input_schema(self, data: TrainingData) -> InputSchema:
        return InputSchema.from_frame(data.holdout, FEATURES)

    def extra_gates(self, scorer: Any, data: TrainingData) -> Sequence[GateResult]:
        return list(self.extra)


# -- shared backends ---------------------------------------------------------------------------


def toy_warehouse(directory: Path) -> Path:
    """A DuckDB file holding the toy table and a wrongly typed copy of it."""
    path = directory / "warehouse.duckdb"
    table = make_toy_table()
    with DuckDBWarehouse(path) as warehouse:
        warehouse.write_table(TABLE, table)
        bad = table.set_column(table.schema.get_field_index("x2"), "x2", pc.cast(table["x2"], pa.string()))
        warehouse.write_table("toy_applications_bad", bad)
    return path


def toy_settings(data_dir: Path, warehouse: Path, tracking_uri: str | None = None) -> Settings:
    registry = {"tracking_uri": tracking_uri} if tracking_uri else {}
    return load_settings(
        data_dir=data_dir, overrides={"warehouse": {"path": str(warehouse)}, "registry": registry}
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class MlflowServer:
    url: str
    database: str
    log: Path


def start_mlflow_server(tmp: Path) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` on a fresh PostgreSQL database (dropped afterwards), one worker."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}")
    database = f"cw_mlflow_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE {database}")
    base = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    port = _free_port()
    log = tmp / "mlflow-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--backend-store-uri",
                f"{base}/{database}",
                "--default-artifact-root",
                str(tmp / "server-artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # the registry needs no GenAI job workers; they only compete for the CPU
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer within 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield MlflowServer(url, database, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


def registry_snapshot(registry: ModelRegistry, model: str) -> tuple[Any, ...]:
    """Everything a failed training must leave unchanged: versions, aliases, model tags."""
    versions = tuple((v.version, v.aliases, tuple(sorted(v.tags.items()))) for v in registry.versions(model))
    return (
        versions,
        tuple(sorted(registry.aliases(model).items())),
        tuple(sorted(registry.model_tags(model).items())),
    )


# -- tests of the toy itself -------------------------------------------------------------------


@pytest.fixture
def toy_context(tmp_path: Path) -> Iterator[TrainContext]:
    path = toy_warehouse(tmp_path)
    settings = toy_settings(tmp_path, path)
    with DuckDBWarehouse(path) as warehouse:
        yield TrainContext(settings=settings, warehouse=warehouse, seed=7)


def test_toy_holdout_is_strictly_after_training(toy_context: TrainContext) -> None:
    data = ToyTrainer().build_data(toy_context)
    assert len(data.train) > 2000
    assert len(data.holdout) > 800
    assert data.train["applied_at"].max() < data.holdout["applied_at"].min()


def test_toy_bundle_round_trip_scores_identically(toy_context: TrainContext, tmp_path: Path) -> None:
    trainer = ToyTrainer()
    data = trainer.build_data(toy_context)
    model = trainer.fit(data, seed=7)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    trainer.write_bundle(model, bundle)
    X = data.holdout[list(FEATURES)].to_numpy(dtype=np.float64)
    assert np.array_equal(load_bundle(bundle).predict_proba(data.holdout), model.predict_proba(X))


def test_toy_signal_ordering(toy_context: TrainContext) -> None:
    """The lifecycle tests rely on: all features > x1 only > x3 only (by AUC on the holdout)."""
    aucs = {}
    for uses in (FEATURES, ("x1",), ("x3",)):
        trainer = ToyTrainer(uses=uses)
        data = trainer.build_data(toy_context)
        bundle = toy_context.settings.data_dir / f"b-{'-'.join(uses)}"
        bundle.mkdir()
        trainer.write_bundle(trainer.fit(data, 7), bundle)
        aucs[uses] = trainer.evaluate(load_bundle(bundle), data).metrics["roc_auc"]
    assert aucs[FEATURES] > aucs[("x1",)] + 0.01 > aucs[("x3",)] + 0.1

"""The credit fairness gate on demo-sized simulator data: an honest model passes, an unfair one is refused.

The data is the `cartwise demo` size (50,000 customers over 180 days, seed 42) in a real DuckDB
file, the frame and the gate are the lifecycle adapter's own (``CreditTrainer.build_data`` and
``extra_gates``), so this is the gate the pipeline applies before promotion. Smaller data makes
per-group rates too noisy for a fair verdict either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartwise.config import Settings, load_settings
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.models.credit.evaluate import PERFORMANCE_WINDOW_DAYS
from cartwise.pipelines.base import TrainContext, TrainingData
from cartwise.pipelines.credit import CreditTrainer
from cartwise.registry.gates import GateResult

pytestmark = pytest.mark.slow


Trained = tuple[CreditTrainer, TrainingData, Any, Settings, Path]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    tmp = tmp_path_factory.mktemp("credit-fairness")
    settings = load_settings(data_dir=tmp)
    path = tmp / "warehouse.duckdb"
    trainer = CreditTrainer()
    with DuckDBWarehouse(path) as warehouse:
        warehouse.write_tables(simulate(SimulationConfig(customers=50_000, days=180, seed=42)))
        data = trainer.build_data(TrainContext(settings, warehouse, seed=42))
    return trainer, data, trainer.fit(data, seed=42), settings, path


@dataclass
class _AgeAwarePD:
    """An unfair PD model: it is given the applicant's age band and adds ``penalty`` to the PD of 18-24s."""

    honest: Any
    features: list[str]
    penalty: float

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.honest.predict_proba(X[self.features])[:, 1]
        p = np.clip(p + self.penalty * X["age_18_24"].to_numpy(np.float64), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])


def _fairness(gates: Sequence[GateResult]) -> GateResult:
    (gate,) = [g for g in gates if g.name == "fairness"]
    return gate


def test_demo_data_gives_a_real_training_set_and_an_honest_pass(trained: Trained) -> None:
    trainer, data, model, _, _ = trained
    assert len(data.train) >= 10_000
    assert len(data.holdout) >= 3_000
    assert data.train["created_at"].max() < data.holdout["created_at"].min()
    metrics = trainer.evaluate(model, data).metrics
    assert metrics["roc_auc"] > 0.65
    assert metrics["ece"] < 0.02
    gates = {g.name: g for g in trainer.extra_gates(model, data)}
    assert set(gates) == {"discrimination", "fairness"}
    assert gates["discrimination"].passed, gates["discrimination"].message
    assert gates["fairness"].passed, gates["fairness"].message
    assert "tightest" in gates["fairness"].message


def test_the_gate_refuses_a_model_given_age(trained: Trained) -> None:
    trainer, data, model, _, _ = trained
    features = list(data.extra["features"])
    young = (data.holdout["protected__age_band"] == "18-24").astype(np.float64)
    aware = replace(
        data, holdout=data.holdout.assign(age_18_24=young), extra={"features": [*features, "age_18_24"]}
    )
    refused = _fairness(trainer.extra_gates(_AgeAwarePD(model, features, penalty=0.2), aware))
    assert not refused.passed
    assert "age_band=18-24" in refused.message
    assert refused.margin is not None
    assert refused.margin < 0
    # The same wrapper without the penalty scores exactly like the honest model, and passes.
    same = _fairness(trainer.extra_gates(_AgeAwarePD(model, features, penalty=0.0), aware))
    assert same.passed


def test_a_model_that_cannot_rank_is_refused(trained: Trained) -> None:
    """With no champion to beat, the discrimination gate still refuses a chance-level PD model."""
    trainer, data, model, _, _ = trained

    class _Shuffled:
        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            p = model.predict_proba(X)[:, 1]
            p = np.random.default_rng(0).permutation(p)
            return np.column_stack([1.0 - p, p])

    gates = {g.name: g for g in trainer.extra_gates(_Shuffled(), data)}
    assert not gates["discrimination"].passed
    assert "holdout ROC AUC" in gates["discrimination"].message


def test_labels_are_cut_at_the_pipeline_end(trained: Trained) -> None:
    """With ``--end`` 30 days before the data's end, only orders whose window elapsed by then are labelled."""
    trainer, data, _, settings, path = trained
    everything = pd.concat([data.train, data.holdout])
    with DuckDBWarehouse(path, read_only=True) as warehouse:
        data_end = warehouse.query("SELECT max(created_at) AS t FROM checkouts").column("t")[0].as_py()
        end = data_end - timedelta(days=30)
        earlier = trainer.build_data(TrainContext(settings, warehouse, seed=42, end=end))
    labelled = pd.concat([earlier.train, earlier.holdout])
    interval = labelled["plan_type"].map(lambda plan: 14 if plan == "pay_in_4" else 30)
    window_end = labelled["created_at"] + pd.to_timedelta(interval + PERFORMANCE_WINDOW_DAYS, unit="D")
    assert (window_end <= pd.Timestamp(end)).all()
    assert 0 < len(labelled) < len(everything)
    # A label given at the earlier cut-off is the same at the later one.
    later = everything.set_index("checkout_id")["defaulted"]
    assert (later.loc[labelled["checkout_id"]].to_numpy() == labelled["defaulted"].to_numpy()).all()

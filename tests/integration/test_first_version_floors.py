"""Fraud and recs floors: gates that hold even when there is no champion to beat.

The primary-metric gate only compares a challenger with the champion, so a first version
is never refused by it. These tests build the real adapters' frames from a simulated
marketplace in a real DuckDB file, fit the real models (cut down in size), and check that
an honest model passes each floor while a model that ranks at random is refused, with a
message naming the gate's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartwise.config import load_settings
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.models.recs import Popularity
from cartwise.pipelines.base import TrainContext, TrainingData
from cartwise.pipelines.fraud import FraudTrainer
from cartwise.pipelines.recs import RecsTrainer
from cartwise.registry.gates import GateResult

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("floors") / "warehouse.duckdb"
    tables = simulate(SimulationConfig(customers=5000, days=160, seed=5, products=1500, merchants=100))
    with DuckDBWarehouse(path) as warehouse:
        warehouse.write_tables(tables)
    return path


def _context(path: Path, warehouse: DuckDBWarehouse) -> TrainContext:
    return TrainContext(load_settings(data_dir=path.parent / "data"), warehouse, seed=5)


def _gates(results: Sequence[GateResult]) -> dict[str, GateResult]:
    return {g.name: g for g in results}


@pytest.fixture(scope="module")
def fraud(warehouse_path: Path) -> tuple[FraudTrainer, TrainingData, Any]:
    trainer = FraudTrainer(n_estimators=40, max_depth=4)
    with DuckDBWarehouse(warehouse_path, read_only=True) as warehouse:
        data = trainer.build_data(_context(warehouse_path, warehouse))
    model, _ = trainer.fit(data, seed=5)
    return trainer, data, model


@pytest.fixture(scope="module")
def recs(warehouse_path: Path) -> tuple[RecsTrainer, TrainingData, Any]:
    trainer = RecsTrainer(max_eval_users=1000, embedding_cache_dir=warehouse_path.parent / "embeddings")
    with DuckDBWarehouse(warehouse_path, read_only=True) as warehouse:
        data = trainer.build_data(_context(warehouse_path, warehouse))
    return trainer, data, trainer.fit(data, seed=5)


class _Constant:
    """Gives every order the honest model's mean score: calibrated on average, but it cannot rank.

    (A random permutation would do as well in expectation, but the small simulated holdout
    has only a handful of frauds, so a permutation's AUC would itself vary widely.)
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.full(len(X), float(self.model.predict_proba(X)[:, 1].mean()))
        return np.column_stack([1.0 - p, p])


class _RandomItems:
    """Recommends ``k`` distinct items drawn at random from the training items, for every shopper."""

    def __init__(self, items: np.ndarray) -> None:
        self.items = items

    def recommend(self, user_ids: Any, k: int = 10, *, remove_seen: bool = True) -> pd.DataFrame:
        rng = np.random.default_rng(0)
        rows = [
            (user, item, float(k - rank), rank + 1)
            for user in user_ids
            for rank, item in enumerate(rng.choice(self.items, size=k, replace=False))
        ]
        return pd.DataFrame(rows, columns=["user_id", "item_id", "score", "rank"])


def test_an_honest_fraud_model_clears_both_floors(fraud: tuple[FraudTrainer, TrainingData, Any]) -> None:
    trainer, data, model = fraud
    gates = _gates(trainer.extra_gates(model, data))
    assert set(gates) == {"discrimination", "precision_lift"}
    assert gates["discrimination"].passed, gates["discrimination"].message
    assert gates["precision_lift"].passed, gates["precision_lift"].message
    # The lift is average precision over the holdout fraud rate, the evaluation's own figures.
    metrics = trainer.evaluate(model, data).metrics
    lift = metrics["average_precision"] / metrics["holdout_fraud_rate"]
    assert gates["precision_lift"].value == pytest.approx(lift)
    assert gates["discrimination"].value == pytest.approx(metrics["roc_auc"])


def test_a_fraud_model_that_cannot_rank_is_refused_without_a_champion(
    fraud: tuple[FraudTrainer, TrainingData, Any],
) -> None:
    trainer, data, model = fraud
    gates = _gates(trainer.extra_gates(_Constant(model), data))
    assert gates["discrimination"].value == pytest.approx(0.5)
    assert not gates["discrimination"].passed
    assert "holdout ROC AUC" in gates["discrimination"].message
    assert "short by" in gates["discrimination"].message
    assert not gates["precision_lift"].passed
    assert gates["precision_lift"].value is not None
    assert gates["precision_lift"].value == pytest.approx(1.0)  # chance: AP equals the fraud rate
    assert "fraud rate" in gates["precision_lift"].message


def test_fraud_floors_are_settings_of_the_trainer(fraud: tuple[FraudTrainer, TrainingData, Any]) -> None:
    trainer, data, model = fraud
    strict = replace(trainer, min_roc_auc=1.01, min_precision_lift=1e6)
    gates = _gates(strict.extra_gates(model, data))
    assert not gates["discrimination"].passed
    assert not gates["precision_lift"].passed
    assert strict.params()["min_precision_lift"] == 1e6


def test_recs_must_match_the_most_popular_baseline(recs: tuple[RecsTrainer, TrainingData, Any]) -> None:
    trainer, data, model = recs
    (honest,) = trainer.extra_gates(model, data)
    assert honest.name == "baseline"
    assert honest.passed, honest.message
    assert "most-popular baseline" in honest.message
    assert honest.value == pytest.approx(trainer.evaluate(model, data).metrics["ndcg_at_10"])

    (random_items,) = trainer.extra_gates(_RandomItems(np.unique(data.train["item_id"])), data)
    assert not random_items.passed
    assert random_items.threshold == honest.threshold  # the same baseline on the same holdout
    assert "short by" in random_items.message


def test_the_baseline_itself_ties_and_a_required_gain_refuses_it(
    recs: tuple[RecsTrainer, TrainingData, Any],
) -> None:
    trainer, data, _ = recs
    popular = Popularity().fit(data.train)
    (tie,) = trainer.extra_gates(popular, data)
    assert tie.passed
    assert tie.margin == pytest.approx(0.0, abs=1e-12)
    (gain,) = replace(trainer, min_gain_over_popularity=0.001).extra_gates(popular, data)
    assert not gain.passed
    assert gain.margin == pytest.approx(-0.001)

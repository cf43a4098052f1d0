"""The whole chain on simulator data with the real fraud, credit and recs adapters.

Simulate a small marketplace into a DuckDB warehouse, run the pipeline (features →
train → evaluate → gate → register → promote), and load each champion the way the
service does. Model sizes are cut down (fewer trees) to keep the test short; the
adapters and the models are the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.config import Settings, load_settings
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.pipelines import trainers
from cartwise.pipelines.credit import CreditTrainer
from cartwise.pipelines.fraud import FraudTrainer
from cartwise.pipelines.recs import RecsTrainer
from cartwise.pipelines.run import ModelRunResult, run_pipeline
from cartwise.registry.bundle import load_scorer, read_manifest
from cartwise.registry.registry import ModelRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list[ModelRunResult]]]:
    from cartwise.data.simulator import SimulationConfig, simulate

    tmp = tmp_path_factory.mktemp("pipeline-sim")
    warehouse = tmp / "warehouse.duckdb"
    tables = simulate(SimulationConfig(customers=5000, days=160, seed=3, products=1500, merchants=100))
    with DuckDBWarehouse(warehouse) as w:
        w.write_tables(tables)
    settings = load_settings(
        data_dir=tmp / "data", overrides={"warehouse": {"path": str(warehouse)}, "seed": 3}
    )
    saved = dict(trainers._EXTRA)
    trainers.register_trainer("fraud", lambda s: FraudTrainer(n_estimators=40, max_depth=4))
    trainers.register_trainer("credit", lambda s: CreditTrainer(n_estimators=60))
    trainers.register_trainer("recs", lambda s: RecsTrainer(max_eval_users=1000))
    try:
        yield (
            settings,
            run_pipeline(settings, models=["fraud", "credit", "recs"], auto_promote=True, actor="test"),
        )
    finally:
        trainers._EXTRA.clear()
        trainers._EXTRA.update(saved)


def test_every_model_is_trained_gated_and_registered(
    simulated: tuple[Settings, list[ModelRunResult]],
) -> None:
    _, results = simulated
    assert [r.model for r in results] == ["fraud", "credit", "recs"]
    for result in results:
        assert result.error is None, f"{result.model}: {result.error}"
        assert result.outcome is not None
        assert result.outcome.version == 1
        names = {g.name for g in result.outcome.gates}
        assert {"primary_metric", "calibration", "input_schema"} <= names
    # every model has floors that hold without a champion to beat
    extra = {"fraud": {"discrimination", "precision_lift"}, "credit": {"discrimination", "fairness"}}
    extra["recs"] = {"baseline"}
    for result in results:
        assert result.outcome is not None
        assert extra[result.model] <= {g.name for g in result.outcome.gates}


def test_models_whose_gates_pass_become_champions(simulated: tuple[Settings, list[ModelRunResult]]) -> None:
    settings, results = simulated
    registry = ModelRegistry.from_settings(settings)
    for result in results:
        assert result.outcome is not None
        aliases = registry.aliases(result.model)
        if result.outcome.gates_passed:
            assert aliases == {"champion": 1}
        else:  # e.g. a fairness breach: kept as challenger, with the reason
            assert aliases == {"challenger": 1}
            assert result.outcome.refusal is not None
            assert "gate" in result.outcome.refusal


def test_registered_bundles_load_like_the_service_loads_them(
    simulated: tuple[Settings, list[ModelRunResult]],
) -> None:
    settings, results = simulated
    registry = ModelRegistry.from_settings(settings)
    for result in results:
        alias = "champion" if result.outcome and result.outcome.gates_passed else "challenger"
        bundle = registry.load_bundle(result.model, alias)
        manifest = read_manifest(bundle)
        scorer = load_scorer(bundle)
        if result.model == "recs":
            frame = scorer.recommend(np.asarray(scorer.user_ids[:3]), 5)
            assert len(frame) == 15
        else:
            zeros = {name: [0.0] for name in manifest.input_schema.names}
            proba = scorer.predict_proba(pd.DataFrame(zeros))
            assert proba.shape == (1, 2)
            assert 0.0 <= proba[0, 1] <= 1.0


def test_runs_record_lineage(simulated: tuple[Settings, list[ModelRunResult]]) -> None:
    settings, results = simulated
    registry = ModelRegistry.from_settings(settings)
    for result in results:
        assert result.outcome is not None
        tags = registry.client.get_run(result.outcome.run_id).data.tags
        assert len(tags["cartwise.data_hash"]) == 64
        assert tags["cartwise.feature_version"]
        assert tags["cartwise.data_start"] < tags["cartwise.data_end"]
        assert tags["cartwise.seed"] == "3"


def test_existing_warehouse_path_is_required(tmp_path: Path) -> None:
    """No warehouse yet: the pipeline reports each model's failure instead of crashing."""
    settings = load_settings(
        data_dir=tmp_path, overrides={"warehouse": {"path": str(tmp_path / "none.duckdb")}}
    )
    results = run_pipeline(
        settings, models=["fraud"], registry=ModelRegistry(f"sqlite:///{tmp_path / 'm.db'}")
    )
    assert results[0].outcome is None
    assert "none.duckdb" in (results[0].error or "")


def test_rerun_on_same_data_and_seed_gives_same_metrics(
    simulated: tuple[Settings, list[ModelRunResult]],
) -> None:
    settings, first = simulated
    again = run_pipeline(settings, models=["fraud", "recs"], auto_promote=False)
    before = {r.model: r.outcome for r in first}
    for result in again:
        assert result.outcome is not None, result.error
        previous = before[result.model]
        assert previous is not None
        assert result.outcome.data_hash == previous.data_hash
        assert result.outcome.metrics == previous.metrics
        assert result.outcome.version == 2

"""The gated lifecycle through real MLflow, on both backends: a SQLite file, and an MLflow server on PostgreSQL.

One story per backend (module-scoped, so MLflow starts once): v1 (x1 only) is trained
and auto-promoted; v2 (x3 only, clearly worse) is registered as challenger and refused;
v3 (all features, better) is promoted; a rollback restores v1. Each test checks one
claim about that story.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_lifecycle_models import (
    FEATURES,
    REPO,
    ToyTrainer,
    registry_snapshot,
    start_mlflow_server,
    toy_settings,
    toy_warehouse,
)

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.errors import GateError, RegistryError, SchemaError, TrainingDataError
from cartwise.pipelines.base import TrainContext
from cartwise.pipelines.lifecycle import TrainOutcome, train_model
from cartwise.registry import load_bundle
from cartwise.registry.history import AuditEvent, read_history
from cartwise.registry.promotion import promote, rollback
from cartwise.registry.registry import ModelRegistry

pytestmark = pytest.mark.slow


@dataclass
class Story:
    backend: str
    registry: ModelRegistry
    context: TrainContext
    v1: TrainOutcome
    v2: TrainOutcome
    v3: TrainOutcome
    refusal: str
    champion_after_refusal: int | None
    champion_after_promotion: int | None
    rollback_event: AuditEvent
    data_dir: Path


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def story(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp(f"lifecycle-{request.param}")
    warehouse_path = toy_warehouse(tmp)
    server = None
    if request.param == "postgres":
        server = start_mlflow_server(tmp)
        tracking_uri = next(server).url
    else:
        tracking_uri = f"sqlite:///{tmp / 'mlflow.db'}"
    settings = toy_settings(tmp / "data", warehouse_path, tracking_uri)
    registry = ModelRegistry.from_settings(settings)
    try:
        with DuckDBWarehouse(warehouse_path, read_only=True) as warehouse:
            context = TrainContext(settings=settings, warehouse=warehouse, seed=11)
            v1 = train_model(ToyTrainer(uses=("x1",)), context, registry, auto_promote=True, actor="alice")
            v2 = train_model(ToyTrainer(uses=("x3",)), context, registry, auto_promote=False)
            with pytest.raises(GateError) as refused:
                promote(registry, "toy", actor="bob", reason="try the x3 model")
            champion_after_refusal = registry.alias_version("toy", "champion")
            v3 = train_model(ToyTrainer(uses=FEATURES), context, registry)
            promote(registry, "toy", actor="bob", reason="all features: better AUC")
            champion_after_promotion = registry.alias_version("toy", "champion")
            event = rollback(registry, "toy", actor="carol", reason="incident 42: rolling back")
            yield Story(
                request.param,
                registry,
                context,
                v1,
                v2,
                v3,
                str(refused.value),
                champion_after_refusal,
                champion_after_promotion,
                event,
                tmp,
            )
    finally:
        if server is not None:
            server.close()


def test_first_model_is_promoted_automatically(story: Story) -> None:
    assert story.v1.version == 1
    assert story.v1.promoted
    assert story.v1.champion_version is None


def test_worse_challenger_is_refused_naming_gate_and_margin(story: Story) -> None:
    assert story.v2.champion_version == 1
    assert not story.v2.gates_passed
    primary = next(g for g in story.v2.gates if g.name == "primary_metric")
    assert not primary.passed
    assert primary.margin is not None
    assert primary.margin < -0.1
    # the refusal names the gate and the shortfall, to the 4th decimal
    assert "gate primary_metric failed" in story.refusal
    assert f"short by {-primary.margin:.4f}" in story.refusal
    assert story.champion_after_refusal == 1
    v2 = story.registry.version("toy", 2)
    assert v2.tags["cartwise.gates_passed"] == "false"


def test_worse_model_was_still_compared_on_the_same_holdout(story: Story) -> None:
    assert story.v2.champion_metrics["roc_auc"] == pytest.approx(story.v1.metrics["roc_auc"], abs=1e-12)


def test_better_challenger_is_promoted(story: Story) -> None:
    assert story.v3.gates_passed
    assert story.v3.metrics["roc_auc"] > story.v3.champion_metrics["roc_auc"]
    assert story.champion_after_promotion == 3


def test_rollback_restores_previous_champion(story: Story) -> None:
    assert story.rollback_event.from_version == 3
    assert story.rollback_event.to_version == 1
    assert story.registry.alias_version("toy", "champion") == 1


def test_history_lists_promotions_and_rollback(story: Story) -> None:
    events = read_history(story.registry, "toy")
    assert [(e.action, e.from_version, e.to_version, e.actor) for e in events] == [
        ("promote", None, 1, "alice"),
        ("promote", 1, 3, "bob"),
        ("rollback", 3, 1, "carol"),
    ]
    assert events[1].reason == "all features: better AUC"
    assert events[2].reason == "incident 42: rolling back"
    assert {g.name for g in events[1].gates} >= {"primary_metric", "calibration", "input_schema"}
    assert all(e.at.tzinfo is not None and e.at <= datetime.now(UTC) for e in events)
    assert events[0].at <= events[1].at <= events[2].at


def test_second_rollback_has_no_earlier_champion(story: Story) -> None:
    with pytest.raises(RegistryError, match="no previous champion"):
        rollback(story.registry, "toy")


def test_run_logs_lineage_metrics_and_plots(story: Story) -> None:
    client = story.registry.client
    run = client.get_run(story.v3.run_id)
    tags = run.data.tags
    assert tags["cartwise.data_hash"] == story.v3.data_hash
    assert len(tags["cartwise.data_hash"]) == 64
    assert tags["cartwise.feature_version"] == "toy-v1"
    assert tags["cartwise.seed"] == "11"
    assert tags["cartwise.git_commit"] != ""
    assert datetime.fromisoformat(tags["cartwise.data_start"]) < datetime.fromisoformat(
        tags["cartwise.holdout_start"]
    )
    assert run.data.params["seed"] == "11"
    assert run.data.metrics["roc_auc"] == pytest.approx(story.v3.metrics["roc_auc"])
    assert run.data.metrics["champion.roc_auc"] == pytest.approx(story.v1.metrics["roc_auc"])
    plots = {Path(a.path).name for a in client.list_artifacts(story.v3.run_id, "plots")}
    assert plots == {"roc_pr.png", "calibration.png", "lift.png"}
    version = story.registry.version("toy", 3)
    assert version.run_id == story.v3.run_id
    assert json.loads(version.tags["cartwise.input_schema"]) == [
        {"name": f, "type": "double"} for f in FEATURES
    ]


_FRESH = """
import json, sys
import pandas as pd
sys.path.insert(0, {tests!r})
from cartwise.registry.bundle import load_scorer
proba = load_scorer(__import__("pathlib").Path({bundle!r})).predict_proba(pd.read_parquet({rows!r}))[:, 1]
print(json.dumps({{"modules": sorted(m for m in sys.modules if m.startswith(("mlflow", "sklearn.linear"))), "proba": proba.tolist()}}))
"""


def test_champion_bundle_in_fresh_process_scores_like_in_memory_model(story: Story, tmp_path: Path) -> None:
    """Download the champion's bundle, score it in a new interpreter (no MLflow, no trainer), compare bit for bit."""
    import mlflow.pyfunc

    trainer = ToyTrainer(uses=("x1",))  # v1 is the champion after the rollback
    data = trainer.build_data(story.context)
    in_memory = trainer.fit(data, seed=story.context.seed)
    rows = data.holdout[list(FEATURES)].head(200)
    rows.to_parquet(tmp_path / "rows.parquet")
    expected = in_memory.predict_proba(rows.to_numpy(dtype=np.float64))[:, 1]
    fresh_registry = ModelRegistry(story.registry.tracking_uri, cache_dir=tmp_path / "cache")
    bundle = fresh_registry.load_bundle("toy", "champion")
    assert bundle.is_relative_to(tmp_path / "cache")
    code = _FRESH.format(
        tests=str(REPO / "tests" / "integration"), bundle=str(bundle), rows=str(tmp_path / "rows.parquet")
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scored = json.loads(result.stdout.strip().splitlines()[-1])
    assert not any(m.startswith("mlflow") for m in scored["modules"])
    assert np.array_equal(np.array(scored["proba"]), expected)
    # the same version through MLflow's own pyfunc flavour (what `mlflow models serve` runs)
    mlflow.set_registry_uri(story.registry.tracking_uri)
    mlflow.set_tracking_uri(story.registry.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/toy@champion").predict(rows)
    assert np.array_equal(np.asarray(pyfunc, dtype=np.float64), expected)


def _snapshot(story: Story) -> Any:
    return registry_snapshot(story.registry, "toy")


def test_wrong_schema_table_fails_clearly_and_leaves_registry_unchanged(story: Story) -> None:
    before = _snapshot(story)
    with pytest.raises(SchemaError, match=r"toy_applications_bad.*'x2' is string, expected floating"):
        train_model(ToyTrainer(table="toy_applications_bad"), story.context, story.registry)
    assert _snapshot(story) == before


def test_empty_time_window_fails_clearly_and_leaves_registry_unchanged(story: Story) -> None:
    before = _snapshot(story)
    empty = TrainContext(
        settings=story.context.settings,
        warehouse=story.context.warehouse,
        seed=11,
        start=datetime(2030, 1, 1, tzinfo=UTC),
        end=datetime(2030, 2, 1, tzinfo=UTC),
    )
    with pytest.raises(TrainingDataError, match=r"empty for the time window \[2030-01-01"):
        train_model(ToyTrainer(), empty, story.registry)
    assert _snapshot(story) == before


def test_unreachable_registry_fails_clearly_and_cache_still_serves(story: Story) -> None:
    before = _snapshot(story)
    cached = story.registry.load_bundle("toy", "champion")
    dead = ModelRegistry("http://127.0.0.1:9", cache_dir=story.registry.cache_dir)
    with pytest.raises(RegistryError, match=r"could not reach the MLflow registry at http://127.0.0.1:9"):
        train_model(ToyTrainer(), story.context, dead)
    assert dead.load_bundle("toy", "champion") == cached
    assert load_bundle("toy", settings=story.context.settings) == cached  # the service's entry point
    with pytest.raises(RegistryError, match="could not"):
        dead.load_bundle("toy", "champion", allow_cached=False)
    assert _snapshot(story) == before


def test_same_data_and_seed_give_the_same_metrics(story: Story) -> None:
    again = train_model(ToyTrainer(uses=FEATURES), story.context, story.registry)
    assert again.metrics == story.v3.metrics
    assert again.data_hash == story.v3.data_hash
    assert again.version == story.v3.version + 1

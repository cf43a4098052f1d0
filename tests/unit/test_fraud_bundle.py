"""Fast ONNX scoring matches the booster; the serving bundle loads in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_fraud_model import synthetic_orders  # tests/unit is on sys.path (rootdir-relative import mode)

from cartwise.decisions.fraud_policy import FraudPolicy
from cartwise.errors import FeatureError, ModelBundleError
from cartwise.models.fraud import FraudModel, load_bundle
from cartwise.models.fraud.onnx_scorer import OnnxScorer, booster_to_onnx


@pytest.fixture(scope="module")
def fitted() -> tuple[FraudModel, pd.DataFrame, np.ndarray]:
    X, y = synthetic_orders(5000, seed=3)
    X_test, y_test = synthetic_orders(5000, seed=4)
    return FraudModel(n_estimators=80, max_depth=5, learning_rate=0.1).fit(X, y), X_test, y_test


@pytest.fixture(scope="module")
def bundle_dir(fitted: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, X_test, y_test = fitted
    policy = FraudPolicy(max_false_decline_rate=0.01).fit(
        y_test, model.predict_proba(X_test)[:, 1], X_test["tx_amount"]
    )
    return model.to_bundle(tmp_path_factory.mktemp("bundle") / "fraud", policy=policy, metadata={"ap": 0.5})


def test_onnx_scores_like_the_booster_on_many_rows(fitted: tuple) -> None:
    model, X_test, _ = fitted
    rng = np.random.default_rng(0)
    values = X_test.to_numpy(np.float32, copy=True)
    values[rng.uniform(size=values.shape) < 0.1] = np.nan  # missing values take the default branch
    scorer = OnnxScorer(booster_to_onnx(model.booster_, values.shape[1]), values.shape[1])
    native = model.booster_.inplace_predict(values)
    np.testing.assert_allclose(scorer.score(values), native, atol=1e-6, rtol=0)
    one = np.ascontiguousarray(values[:1])
    assert scorer.score_one(one) == pytest.approx(float(native[0]), abs=1e-6)
    with pytest.raises(FeatureError, match="features per row"):
        scorer.score(values[:, :3])


def test_bundle_scores_explains_and_decides_like_the_model(fitted: tuple, bundle_dir: Path) -> None:
    model, X_test, _ = fitted
    bundle = load_bundle(bundle_dir)
    np.testing.assert_allclose(bundle.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6)
    row = X_test.iloc[0].to_dict()
    assert bundle.score_row(bundle.row_array(row)) == bundle.score_one(row)
    assert bundle.score_one(row) == pytest.approx(model.predict_proba(X_test.iloc[:1])[0, 1], abs=1e-6)
    reasons = bundle.explain(X_test.iloc[:50])
    assert len(reasons) == 50
    assert all(r.contribution > 0 for rs in reasons for r in rs)
    assert {r.code for rs in reasons for r in rs} <= set(bundle.reason_codes.texts)
    decisions = bundle.policy.decide(bundle.predict_proba(X_test)[:, 1], X_test["tx_amount"])
    assert set(decisions) <= {"approve", "review", "decline"}
    assert bundle.metadata["ap"] == 0.5


def test_a_fresh_process_loads_the_bundle_without_training_state(fitted: tuple, bundle_dir: Path) -> None:
    model, X_test, _ = fitted
    rows = X_test.iloc[:20]
    code = (
        "import json, sys, pandas as pd\n"
        "from cartwise.models.fraud.bundle import load_bundle\n"
        f"b = load_bundle({str(bundle_dir)!r})\n"
        "rows = pd.DataFrame(json.loads(sys.stdin.read()))\n"
        "print(json.dumps(b.predict_proba(rows)[:, 1].tolist()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=rows.to_json(orient="columns"),
        capture_output=True,
        text=True,
        check=True,
    )
    np.testing.assert_allclose(json.loads(out.stdout), model.predict_proba(rows)[:, 1], atol=1e-6)


def test_broken_bundles_are_named(bundle_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelBundleError, match="missing"):
        load_bundle(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in bundle_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelBundleError, match="checksum"):
        load_bundle(broken)
    manifest = json.loads((bundle_dir / "bundle.json").read_text())
    manifest["format"] = 99
    (broken / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelBundleError, match="format"):
        load_bundle(broken)

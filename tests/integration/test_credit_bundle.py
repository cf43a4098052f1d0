"""Credit model bundles: written as JSON (+ booster JSON) and scored identically in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cartwise.decisions.credit_policy import CreditPolicyParams
from cartwise.errors import ModelBundleError
from cartwise.models.credit import MonotonePDModel, ScorecardModel, decide_credit, load_bundle, to_bundle
from cartwise.models.credit.synthetic import BNPL_CREDIT_FEATURES, synthetic_applicants

SCORE_IN_FRESH_PROCESS = """
import sys, json
from cartwise.models.credit import load_bundle, decide_credit
from cartwise.models.credit.synthetic import synthetic_applicants
batch = synthetic_applicants(300, seed=99)
result = {}
for directory in sys.argv[1:]:
    bundle = load_bundle(directory)
    out = decide_credit(bundle.model, batch.X, batch.amount_minor, params=bundle.policy)
    result[directory] = {
        "pd": bundle.model.predict_proba(batch.X)[:, 1].tolist(),
        "decision": out["decision"].tolist(),
        "reasons": [[r.code for r in rs] for rs in out["reasons"]],
        "appetite": bundle.policy.risk_appetite,
    }
print(json.dumps(result))
"""


def test_bundles_score_identically_in_a_fresh_process(tmp_path: Path) -> None:
    """One fresh interpreter loads a boosted-model and a scorecard bundle and scores the same batch."""
    train = synthetic_applicants(1_200, seed=31)
    models: dict[str, MonotonePDModel | ScorecardModel] = {
        str(tmp_path / "gbdt"): MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=150).fit(
            train.X, train.y
        ),
        str(tmp_path / "scorecard"): ScorecardModel(BNPL_CREDIT_FEATURES, calibration_folds=2).fit(
            train.X, train.y
        ),
    }
    policy = CreditPolicyParams(risk_appetite=0.04)
    for directory, model in models.items():
        to_bundle(model, directory, policy=policy, metadata={"trained_on": "synthetic"})
        assert not list(Path(directory).glob("*.pkl"))
        manifest = json.loads((Path(directory) / "credit_model.json").read_text())
        assert manifest["monotone"]["n_late_installments"] == 1
        assert manifest["reason_codes"]["BN05"]["text"] == "Length of time account has been established"

    result = subprocess.run(
        [sys.executable, "-c", SCORE_IN_FRESH_PROCESS, *models],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    fresh = json.loads(result.stdout.strip().splitlines()[-1])
    batch = synthetic_applicants(300, seed=99)
    for directory, model in models.items():
        here = decide_credit(model, batch.X, batch.amount_minor, params=policy)
        got = fresh[directory]
        np.testing.assert_allclose(got["pd"], model.predict_proba(batch.X)[:, 1], rtol=0, atol=1e-12)
        assert got["decision"] == here["decision"].tolist()
        assert "decline" in got["decision"]
        assert got["reasons"] == [[r.code for r in rs] for rs in here["reasons"]]
        assert got["appetite"] == 0.04
        loaded = load_bundle(directory)
        assert loaded.metadata == {"trained_on": "synthetic"}
        assert loaded.policy == policy


def test_missing_or_broken_bundles_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelBundleError, match=r"credit_model\.json is missing"):
        load_bundle(tmp_path)
    (tmp_path / "credit_model.json").write_text("{not json")
    with pytest.raises(ModelBundleError, match="not valid JSON"):
        load_bundle(tmp_path)
    (tmp_path / "credit_model.json").write_text(json.dumps({"format": "something-else/9"}))
    with pytest.raises(ModelBundleError, match="format"):
        load_bundle(tmp_path)
    with pytest.raises(Exception, match="not fitted"):
        to_bundle(MonotonePDModel(BNPL_CREDIT_FEATURES), tmp_path / "x")

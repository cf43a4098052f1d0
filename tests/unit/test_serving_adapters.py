"""The service's adapters on cartwise's real model bundles and registry cache."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import RegistryError
from cartwise.serving.adapters import (
    CreditBundleScorer,
    FraudBundleScorer,
    RecsBundleRecommender,
    RegistryModelSource,
    catalog_request_features,
    catalog_request_features_many,
)
from cartwise.serving.models import ModelManager
from cartwise.serving.ports import CheckoutFacts

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from serving_fixtures import _fraud_frame


@pytest.fixture(scope="module")
def fraud_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cartwise.decisions.fraud_policy import FraudPolicy
    from cartwise.models.fraud import FraudModel

    X, y = _fraud_frame(np.random.default_rng(3), 1500)
    model = FraudModel(n_estimators=20, max_depth=3, n_jobs=1, calibration="platt").fit(X, y)
    return Path(
        model.to_bundle(tmp_path_factory.mktemp("f") / "bundle", policy=FraudPolicy(review_ratio=0.5))
    )


def test_fraud_adapter_matches_the_bundle(fraud_dir: Path) -> None:
    from cartwise.models.fraud.bundle import load_bundle

    bundle = load_bundle(fraud_dir)
    scorer = FraudBundleScorer(bundle)
    X, _ = _fraud_frame(np.random.default_rng(9), 50)
    expected = bundle.predict_proba(X)[:, 1]
    got = [scorer.score(row) for row in X.to_dict("records")]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    risky = X.iloc[int(np.argmax(expected))].to_dict()
    assert scorer.decide(float(expected.max()), 10**9) == "decline"
    assert scorer.decide(0.0, 100) == "approve"
    reasons = scorer.reasons(risky, 2)
    assert len(reasons) == 2
    assert all(r.code and r.description for r in reasons)
    # a missing feature scores as NaN (XGBoost's missing branch), not an error
    assert 0.0 <= scorer.score({"amount_minor": 100.0}) <= 1.0


def test_credit_adapter_on_a_real_bundle(tmp_path: Path) -> None:
    from cartwise.models.credit import MonotonePDModel, load_bundle, to_bundle
    from cartwise.models.credit.synthetic import BNPL_CREDIT_FEATURES, synthetic_applicants

    data = synthetic_applicants(1_500, seed=5)
    model = MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=40).fit(data.X, data.y)
    to_bundle(model, tmp_path / "credit")
    scorer = CreditBundleScorer(load_bundle(tmp_path / "credit"))
    rows = data.X.head(40).to_dict("records")
    expected = model.predict_proba(data.X.head(40))[:, 1]
    np.testing.assert_allclose([scorer.score(r) for r in rows], expected, rtol=1e-6)
    results = [scorer.decide(r, 10_000, "pay_in_4") for r in rows]
    assert {r.outcome for r in results} <= {"approve", "review", "decline"}
    approved = [r for r in results if r.outcome == "approve"]
    assert approved
    assert all(r.plan_options and r.approved_limit_minor >= 10_000 for r in approved)
    odd = scorer.decide(rows[[r.outcome for r in results].index("approve")], 10_001, "pay_in_4")
    assert odd.plan_options
    for offer in odd.plan_options:  # exact schedules: 10,001 divides by none of 4, 3, 6, 12
        assert sum(offer.installments_minor) == 10_001
        assert len(offer.installments_minor) == offer.n_installments
        assert offer.installment_minor == offer.installments_minor[0]
    # the fast path (ONNX + the policy's vectorised rule) agrees with decide_credit
    from cartwise.models.credit import decide_credit

    bundle = load_bundle(tmp_path / "credit")
    slow = decide_credit(bundle.model, data.X.head(40), np.full(40, 10_000.0), params=bundle.policy)
    assert [r.outcome != "decline" for r in results] == list(slow["decision"] == "approve")
    np.testing.assert_allclose([r.approved_limit_minor for r in results], slow["limit_minor"], rtol=1e-3)
    for r, codes in zip(results, slow["reasons"], strict=True):
        assert [c.code for c in r.reasons] == [c.code for c in codes]
    huge = scorer.decide(rows[0], 10**9, "pay_in_4")
    assert huge.outcome == "decline"
    assert huge.reasons
    assert huge.plan_options == ()
    # the recommendations' limit (no reasons) is the decision's limit
    assert [scorer.limit(r) for r in rows] == [r.approved_limit_minor for r in results]
    # the closed-form policy gives exactly CreditPolicy's limits and qualification
    pds = np.concatenate([[0.0, 1.0, 1e-9], np.random.default_rng(1).uniform(0, 0.3, 500)])
    margin, el = scorer.policy.rates(pds)
    limits = scorer.policy.limits(pds)
    qualifies = (margin > 0) & (el <= scorer.policy.params.risk_appetite) & (limits > 0)
    for i, p in enumerate(pds):
        ok, lim = scorer._plan_limits([float(p)] * len(scorer.plans))
        assert lim == limits[i].tolist()
        assert ok == qualifies[i].tolist()


def test_batched_scoring_gives_each_checkout_its_own_answer(fraud_dir: Path, tmp_path: Path) -> None:
    """score_many / reasons_many / decide_many (one model call for many checkouts) equal one call per
    checkout: the same scores, outcomes, limits, plans and reasons."""
    from cartwise.models.credit import MonotonePDModel, load_bundle, to_bundle
    from cartwise.models.credit.synthetic import BNPL_CREDIT_FEATURES, synthetic_applicants
    from cartwise.models.fraud.bundle import load_bundle as load_fraud

    fraud = FraudBundleScorer(load_fraud(fraud_dir))
    X, _ = _fraud_frame(np.random.default_rng(4), 30)
    rows = X.to_dict("records")
    rows[3] = {"amount_minor": 100.0}  # missing features
    assert fraud.score_many(rows) == [fraud.score(r) for r in rows]
    assert fraud.reasons_many(rows, 3) == [fraud.reasons(r, 3) for r in rows]
    assert fraud.score_many(rows[:1]) == [fraud.score(rows[0])]
    assert fraud.score_many([]) == []

    data = synthetic_applicants(800, seed=6)
    # numeric inputs only: the ONNX fast path, whose batch scoring is what is compared here
    numeric = [f for f in BNPL_CREDIT_FEATURES if not f.categorical]
    X = data.X[[f.name for f in numeric]]
    model = MonotonePDModel(numeric, nthread=1, n_estimators=30).fit(X, data.y)
    to_bundle(model, tmp_path / "credit")
    applicants = X.head(40).to_dict("records")
    amounts = [10_000 * (1 + i % 7) if i % 5 else 10**9 for i in range(40)]  # some far over any limit
    plans = [("pay_in_4", "pay_monthly_6")[i % 2] for i in range(40)]
    together, alone = [], []
    for plan_feature in (None, "plan_n_installments"):  # PD per applicant, or per applicant and plan
        credit = CreditBundleScorer(load_bundle(tmp_path / "credit"), plan_feature=plan_feature)
        assert credit._onnx is not None
        assert (credit._plan_col is None) == (plan_feature is None)
        together += credit.decide_many(applicants, amounts, plans)
        alone += [credit.decide(a, m, p) for a, m, p in zip(applicants, amounts, plans, strict=True)]
    assert {r.outcome for r in together} >= {"approve", "decline"}
    for got, expected in zip(together, alone, strict=True):
        assert (
            got.outcome,
            got.default_probability,
            got.approved_limit_minor,
            got.plan_options,
            got.reasons,
        ) == (
            expected.outcome,
            expected.default_probability,
            expected.approved_limit_minor,
            expected.plan_options,
            expected.reasons,
        )


def test_recs_adapter_filters_to_affordable_products(tmp_path: Path) -> None:
    from cartwise.models.recs import EASE, RecsBundle, load_bundle

    rng = np.random.default_rng(0)
    rows = [(u, int(i), 1.0) for u in range(30) for i in rng.choice(40, 6, replace=False)]
    model = EASE(l2=5.0).fit(pd.DataFrame(rows, columns=["user_id", "item_id", "weight"]))
    RecsBundle.from_model(model).to_bundle(tmp_path / "recs")
    prices = {i: 1_000 * (i + 1) for i in range(40)}
    recs = RecsBundleRecommender(load_bundle(tmp_path / "recs"), prices)
    unfiltered = recs.recommend(3, 10)
    assert len(unfiltered) == 10
    cheap = recs.recommend(3, 5, max_price_minor=15_000)
    assert cheap
    assert all(h.price_minor is not None and h.price_minor <= 15_000 for h in cheap)
    scores = [h.score for h in cheap]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(Exception, match="embeddings"):
        recs.search("shoes", 3)


def test_catalog_request_features_match_the_offline_functions() -> None:
    at_us = 1_764_000_000 * 1_000_000 + 5 * 3_600_000_000
    facts = CheckoutFacts(1, 2, 3, "d", 20_000, 1, "pay_monthly_6", "card", at_us)
    out = catalog_request_features(facts, {"customer__amount_minor__mean__30d": 10_000.0})
    assert out["amount_to_customer_mean_30d"] == pytest.approx(2.0)
    assert out["log_amount"] == pytest.approx(math.log1p(20_000), rel=1e-12)
    assert out["installment_amount_minor"] == pytest.approx(20_000 / 6)
    assert out["plan_length_days"] == pytest.approx(150.0)
    assert out["tenure_days"] is None  # no account history: missing, not an error
    # derived features of stored features only come from the store's read, not from here
    assert "customer_late_share" not in out
    others = [
        CheckoutFacts(2, 5, 3, "e", 9_000, 2, "pay_in_4", "card", at_us + 10**9),
        CheckoutFacts(3, 6, 3, "f", 150, 1, "pay_monthly_12", "card", at_us),
    ]
    online = [
        {"customer__amount_minor__mean__30d": 10_000.0},
        {},
        {"customer__amount_minor__mean__30d": 50.0},
    ]
    facts_all = [facts, *others]
    assert catalog_request_features_many(facts_all, online) == [
        catalog_request_features(f, o) for f, o in zip(facts_all, online, strict=True)
    ]


def test_registry_down_at_start_serves_the_cached_champion(
    tmp_path: Path, fraud_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from cartwise.registry.registry import ModelRegistry

    cache = tmp_path / "bundle_cache"
    shutil.copytree(fraud_dir, cache / "fraud" / "v5" / "bundle")
    (cache / "fraud" / "champion.json").write_text(
        json.dumps({"version": 5, "at": "2026-11-25T00:00:00+00:00"})
    )
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    unreachable = "http://127.0.0.1:1"  # nothing listens on port 1
    source = RegistryModelSource(ModelRegistry(unreachable, cache_dir=cache))
    loaded = source.load("fraud", "champion")
    assert loaded.version == "5"
    assert isinstance(loaded.scorer, FraudBundleScorer)
    manager = ModelManager(source, models=("fraud",), poll_seconds=0)
    assert manager.load()
    assert manager.snapshot is not None
    manager.close()
    # without a cached bundle it refuses, saying why
    empty = ModelManager(
        RegistryModelSource(ModelRegistry(unreachable, cache_dir=tmp_path / "empty")),
        models=("fraud",),
        poll_seconds=0,
    )
    assert not empty.load()
    assert empty.not_ready_reason is not None
    assert "MLflow registry" in empty.not_ready_reason
    empty.close()
    with pytest.raises(RegistryError):
        RegistryModelSource(ModelRegistry(unreachable, cache_dir=tmp_path / "empty")).load(
            "fraud", "champion"
        )

"""Adverse-action reasons on a scored batch: every decline gets 1-4 reasons, none protected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.decisions.credit_policy import AMOUNT_OVER_LIMIT, CreditPolicyParams
from cartwise.errors import FeatureError
from cartwise.models.credit import (
    MonotonePDModel,
    ScorecardModel,
    decide_credit,
    reason_weights,
    select_reasons,
)
from cartwise.models.credit.features import is_protected
from cartwise.models.credit.synthetic import BNPL_CREDIT_FEATURES, synthetic_applicants


@pytest.fixture(scope="module")
def data() -> object:
    return synthetic_applicants(1_500, seed=21)


@pytest.fixture(scope="module", params=["gbdt", "scorecard"])
def model(request: pytest.FixtureRequest, data: object) -> object:
    if request.param == "gbdt":
        return request.getfixturevalue("gbdt")
    return ScorecardModel(BNPL_CREDIT_FEATURES, calibration_folds=2).fit(data.X, data.y)  # type: ignore[attr-defined]


def test_every_decline_has_one_to_four_non_protected_reasons(model: object) -> None:
    batch = synthetic_applicants(800, seed=22)
    # The batch carries the protected columns too, as a scoring frame from a warehouse join would.
    X = pd.concat([batch.X, batch.protected], axis=1)
    out = decide_credit(model, X, batch.amount_minor, plan_feature="plan_n_installments")
    declined = out[out["decision"] == "decline"]
    approved = out[out["decision"] == "approve"]
    assert len(declined) > 50
    assert len(approved) > 50
    codes = {f.reason_code: f for f in BNPL_CREDIT_FEATURES}
    for reasons in declined["reasons"]:
        assert 1 <= len(reasons) <= 4
        for r in reasons:
            assert not is_protected(r.feature)
            assert r.feature not in batch.protected.columns
            assert r.code in codes or r.code == AMOUNT_OVER_LIMIT[0]
            assert r.text
        assert len({r.code for r in reasons}) == len(reasons)
    assert all(len(r) == 0 for r in approved["reasons"])


def test_reasons_are_the_features_that_pushed_toward_decline(model: object) -> None:
    batch = synthetic_applicants(300, seed=23)
    weights = reason_weights(model, batch.X)
    reasons = select_reasons(weights, BNPL_CREDIT_FEATURES)
    for i, row_reasons in enumerate(reasons):
        w = weights.iloc[i]
        top = w.sort_values(ascending=False, kind="stable")
        positive = top[top > 0]
        if len(positive):
            assert [r.feature for r in row_reasons] == list(positive.index[:4])
            assert all(r.weight > 0 for r in row_reasons)


@pytest.fixture(scope="module")
def gbdt(data: object) -> MonotonePDModel:
    return MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=200).fit(data.X, data.y)  # type: ignore[attr-defined]


def test_late_payer_is_told_about_late_payments(gbdt: MonotonePDModel, data: object) -> None:
    applicant = data.X.iloc[[0]].assign(  # type: ignore[attr-defined]
        n_late_installments=12.0, max_days_past_due=90.0, days_since_last_late=5.0, tenure_days=1500.0
    )
    out = decide_credit(gbdt, applicant, np.array([10_000]), params=CreditPolicyParams(risk_appetite=0.02))
    assert out["decision"].iat[0] == "decline"
    features = [r.feature for r in out["reasons"].iat[0]]
    assert {"n_late_installments", "max_days_past_due"} & set(features)
    assert any("late payments" in r.text or "delinquency" in r.text for r in out["reasons"].iat[0])


def test_amount_over_limit_is_a_policy_reason(gbdt: MonotonePDModel, data: object) -> None:
    out = decide_credit(gbdt, data.X.iloc[:200], np.full(200, 10_000_000))  # type: ignore[attr-defined]  # far above max_limit_minor
    over = out[out["amount_over_limit"]]
    assert len(over) > 0
    assert all(r[0].code == AMOUNT_OVER_LIMIT[0] and len(r) <= 4 for r in over["reasons"])


def test_protected_weight_columns_are_never_reasons() -> None:
    weights = pd.DataFrame({"gender": [5.0], "tenure_days": [0.3], "limit_utilisation": [0.1]})
    reasons = select_reasons(weights, BNPL_CREDIT_FEATURES)
    assert [r.feature for r in reasons[0]] == ["tenure_days", "limit_utilisation"]
    with pytest.raises(FeatureError, match="max_reasons"):
        select_reasons(weights, BNPL_CREDIT_FEATURES, max_reasons=5)

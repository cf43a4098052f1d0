"""One quick run on German credit: protected columns stay out, reasons are readable, fairness computes."""

from __future__ import annotations

import numpy as np
import pytest

from cartwise.models.credit import MonotonePDModel, decide_credit
from cartwise.models.credit.features import is_protected
from cartwise.models.credit.public_data import load_german, load_taiwan
from cartwise.models.fairness import fairness_gate, fairness_report
from cartwise.models.metrics import expected_calibration_error, roc_auc
from shared_datasets import shared_dataset


@pytest.mark.shared_data
def test_german_credit_monotone_model_end_to_end() -> None:
    ds = load_german(shared_dataset("german-credit"))
    assert not [c for c in ds.X.columns if is_protected(c)]
    assert set(ds.protected.columns) == {"personal_status_and_sex", "age_band", "foreign_worker"}
    rng = np.random.default_rng(0)
    test = rng.random(len(ds.y)) < 0.3
    model = MonotonePDModel(ds.features, nthread=1, learning_rate=0.05, max_depth=3).fit(
        ds.X[~test], ds.y[~test]
    )
    p = model.predict_proba(ds.X[test])[:, 1]
    assert roc_auc(ds.y[test], p) > 0.7
    assert expected_calibration_error(ds.y[test], p) < 0.12  # ~300 held-out rows: a loose bound
    out = decide_credit(model, ds.X[test], np.full(int(test.sum()), 5_000))
    declined = out[out["decision"] == "decline"]
    assert len(declined) > 0
    assert all(1 <= len(r) <= 4 for r in declined["reasons"])
    report = fairness_report(out["decision"] == "approve", ds.y[test], p, ds.protected[test])
    assert {g.attribute for g in report.groups} == set(ds.protected.columns)
    assert isinstance(fairness_gate(report).passed, bool)


@pytest.mark.shared_data
def test_taiwan_features_are_per_row_and_declared() -> None:
    ds = load_taiwan(shared_dataset("taiwan-credit-default"))
    assert ds.X.shape[0] == len(ds.y) == 30_000
    assert not [c for c in ds.X.columns if is_protected(c)]
    assert "education" not in ds.X.columns
    assert [f.name for f in ds.features] == list(ds.X.columns)
    texts = [f.reason_text for f in ds.features]
    assert len(set(texts)) == len(texts), "two features would give a declined applicant the same reason"
    directions = {f.name: f.direction for f in ds.features}
    # The repayment status code is split: months of delay (monotone) and the account state (free).
    assert directions["months_delayed_sep"] == +1
    assert {f.name for f in ds.features if f.categorical} == {
        f"account_state_{m}" for m in ("sep", "aug", "jul", "jun", "may", "apr")
    }
    assert set(ds.X["account_state_sep"]) <= {"no_balance", "paid_duly", "revolving", "delayed", "other"}
    delayed = ds.X["months_delayed_sep"] > 0
    assert (ds.X.loc[delayed, "account_state_sep"] == "delayed").all()
    assert (ds.X["max_months_delayed"] >= ds.X["months_delayed_sep"]).all()
    assert directions["months_since_delay"] == -1
    assert ds.X["months_since_delay"].between(0, 6).all()
    assert np.isfinite(ds.X.select_dtypes("number").to_numpy()).all()
    # Ratios are of the same row's own fields.
    np.testing.assert_allclose(ds.X["utilisation_latest"], ds.X["bill_amount_sep"] / ds.X["credit_limit"])
    carried = (ds.X["bill_amount_aug"] - ds.X["amount_paid_sep"]) / ds.X["credit_limit"]
    np.testing.assert_allclose(ds.X["balance_carried_sep"], carried)


@pytest.mark.shared_data
def test_german_levels_follow_the_ordered_categories() -> None:
    ds = load_german(shared_dataset("german-credit"))
    assert [f.name for f in ds.features] == list(ds.X.columns)
    directions = {f.name: f.direction for f in ds.features}
    for name in ("checking_balance_level", "savings_level", "employment_years_level"):
        assert directions[name] == -1
    no_account = ds.X["status_of_existing_checking_account"] == "no checking account"
    assert ds.X.loc[no_account, "checking_balance_level"].isna().all()
    assert ds.X.loc[~no_account, "checking_balance_level"].notna().all()
    assert ds.X["employment_years_level"].notna().all()
    expected = ds.X["credit_amount"] / ds.X["duration_in_month"]
    np.testing.assert_allclose(ds.X["monthly_amount"], expected)

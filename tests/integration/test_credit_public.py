"""One quick run on German credit: protected columns stay out, reasons are readable, fairness computes."""

from __future__ import annotations

import numpy as np
import pytest

from cartwise.models.credit import MonotonePDModel, decide_credit
from cartwise.models.credit.features import is_protected
from cartwise.models.credit.public_data import load_german
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

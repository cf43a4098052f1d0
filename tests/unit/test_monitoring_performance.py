"""Delayed-label joins count only labels known by the evaluation date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import SchemaError
from cartwise.monitoring.performance import (
    attach_labels,
    calibration_table,
    cohort_performance,
    label_maturity,
)

T0 = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    decisions = pd.DataFrame(
        {
            "checkout_id": [1, 2, 3, 4, 5, 6],
            "decided_at": [
                T0,
                T0,
                T0 + pd.Timedelta(days=1),
                T0 + pd.Timedelta(days=7),
                T0 + pd.Timedelta(days=8),
                T0,
            ],
            "outcome": ["approve", "approve", "approve", "approve", "approve", "decline"],
            "amount_minor": [1000, 2000, 3000, 4000, 5000, 6000],
            "fraud_score": [0.9, 0.1, 0.6, 0.2, 0.7, 0.95],
            "default_probability": [0.2, 0.1, 0.3, 0.4, 0.1, 0.5],
        }
    )
    chargebacks = pd.DataFrame(
        {
            "checkout_id": [1, 3, 5],
            "reported_at": [
                T0 + pd.Timedelta(days=10),
                T0 + pd.Timedelta(days=40),
                T0 + pd.Timedelta(days=20),
            ],
            "amount_minor": [1000, 3000, 5000],
        }
    )
    credit = pd.DataFrame(
        {
            "checkout_id": [1, 2, 4],
            "defaulted": [True, False, True],
            "known_at": [T0 + pd.Timedelta(days=60), T0 + pd.Timedelta(days=30), T0 + pd.Timedelta(days=90)],
        }
    )
    return decisions, chargebacks, credit


def test_only_labels_known_by_the_date_count() -> None:
    decisions, chargebacks, credit = _frames()
    early = attach_labels(decisions, chargebacks, credit, T0 + pd.Timedelta(days=15))
    assert list(early["fraud_label"]) == [1, 0, 0, 0, 0, 0]
    assert list(early["chargeback_amount_minor"]) == [1000, 0, 0, 0, 0, 0]
    assert early["credit_label"].isna().all()
    late = attach_labels(decisions, chargebacks, credit, T0 + pd.Timedelta(days=61))
    assert list(late["fraud_label"]) == [1, 0, 1, 0, 1, 0]
    assert late["credit_label"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(late["credit_label"].iloc[3])


def test_label_maturity_curve() -> None:
    decisions, chargebacks, credit = _frames()
    curve = label_maturity(decisions, chargebacks, credit, max_days=100)
    fraud = curve[curve["model"] == "fraud"].set_index("days")["share_known"]
    # delays 10, 39 and 12 days
    assert fraud[9] == 0
    assert fraud[10] == pytest.approx(1 / 3)
    assert fraud[12] == pytest.approx(2 / 3)
    assert fraud[39] == 1
    assert fraud[100] == 1
    credit_curve = curve[curve["model"] == "credit"].set_index("days")["share_known"]
    assert credit_curve[30] == pytest.approx(1 / 3)
    assert credit_curve[60] == pytest.approx(2 / 3)
    assert credit_curve[82] == pytest.approx(2 / 3)
    assert credit_curve[83] == 1


def test_cohort_performance_uses_approved_decisions_and_reports_coverage() -> None:
    decisions, chargebacks, credit = _frames()
    as_of = T0 + pd.Timedelta(days=45)
    labelled = attach_labels(decisions, chargebacks, credit, as_of)
    curve = label_maturity(decisions, chargebacks, credit)
    fraud = cohort_performance(labelled, "fraud", as_of, maturity=curve).set_index("cohort_week")
    first = fraud.loc[T0]
    assert first["n_decisions"] == 4
    assert first["n_approved"] == 3
    assert first["approval_rate"] == pytest.approx(0.75)
    assert first["n_labelled"] == 2
    assert first["fraud_loss_minor"] == 4000
    assert first["realised_auc"] == pytest.approx(1.0)  # 0.9 and 0.6 are fraud, 0.1 is not
    assert first["realised_bad_rate"] == pytest.approx(2 / 3)
    assert first["estimated_bad_rate"] == pytest.approx((0.9 + 0.1 + 0.6) / 3)
    assert first["label_coverage"] == pytest.approx(1.0)
    assert first["mature"]
    credit_perf = cohort_performance(labelled, "credit", as_of).set_index("cohort_week")
    assert credit_perf.loc[T0, "n_labelled"] == 1  # only checkout 2's outcome was known by day 45
    assert credit_perf.loc[T0, "label_coverage"] == pytest.approx(1 / 3)
    assert np.isnan(credit_perf.loc[T0, "realised_auc"])  # one class only


def test_calibration_table() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(20_000)
    labels = rng.random(20_000) < scores
    table = calibration_table(scores, labels, n_bins=5)
    assert len(table) == 5
    assert np.allclose(table["mean_score"], table["bad_rate"], atol=0.03)


def test_missing_columns_are_named() -> None:
    decisions, chargebacks, credit = _frames()
    with pytest.raises(SchemaError, match="reported_at"):
        attach_labels(decisions, chargebacks.drop(columns=["reported_at"]), credit, T0)
    with pytest.raises(SchemaError, match="unknown model"):
        cohort_performance(decisions, "recs", T0)  # type: ignore[arg-type]

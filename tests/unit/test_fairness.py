"""Fairness report and gate, checked against figures computed by hand on a tiny table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import MetricInputError
from cartwise.models.fairness import FairnessThresholds, age_band, fairness_gate, fairness_report


@pytest.fixture
def tiny() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    # group a: 10 applicants, 8 approved; good payers (y=0): 8, of whom 7 approved.
    # group b: 10 applicants, 5 approved; good payers: 6, of whom 3 approved.
    approved = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1], dtype=float)
    pd_ = np.array([0.1] * 10 + [0.3] * 10)
    groups = pd.DataFrame({"gender": ["a"] * 10 + ["b"] * 10})
    return approved, y, pd_, groups


def test_report_reproduces_hand_computed_figures(
    tiny: tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame],
) -> None:
    approved, y, pd_, groups = tiny
    report = fairness_report(approved, y, pd_, groups, min_group_size=5)
    a, b = report.group("gender", "a"), report.group("gender", "b")
    assert a.reference
    assert not b.reference
    assert a.approval_rate == pytest.approx(0.8)
    assert b.approval_rate == pytest.approx(0.5)
    assert b.di_ratio == pytest.approx(0.5 / 0.8)  # 0.625: fails the four-fifths rule
    assert a.tpr == pytest.approx(7 / 8)
    assert b.tpr == pytest.approx(3 / 6)
    assert b.eod == pytest.approx(3 / 6 - 7 / 8)  # -0.375
    assert a.default_rate == pytest.approx(0.2)
    assert b.calibration_gap == pytest.approx(0.3 - 0.4)
    # One 10-bin ECE per group: all PDs of group b sit in one bin, so ECE = |0.3 - 0.4|.
    assert b.ece == pytest.approx(0.1)


def test_gate_names_attribute_group_metric_and_margin(
    tiny: tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame],
) -> None:
    approved, y, pd_, groups = tiny
    report = fairness_report(approved, y, pd_, groups, min_group_size=5)
    result = fairness_gate(
        report, FairnessThresholds(min_di_ratio=0.8, max_abs_eod=0.1, max_abs_calibration_gap=0.05)
    )
    assert not result.passed
    by_metric = {(f.group, f.metric): f for f in result.failures}
    di = by_metric[("b", "di_ratio")]
    assert di.attribute == "gender"
    assert di.value == pytest.approx(0.625)
    assert di.margin == pytest.approx(0.625 - 0.8)
    assert by_metric[("b", "eod")].margin == pytest.approx(0.1 - 0.375)
    assert ("b", "calibration_gap") in by_metric
    assert "gender=b" in result.summary()
    lenient = fairness_gate(
        report, FairnessThresholds(min_di_ratio=0.6, max_abs_eod=0.4, max_abs_calibration_gap=0.11)
    )
    assert lenient.passed, lenient.summary()


def test_small_groups_are_reported_but_not_gated() -> None:
    approved = np.array([True] * 40 + [False] * 3)
    y = np.zeros(43)
    groups = pd.DataFrame({"age_band": ["25-34"] * 40 + ["65+"] * 3})
    report = fairness_report(approved, y, np.full(43, 0.0), groups, min_group_size=30)
    small = report.group("age_band", "65+")
    assert small.di_ratio == 0.0
    assert not small.gated
    assert fairness_gate(report).passed


def test_age_bands_and_input_errors() -> None:
    bands = age_band(pd.Series([17, 18, 24, 25, 44, 64, 65, 90, None]))
    assert bands.tolist() == ["unknown", "18-24", "18-24", "25-34", "35-44", "55-64", "65+", "65+", "unknown"]
    groups = pd.DataFrame({"sex": ["f", "m"]})
    with pytest.raises(MetricInputError, match="rows"):
        fairness_report([True], [0, 1], [0.1, 0.2], groups)
    with pytest.raises(MetricInputError, match="0 \\(repaid\\) or 1"):
        fairness_report([True, False], [0, 2], [0.1, 0.2], groups)

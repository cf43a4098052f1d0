"""CBPE: on calibrated scores the estimate matches the realised metrics; on miscalibrated ones it does not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from cartwise.errors import SchemaError
from cartwise.monitoring.cbpe import estimate_performance


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    scores = rng.beta(0.6, 12, 200_000)  # a fraud-like score: mostly tiny, a long right tail
    labels = (rng.random(scores.size) < scores).astype(int)  # calibrated by construction
    return scores, labels


def test_estimate_matches_realised_on_calibrated_scores(calibrated) -> None:  # type: ignore[no-untyped-def]
    scores, labels = calibrated
    est = estimate_performance(scores, threshold=0.2)
    assert est.n == scores.size
    assert est.auc == pytest.approx(roc_auc_score(labels, scores), abs=0.005)
    assert est.average_precision == pytest.approx(average_precision_score(labels, scores), abs=0.01)
    assert est.bad_rate == pytest.approx(labels.mean(), abs=0.002)
    flagged = scores >= 0.2
    assert est.precision == pytest.approx(labels[flagged].mean(), abs=0.01)
    assert est.recall == pytest.approx(labels[flagged].sum() / labels.sum(), abs=0.01)


def test_estimate_is_wrong_when_scores_are_not_calibrated(calibrated) -> None:  # type: ignore[no-untyped-def]
    scores, labels = calibrated
    inflated = np.sqrt(scores)  # same ranking, so the same realised AUC, but probabilities too high
    est = estimate_performance(inflated)
    realised = roc_auc_score(labels, inflated)
    assert realised == pytest.approx(roc_auc_score(labels, scores))
    assert est.bad_rate - labels.mean() > 0.1
    assert realised - est.auc > 0.05  # the error the report shows once labels mature


def test_ties_and_degenerate_inputs() -> None:
    assert estimate_performance(np.full(100, 0.3)).auc == pytest.approx(0.5)
    nothing_bad = estimate_performance(np.zeros(10))
    assert np.isnan(nothing_bad.auc)
    assert nothing_bad.bad_rate == 0
    empty = estimate_performance(np.array([]))
    assert empty.n == 0
    assert np.isnan(empty.bad_rate)
    none_flagged = estimate_performance(np.array([0.1, 0.2]), threshold=0.9)
    assert np.isnan(none_flagged.precision)
    assert none_flagged.recall == 0


def test_rejects_non_probabilities() -> None:
    with pytest.raises(SchemaError, match="calibrated probabilities"):
        estimate_performance(np.array([0.2, 1.7]))
    with pytest.raises(SchemaError, match="threshold"):
        estimate_performance(np.array([0.2]), threshold=2)

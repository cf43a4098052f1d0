"""Performance estimated before labels arrive, from calibrated probabilities (CBPE).

If a model's scores are calibrated, a decision with score ``p`` is bad with
probability ``p``. Summing over decisions gives the expected confusion matrix at
every threshold: expected true positives above ``t`` are ``Σ p``, expected false
positives ``Σ (1 − p)``. From the expected TPR/FPR curve comes the estimated ROC
AUC (NannyML's confidence-based performance estimation), from the expected
precision/recall curve the estimated average precision, and at the decision
threshold the estimated precision and recall. The estimate is only as good as
the calibration: comparing it with the realised value once labels mature (see
:mod:`cartwise.monitoring.performance`) shows its error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cartwise.errors import SchemaError

__all__ = ["EstimatedPerformance", "estimate_performance"]


@dataclass(frozen=True)
class EstimatedPerformance:
    """Expected performance of calibrated scores on one population."""

    n: int
    auc: float
    average_precision: float
    precision: float
    """At the threshold: expected share of flagged decisions that are bad."""
    recall: float
    """At the threshold: expected share of bad decisions that are flagged."""
    bad_rate: float
    """Expected share of bad decisions (mean score)."""
    threshold: float


def estimate_performance(scores: npt.ArrayLike, threshold: float = 0.5) -> EstimatedPerformance:
    """CBPE estimates for calibrated probabilities ``scores``; a decision is flagged when score ≥ threshold."""
    p = np.asarray(scores, dtype=np.float64).ravel()
    p = p[~np.isnan(p)]
    if p.size and (p.min() < 0 or p.max() > 1):
        raise SchemaError(
            f"CBPE needs calibrated probabilities in [0, 1]; got scores from {p.min()} to {p.max()}"
        )
    if not 0 <= threshold <= 1:
        raise SchemaError(f"CBPE threshold must be in [0, 1], got {threshold}")
    nan = float("nan")
    if p.size == 0:
        return EstimatedPerformance(0, nan, nan, nan, nan, nan, threshold)
    order = np.argsort(-p, kind="stable")
    ps = p[order]
    tp = np.cumsum(ps)
    fp = np.cumsum(1.0 - ps)
    # one point per distinct score: the last position of each run of ties
    last = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])
    tp, fp = tp[last], fp[last]
    pos, neg = tp[-1], fp[-1]
    if pos <= 0 or neg <= 0:
        auc = ap = nan
    else:
        tpr = np.r_[0.0, tp / pos]
        fpr = np.r_[0.0, fp / neg]
        auc = float(np.trapezoid(tpr, fpr))
        precision_curve = tp / (tp + fp)
        ap = float(np.sum(np.diff(tpr) * precision_curve))
    flagged = p >= threshold
    exp_tp = float(p[flagged].sum())
    n_flagged = int(flagged.sum())
    precision = exp_tp / n_flagged if n_flagged else nan
    recall = exp_tp / pos if pos > 0 else nan
    return EstimatedPerformance(int(p.size), auc, ap, precision, recall, float(p.mean()), threshold)

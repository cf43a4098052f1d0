"""Model-quality metrics shared by the fraud and credit models.

Ranking metrics (ROC AUC, average precision) use scikit-learn underneath; the
value here is in the protocol-level ones that scikit-learn lacks:

* :func:`card_precision_at_k` follows the Fraud Detection Handbook (Le Borgne et
  al., ULB 2022, Chapter 4.2) exactly: per day, each card (customer) gets the
  maximum score and the maximum label of its transactions; the ``k`` cards with
  the highest scores are "alerts"; the day's precision is the share of alerts
  that are compromised cards; cards found compromised by an alert on an earlier
  day are removed from later days; the result is the mean over days.
* :func:`recall_at_decline_rate` and :func:`money_caught_at_decline_rate` answer
  "if we decline the riskiest x% of orders, what share of fraud (count and
  money) do we stop?".
* :func:`expected_calibration_error` bins predictions into equal-width bins on
  [0, 1] and averages |mean prediction - observed rate| weighted by bin size.

Every function takes array-likes, checks shapes and values, and raises
:class:`~cartwise.errors.MetricInputError` naming what was wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from cartwise.errors import MetricInputError

__all__ = [
    "CardPrecisionResult",
    "MoneyCaught",
    "average_precision",
    "brier",
    "card_precision_at_k",
    "expected_calibration_error",
    "ks_statistic",
    "log_loss",
    "money_caught_at_decline_rate",
    "recall_at_decline_rate",
    "roc_auc",
    "top_fraction_mask",
]

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _labels_scores(y_true: Any, y_score: Any, *, need_both: bool = True) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise MetricInputError(
            f"labels and scores differ in length ({y.size} vs {s.size}): pass one score per labelled row"
        )
    if y.size == 0:
        raise MetricInputError("no rows to score: pass at least one labelled row")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MetricInputError("labels must be 0 or 1 (1 = fraud / default); found other values")
    if not np.isfinite(s).all():
        raise MetricInputError("scores contain NaN or infinity: fix the model output before scoring it")
    if need_both and (y.min() == y.max()):
        raise MetricInputError(
            "labels hold a single class: this metric needs both positives and negatives in the sample"
        )
    return y, s


def _probabilities(y_prob: FloatArray) -> None:
    if (y_prob < 0).any() or (y_prob > 1).any():
        raise MetricInputError("probabilities must lie in [0, 1]: calibrate the scores before this metric")


def roc_auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve (ties count one half)."""
    y, s = _labels_scores(y_true, y_score)
    return float(skm.roc_auc_score(y, s))


def average_precision(y_true: Any, y_score: Any) -> float:
    """Average precision: sum over thresholds of precision x recall increment (scikit-learn's definition)."""
    y, s = _labels_scores(y_true, y_score)
    return float(skm.average_precision_score(y, s))


def ks_statistic(y_true: Any, y_score: Any) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the score CDFs of positives and negatives."""
    y, s = _labels_scores(y_true, y_score)
    fpr, tpr, _ = skm.roc_curve(y, s)
    return float(np.max(tpr - fpr))


def brier(y_true: Any, y_prob: Any) -> float:
    """Mean squared error of probabilities against 0/1 outcomes."""
    y, p = _labels_scores(y_true, y_prob, need_both=False)
    _probabilities(p)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: Any, y_prob: Any, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood; probabilities are clipped to [eps, 1 - eps]."""
    y, p = _labels_scores(y_true, y_prob, need_both=False)
    _probabilities(p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` equal-width bins of [0, 1].

    Bin ``b`` holds predictions in ``[b/n, (b+1)/n)``, the last bin also takes 1.0.
    ECE = sum over non-empty bins of (rows in bin / rows) x |mean prediction - share of positives|.
    """
    if n_bins < 1:
        raise MetricInputError(f"n_bins must be at least 1, got {n_bins}")
    y, p = _labels_scores(y_true, y_prob, need_both=False)
    _probabilities(p)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    pred_sum = np.bincount(bins, weights=p, minlength=n_bins)
    pos_sum = np.bincount(bins, weights=y, minlength=n_bins)
    filled = counts > 0
    gaps = np.abs(pred_sum[filled] - pos_sum[filled]) / counts[filled]
    return float(np.sum(counts[filled] / y.size * gaps))


def top_fraction_mask(y_score: Any, fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Mask of the ``ceil(fraction x n)`` highest scores (ties broken by row order, first wins)."""
    if not 0.0 <= fraction <= 1.0:
        raise MetricInputError(f"decline rate must be a fraction in [0, 1], got {fraction}")
    s = np.asarray(y_score, dtype=np.float64).ravel()
    n_top = int(np.ceil(fraction * s.size - 1e-9))
    order = np.argsort(-s, kind="stable")
    mask = np.zeros(s.size, dtype=bool)
    mask[order[:n_top]] = True
    return mask


def recall_at_decline_rate(y_true: Any, y_score: Any, rate: float = 0.01) -> float:
    """Share of positives among the ``ceil(rate x n)`` highest-scored rows."""
    y, s = _labels_scores(y_true, y_score, need_both=False)
    if y.sum() == 0:
        raise MetricInputError("no positive rows: recall is undefined without any fraud in the sample")
    mask = top_fraction_mask(s, rate)
    return float(y[mask].sum() / y.sum())


@dataclass(frozen=True)
class MoneyCaught:
    """Fraud money stopped by declining the riskiest share of orders."""

    decline_rate: float
    fraud_amount_total: float
    fraud_amount_caught: float
    good_amount_declined: float

    @property
    def fraction_caught(self) -> float:
        return self.fraud_amount_caught / self.fraud_amount_total if self.fraud_amount_total else 0.0


def money_caught_at_decline_rate(y_true: Any, y_score: Any, amount: Any, rate: float = 0.01) -> MoneyCaught:
    """Fraud amount among the ``ceil(rate x n)`` highest-scored rows, and good amount declined with it."""
    y, s = _labels_scores(y_true, y_score, need_both=False)
    a = np.asarray(amount, dtype=np.float64).ravel()
    if a.shape != y.shape:
        raise MetricInputError(f"amounts and labels differ in length ({a.size} vs {y.size})")
    if (a < 0).any() or not np.isfinite(a).all():
        raise MetricInputError("amounts must be finite and non-negative")
    mask = top_fraction_mask(s, rate)
    return MoneyCaught(
        decline_rate=rate,
        fraud_amount_total=float(np.sum(a * y)),
        fraud_amount_caught=float(np.sum(a[mask] * y[mask])),
        good_amount_declined=float(np.sum(a[mask] * (1 - y[mask]))),
    )


@dataclass(frozen=True)
class CardPrecisionResult:
    """Card precision@k: the mean over days, and each day's value and detected cards."""

    mean: float
    per_day: tuple[float, ...]
    detected_cards: tuple[tuple[Any, ...], ...]


def card_precision_at_k(
    day: Any,
    card_id: Any,
    y_true: Any,
    y_score: Any,
    *,
    k: int = 100,
    remove_detected: bool = True,
) -> CardPrecisionResult:
    """Card precision@k with the Fraud Detection Handbook's rules (see the module docstring).

    ``day`` is any sortable day key (a date or an integer day number). Within a
    day, cards are ranked by their maximum score, highest first; equal scores keep
    ascending card order. Precision is always over ``k`` alerts, even on a day with
    fewer than ``k`` cards, as in the handbook.
    """
    if k < 1:
        raise MetricInputError(f"k must be at least 1, got {k}")
    y, s = _labels_scores(y_true, y_score, need_both=False)
    frame = pd.DataFrame({"day": np.asarray(day).ravel(), "card": np.asarray(card_id).ravel()})
    if len(frame) != y.size:
        raise MetricInputError(
            f"day, card_id, labels and scores must have one value per row; got {len(frame)} days/cards "
            f"for {y.size} labels"
        )
    frame["y"] = y
    frame["score"] = s
    detected: set[Any] = set()
    per_day: list[float] = []
    detected_per_day: list[tuple[Any, ...]] = []
    for _, rows in frame.groupby("day", sort=True):
        if remove_detected and detected:
            rows = rows[~rows["card"].isin(detected)]
        cards = rows.groupby("card", sort=True)[["score", "y"]].max()
        top = cards.sort_values("score", ascending=False, kind="stable").head(k)
        found = tuple(top.index[top["y"] == 1].tolist())
        per_day.append(len(found) / k)
        detected_per_day.append(found)
        if remove_detected:
            detected.update(found)
    return CardPrecisionResult(
        mean=float(np.mean(per_day)), per_day=tuple(per_day), detected_cards=tuple(detected_per_day)
    )
